"""The Plan: frozen data, the only input of apply (as Terraform's plans.Plan).

A saved plan file is `render.json.render_json(plan)`; `load_plan(text)` reads it back into an
equal Plan. The format is defined field by field in docs/plan-format.md. A change carries its
API calls as data (`Operation{op, params}`): apply interprets them and re-derives nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler.core.unset import omitted_while
from reconciler.plan.actions import Action, RefusalCode, WarningCode

FORMAT_VERSION = "1"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class FieldChange(_Frozen):
    """One leaf that differs between the observed and the desired view of a resource."""

    path: str
    """Dotted path in the resource's view, e.g. `encryption.key` or `tags.team`; a key that is
    not a plain identifier is written `tags["acs:rds:instance-encryption"]`."""
    before: Any = None
    """Observed value; null when absent (e.g. the resource does not exist)."""
    after: Any = None
    """Desired value; null when removed. `(known after apply)` for values the cloud assigns."""


REF_KEYS = frozenset({"ref", "attr"})
RefAttr = Literal["key_id", "arn"]


def ref(address: str, attr: RefAttr) -> dict[str, str]:
    """A parameter value known only once an earlier change of the plan has run, e.g. the id of
    a key created by `kms_key.rds-prod`: `{"ref": "kms_key.rds-prod", "attr": "key_id"}`."""
    return {"ref": address, "attr": attr}


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == REF_KEYS


class Operation(_Frozen):
    """One API call: `op` is `<service>:<Action>` (e.g. `kms:CreateAlias`), `params` every
    request parameter by its wire name. A value may be a reference (`ref()`) to an attribute
    that an earlier change produces."""

    op: str
    params: dict[str, Any] = Field(default_factory=dict)

    def refs(self) -> list[dict[str, str]]:
        return [v for v in self.params.values() if is_ref(v)]


class Change(_Frozen):
    """One resource's change: every API write apply makes to that resource, in order."""

    address: str
    """`ram_policy.<name>`, `ram_role.<name>`, `ram_attachment.<role>/<policy>`,
    `kms_key.<logical name>`, `rds_encryption.<instance id>` (docs/plan-format.md, Addresses)."""
    action: Action
    operations: list[Operation]
    """The API writes in the order apply makes them, each with every parameter it needs."""
    field_changes: list[FieldChange] = Field(default_factory=list)
    """Sorted by path. For humans and reviews; apply reads `operations`."""
    restart: bool = False
    """A decision apply reads: carrying this change out restarts a database instance, so apply
    needs --allow-restart, `scheduled` or not (that RDS defers an encryption change to the
    window is not documented, docs/real-cloud.md)."""
    scheduled: bool = False
    """A decision apply reads: submitted with SwitchTimeMode=MaintainTime; it runs in the
    maintenance window, so apply does not wait for it."""
    irreversible: bool = False
    """A decision apply reads: once made, this change cannot be undone (enabling TDE), so apply
    needs --allow-irreversible as well as --allow-restart."""
    depends_on: list[str] = Field(default_factory=list)
    """Addresses of changes in this plan that must complete first; sorted by kind (policy,
    role, attachment, key, instance), then address."""
    facts_digest: str | None = None
    """sha256 of the observed facts this change rests on (its resource as read, and what the
    guards read about it). A saved plan is stale for this address when a fresh observation
    gives another digest; changes elsewhere in the cloud do not make it stale."""
    reason: str = ""
    """Why, for humans only. Never used for any decision during apply."""
    region: str | None = None
    """Region the calls go to; null for RAM (global)."""
    target_id: str | None = None
    """The cloud id of the resource (instance id, KMS key id, RAM role or policy name, or
    `role/policy` for an attachment); null when it is created by this change."""
    before: dict[str, Any] | None = None
    """The observed view of the resource; null when it does not exist. Apply compares a fresh
    read with it before writing (docs/plan-format.md, Applying a saved plan)."""
    after: dict[str, Any] | None = None
    via: str | None = omitted_while(None)
    """`fleets.<name>` when the instance is managed because that fleet selects it."""
    """The desired view, with every parameter the operations need."""

    @property
    def op_names(self) -> list[str]:
        return [o.op for o in self.operations]


class Refusal(_Frozen):
    """A change that must not be made; any refusal fails the plan (exit 1)."""

    address: str
    code: RefusalCode
    message: str
    """What is wrong and what to do next; cites file:line when the spec's locations are known."""
    via: str | None = omitted_while(None)
    """`fleets.<name>` when the instance is managed because that fleet selects it."""


class PlanWarning(_Frozen):
    """Something the operator must know that does not fail the plan."""

    address: str
    code: WarningCode
    message: str
    via: str | None = omitted_while(None)
    """`fleets.<name>` when the instance is managed because that fleet selects it."""


Warning = PlanWarning
"""Alias with the name docs/plan-format.md uses (Refusal and Warning)."""


class Summary(_Frozen):
    create: int = 0
    update: int = 0
    delete: int = 0
    restart: int = 0
    """Changes that restart an instance, whether at apply time or later in its maintenance
    window (`scheduled`): a scheduled change still restarts the instance, and a reviewer needs
    the total. The changes' `scheduled` marks tell the two apart."""
    refused: int = 0


class ShardUnit(_Frozen):
    """One unit of the partition `--shard I/N` deals out (reconciler/shard.py)."""

    account: str | None = None
    """The spec's account name; null while the spec declares none (one account)."""
    region: str


class ShardInfo(_Frozen):
    """Which shard of `--shard I/N` a plan or drift report is (docs/plan-format.md, `shard`)."""

    index: int = Field(ge=1)
    """1-based: shard I of N."""
    count: int = Field(ge=1)
    units: list[ShardUnit] = Field(default_factory=list)
    """The (account, region) units this shard read and planned, sorted; empty: none."""


PLAN_ID = r"^[0-9a-f]{32}$"
"""A plan id: 32 lowercase hex digits (128 random bits)."""


class Plan(_Frozen):
    format_version: Literal["1"] = FORMAT_VERSION
    plan_id: str | None = Field(default=None, pattern=PLAN_ID)
    """This plan's own random id (docs/plan-format.md): the ClientTokens of its writes derive
    from it, so two plans never share a token and every run of the same saved plan sends the
    same ones. Apply of a saved plan makes its fresh plan with this id, so the two compare
    token for token. Not a secret, and never a proof of anything: anyone can copy it."""
    fingerprint: str
    """sha256 of the observed facts the plan read (ObservedState.fingerprint())."""
    spec_digest: str | None = None
    """sha256 of the spec the plan was made from (its canonical form: comments and layout of
    the files do not count). A saved plan is applied only with the same spec."""
    created_at: str | None = None
    """ISO 8601 UTC, set by the caller (the planner reads no clock)."""
    summary: Summary = Field(default_factory=Summary)
    changes: list[Change] = Field(default_factory=list)
    """In the order apply carries them out (a topological order of depends_on)."""
    refusals: list[Refusal] = Field(default_factory=list)
    """Sorted by address, then code."""
    warnings: list[PlanWarning] = Field(default_factory=list)
    """Sorted by address, then code."""
    shard: ShardInfo | None = omitted_while(None)
    """Set by `plan --shard I/N`: the plan covers only these units (docs/plan-format.md)."""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def change(self, address: str) -> Change | None:
        """The change for an address, if the plan has one."""
        return next((c for c in self.changes if c.address == address), None)


def summarise(changes: list[Change], refusals: list[Refusal]) -> Summary:
    """The counts of the plan's `summary` (docs/plan-format.md)."""
    return Summary(
        create=sum(c.action is Action.CREATE for c in changes),
        update=sum(c.action is Action.UPDATE for c in changes),
        delete=sum(c.action is Action.DELETE for c in changes),
        restart=sum(c.restart for c in changes),
        refused=len(refusals),
    )


def load_plan(text: str) -> Plan:
    """A saved plan file back into a Plan. Raises pydantic.ValidationError when malformed."""
    return Plan.model_validate_json(text)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan document of docs/plan-format.md as plain data, keys in a fixed order."""
    return plan.model_dump(mode="json")
