"""The RAM permissions the tool's own identity needs, per mode, from ONE list of API actions.

This is about the AccessKey, profile, ECS role or OIDC role the tool runs as, not about the
role RDS assumes to use a KMS key (that role is a resource the spec manages).

`ACTIONS` lists every API action the tool can call, with the commands that call it. The policy
document of a mode is derived from it and nothing else:

- `plan`: the reads `plan` makes.
- `drift`: the reads `drift` and `import` make. `import` is not a mode of its own: it reads a
  subset of what drift reads (the same observer over the whole of a region, without the task
  center or the census of a key's users), and both are the read-only audit identity's work; one
  document for both is one less policy to keep. Today plan and drift read the same 14 actions,
  so their documents are equal; they are kept apart so that a read one of them gains does not
  widen the other.
- `apply`: apply's reads (the same observation as plan, a fresh read of each target right
  before it is written, the waits) and every write a plan may contain. A document that alone
  suffices: attach it instead of the plan document, not beside it.

A unit test checks the list against the code (every action `reconciler/cloud/` sends, every
write apply can make) and docs/permissions.md against `reconciler permissions`, so none of the
three can drift from the others. Pure data and functions: no SDK, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from reconciler.core.ops import Op

Kind = Literal["read", "write"]


class Mode(StrEnum):
    """What the identity is for: one policy document each."""

    PLAN = "plan"
    DRIFT = "drift"
    APPLY = "apply"


MODE_COMMANDS: dict[Mode, frozenset[str]] = {
    Mode.PLAN: frozenset({"plan"}),
    Mode.DRIFT: frozenset({"drift", "import"}),
    Mode.APPLY: frozenset({"apply"}),
}
"""The commands each mode's document is for."""

SERVICES = ("rds", "kms", "ram")
"""The order of the statements in a document."""

_READERS = frozenset({"plan", "drift", "import", "apply"})
_OBSERVERS = frozenset({"plan", "drift", "apply"})
"""Reads every observing command makes (import reads no task center and no key census)."""
_APPLY = frozenset({"apply"})


@dataclass(frozen=True)
class ApiAction:
    """One API action the tool may call."""

    name: str
    """`<service>:<Action>`: the RAM action, also what the emulator's call counts name. A
    write apply makes is named by its `Op` member (the same string)."""
    kind: Kind
    commands: frozenset[str]
    """The commands that may call it (not all of them do on every run)."""
    why: str
    """When the tool calls it; shown in docs/permissions.md."""
    resource: str
    """The resource RAM checks, in Alibaba's ARN format (Markdown, for the docs); `*` where the
    action has no resource-level permission or where the documentation does not say which."""
    implied: bool = False
    """Never called by the tool itself, but perhaps checked by RAM on its behalf (the reason is
    in `why`); listed so a run cannot fail halfway for want of it."""

    @property
    def service(self) -> str:
        return self.name.split(":", 1)[0]


_INSTANCE = "`acs:rds:<region>:<account>:dbinstance/<id>`"
_INSTANCES = "`acs:rds:<region>:<account>:dbinstance/*`"
_KEY = "`acs:kms:<region>:<account>:key/<key-id>`"
_ROLE = "`acs:ram::<account>:role/<role-name>`"
_POLICY = "`acs:ram::<account>:policy/<policy-name>`"

ACTIONS: tuple[ApiAction, ...] = (
    # --- RDS reads ---------------------------------------------------------------------------
    ApiAction(
        "rds:DescribeDBInstances",
        "read",
        _READERS,
        "list the instances of each region (paged, 100 a page); look up an instance the list "
        "did not show",
        f"{_INSTANCES} (a listing), {_INSTANCE} (one id)",
    ),
    ApiAction(
        "rds:DescribeDBInstanceAttribute",
        "read",
        _OBSERVERS,
        "class type (dedicated or not) and maintenance window where a change needs them; the "
        "instance's status while apply waits for it",
        _INSTANCE,
    ),
    ApiAction(
        "rds:DescribeDBInstanceEncryptionKey",
        "read",
        _READERS,
        "the disk encryption of each instance read",
        _INSTANCE,
    ),
    ApiAction(
        "rds:DescribeKmsAssociateResources",
        "read",
        _OBSERVERS,
        "every instance of any engine using a key the spec disables or deletes (`KeyInUse`)",
        "`*` (the documentation names no resource type)",
    ),
    ApiAction(
        "rds:DescribeHistoryTasks",
        "read",
        _OBSERVERS,
        "encryption changes running or scheduled for a maintenance window; their progress "
        "while apply waits",
        f"{_INSTANCES}, {_INSTANCE} (one instance's tasks)",
    ),
    # --- KMS reads ---------------------------------------------------------------------------
    ApiAction(
        "kms:DescribeKey",
        "read",
        _READERS,
        "find each key by alias or id; `alias/acs/rds` gives the service key and the account id",
        f"{_KEY} (an alias is resolved to its key)",
    ),
    ApiAction(
        "kms:ListResourceTags",
        "read",
        _READERS,
        "the key's tags (RDS needs `acs:rds:instance-encryption=true` on a CMK)",
        _KEY,
    ),
    ApiAction(
        "kms:ListAliasesByKeyId",
        "read",
        _READERS,
        "the aliases of a key named by id or found in use",
        _KEY,
    ),
    ApiAction(
        "kms:ListKeys",
        "read",
        _READERS,
        "only where a spec key's alias is absent: the region's keys, to find one a CreateKey "
        "whose answer was lost made (no alias, the spec's tags) and adopt it",
        "`acs:kms:<region>:<account>:key`",
    ),
    ApiAction(
        "kms:ListAliases",
        "read",
        _READERS,
        "with ListKeys: which of the region's keys have no alias",
        "`acs:kms:<region>:<account>:alias`",
    ),
    ApiAction(
        "kms:DescribeAccountKmsStatus",
        "read",
        _READERS,
        "whether KMS is activated (`KmsNotActivated`) and serving (`InDebt`, `Suspended`: "
        "`KmsInDebt`)",
        "`*`",
    ),
    # --- RAM reads ---------------------------------------------------------------------------
    ApiAction(
        "ram:GetPolicy",
        "read",
        _READERS,
        "the policy RDS's role needs, and every policy attached to the role, with the default "
        "version's document",
        _POLICY,
    ),
    ApiAction(
        "ram:GetRole",
        "read",
        _READERS,
        "the role RDS assumes, and its trust document",
        _ROLE,
    ),
    ApiAction(
        "ram:ListPoliciesForRole",
        "read",
        _READERS,
        "the policies attached to the role",
        _ROLE,
    ),
    # --- RDS writes --------------------------------------------------------------------------
    ApiAction(
        Op.RDS_MODIFY_DB_INSTANCE_CONFIG,
        "write",
        _APPLY,
        "an instance's encryption differs from the spec (`ConfigName=encryptionKey`)",
        _INSTANCE,
    ),
    # --- KMS writes --------------------------------------------------------------------------
    ApiAction(
        Op.KMS_CREATE_KEY,
        "write",
        _APPLY,
        "a key of the spec does not exist (found by alias); it is created with its tags",
        "`acs:kms:<region>:<account>:key` (the key container)",
    ),
    ApiAction(
        Op.KMS_CREATE_ALIAS,
        "write",
        _APPLY,
        "the spec's alias of a new key",
        f"{_KEY} and `acs:kms:<region>:<account>:alias/<alias-name>` (both)",
    ),
    ApiAction(
        Op.KMS_TAG_RESOURCE,
        "write",
        _APPLY,
        "the key lacks a tag of the spec (`acs:rds:instance-encryption=true` is always added)",
        _KEY,
    ),
    ApiAction(
        Op.KMS_UNTAG_RESOURCE,
        "write",
        _APPLY,
        "the key has a tag the spec removes",
        _KEY,
    ),
    ApiAction(Op.KMS_ENABLE_KEY, "write", _APPLY, "the spec wants a disabled key enabled", _KEY),
    ApiAction(
        Op.KMS_DISABLE_KEY,
        "write",
        _APPLY,
        "the spec disables a key (refused while it is in use: `KeyInUse`)",
        _KEY,
    ),
    ApiAction(
        Op.KMS_CANCEL_KEY_DELETION,
        "write",
        _APPLY,
        "the spec keeps a key that is pending deletion",
        _KEY,
    ),
    ApiAction(
        Op.KMS_SCHEDULE_KEY_DELETION,
        "write",
        _APPLY,
        "the spec deletes a key (refused while it is in use: `KeyInUse`)",
        _KEY,
    ),
    ApiAction(
        Op.KMS_UPDATE_ROTATION_POLICY,
        "write",
        _APPLY,
        "the key's automatic rotation differs from the spec",
        _KEY,
    ),
    ApiAction(
        Op.KMS_SET_DELETION_PROTECTION,
        "write",
        _APPLY,
        "the key's deletion protection differs from the spec",
        _KEY,
    ),
    ApiAction(
        Op.KMS_UPDATE_KEY_DESCRIPTION,
        "write",
        _APPLY,
        "the key's description differs from the spec",
        _KEY,
    ),
    # --- RAM writes --------------------------------------------------------------------------
    ApiAction(
        Op.RAM_CREATE_POLICY,
        "write",
        _APPLY,
        "the custom policy RDS's role needs does not exist",
        _POLICY,
    ),
    ApiAction(
        Op.RAM_CREATE_POLICY_VERSION,
        "write",
        _APPLY,
        "its document differs from the one RDS needs (a new default version; at the limit of 5 "
        "the oldest non-default one is rotated out)",
        _POLICY,
    ),
    ApiAction(
        "ram:DeletePolicyVersion",
        "write",
        _APPLY,
        "never called by the tool: CreatePolicyVersion with RotateStrategy="
        "DeleteOldestNonDefaultVersionWhenLimitExceeded deletes the oldest version of a policy "
        "that has 5, and whether RAM checks this action for that is undocumented",
        _POLICY,
        implied=True,
    ),
    ApiAction(
        Op.RAM_CREATE_ROLE,
        "write",
        _APPLY,
        "the role RDS assumes does not exist",
        _ROLE,
    ),
    ApiAction(
        Op.RAM_UPDATE_ROLE,
        "write",
        _APPLY,
        "the role's trust document does not let RDS assume it",
        _ROLE,
    ),
    ApiAction(
        Op.RAM_ATTACH_POLICY_TO_ROLE,
        "write",
        _APPLY,
        "the policy is not attached to the role",
        f"{_ROLE} and {_POLICY} (both)",
    ),
    ApiAction(
        Op.RAM_DETACH_POLICY_FROM_ROLE,
        "write",
        _APPLY,
        "a policy attached to the role that the spec does not list (`ram.extra_policies`)",
        f"{_ROLE} and {_POLICY} (both)",
    ),
)


def actions_for(mode: Mode | str) -> tuple[ApiAction, ...]:
    """The actions a mode's document allows, in `ACTIONS` order."""
    commands = MODE_COMMANDS[Mode(mode)]
    return tuple(a for a in ACTIONS if a.commands & commands)


def policy_document(mode: Mode | str) -> dict[str, Any]:
    """The RAM policy document (Version 1) of a mode: one Allow statement per service, on every
    resource (`"Resource": "*"`; docs/permissions.md says how to narrow it)."""
    chosen = actions_for(mode)
    statements = []
    for service in SERVICES:
        names = [a.name for a in chosen if a.service == service]
        if names:
            statements.append({"Effect": "Allow", "Action": names, "Resource": "*"})
    return {"Version": "1", "Statement": statements}


def document_text(mode: Mode | str) -> str:
    """The document as `reconciler permissions --mode MODE` prints it (2-space JSON, one
    trailing newline): what `aliyun ram CreatePolicy --PolicyDocument` takes."""
    return json.dumps(policy_document(mode), indent=2) + "\n"


def all_documents_text() -> str:
    """Every mode's document in one JSON object keyed by mode (`reconciler permissions`)."""
    documents = {mode.value: policy_document(mode) for mode in Mode}
    return json.dumps(documents, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def actions_table() -> str:
    """The Markdown table of every action: its kind, the modes whose document holds it, why it
    is called and the resource RAM checks (`reconciler permissions --format markdown`)."""
    lines = [
        "| action | kind | modes | why | resource |",
        "|---|---|---|---|---|",
    ]
    for action in ACTIONS:
        modes = ", ".join(m.value for m in Mode if action in actions_for(m))
        lines.append(
            f"| `{action.name}` | {action.kind} | {modes} | {_cell(action.why)} "
            f"| {_cell(action.resource)} |"
        )
    return "\n".join(lines) + "\n"
