"""The RAM permissions the tool's own identity needs, per mode, from ONE list of API actions.

This is about the AccessKey, profile, ECS role or OIDC role the tool runs as, not about the
role RDS assumes to use a KMS key (that role is a resource the spec manages).

`ACTIONS` lists every API action the tool can call, with the commands that call it: what each
resource kind declares (`ResourceKind.api_actions`, in kinds/<kind>/actions.py) and the
account's own reads (`ACCOUNT_ACTIONS`), in the order of their `ApiAction.order`. The policy
document of a mode is derived from it and nothing else:

- `plan`: the reads `plan` makes.
- `drift`: the reads `drift` and `import` make. `import` is not a mode of its own: it reads a
  subset of what drift reads (the same observer over the whole of a region, without the task
  center or the census of a key's users), and both are the read-only audit identity's work; one
  document for both is one less policy to keep. Drift reads what plan reads and the account's
  regions (DescribeRegions, for coverage of every region); they are kept apart so that a read
  one of them gains does not widen the other.
- `apply`: apply's reads (the same observation as plan, a fresh read of each target right
  before it is written, the waits) and every write a plan may contain. A document that alone
  suffices: attach it instead of the plan document, not beside it.

A unit test checks the list against the code (every action `reconciler/cloud/` sends, every
write apply can make) and docs/permissions.md against `reconciler permissions`, so none of the
three can drift from the others. Pure data and functions: no SDK, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum
from itertools import pairwise
from typing import Any

from reconciler.core.api_actions import READERS, SERVICES, ApiAction
from reconciler.kinds import KINDS

__all__ = ["ACTIONS", "SERVICES", "ApiAction", "Mode"]


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

ACCOUNT_ACTIONS: tuple[ApiAction, ...] = (
    ApiAction(
        "kms:DescribeAccountKmsStatus",
        "read",
        READERS,
        "whether KMS is activated (`KmsNotActivated`) and serving (`InDebt`, `Suspended`: "
        "`KmsInDebt`)",
        "`*`",
        6,
    ),
    ApiAction(
        "rds:DescribeRegions",
        "read",
        frozenset({"drift", "import"}),
        "the regions the account has, read when no `--region` narrows drift's coverage or "
        "`import` (every region is read, not only the spec's)",
        "`*`",
        8,
    ),
)
"""The reads about the account rather than a resource of any kind."""


def ordered(declared: Iterable[ApiAction]) -> tuple[ApiAction, ...]:
    """The declared actions in their order (reads, then writes; by service; by rank). Raises
    ValueError when two declare the same action or the same place: the documents' order would
    then depend on the registry's."""
    chosen = sorted(declared, key=lambda a: a.order)
    for one, other in pairwise(chosen):
        if one.order == other.order:
            raise ValueError(f"{one.name} and {other.name} declare the same place {one.order}")
    names = [a.name for a in chosen]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"declared more than once: {', '.join(twice)}")
    return tuple(chosen)


ACTIONS: tuple[ApiAction, ...] = ordered(
    [*ACCOUNT_ACTIONS, *(action for kind in KINDS for action in kind.api_actions())]
)
"""Every API action the tool may call: each kind's and the account's."""


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


def trust_policy(principal: str) -> dict[str, Any]:
    """The trust policy an account's role needs so that `principal` (an account's root,
    `acs:ram::<id>:root`, or a RAM user's or role's ARN) may assume it (README, "Several
    accounts"; docs/permissions.md, "Roles of several accounts")."""
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [principal]}}
    return {"Version": "1", "Statement": [statement]}


def trusted_principal(given: str) -> str:
    """`--principal`: a 16-digit account id means that account's root; an ARN stays itself."""
    return f"acs:ram::{given}:root" if given.isdigit() and len(given) == 16 else given


def account_documents(
    accounts: dict[str, tuple[str | None, str | None]], mode: str | None, principal: str
) -> str:
    """Per account (name -> (role_arn, account_id)): the role's policy (the mode's document, or
    every mode's) and the trust policy it needs, as one JSON object keyed by account name."""
    documents = {}
    for name, (role_arn, account_id) in accounts.items():
        policy = (
            policy_document(mode)
            if mode is not None
            else {m.value: policy_document(m) for m in Mode}
        )
        documents[name] = {
            "role_arn": role_arn,
            "account_id": account_id,
            "policy": policy,
            "trust_policy": trust_policy(principal),
        }
    return json.dumps(documents, indent=2) + "\n"
