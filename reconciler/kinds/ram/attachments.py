"""The role's attachments are exclusive: RDS assumes the role for every CMK instance of the
account, so every policy attached to it is power RDS holds for all of them. The spec lists what
may be attached: `ram.policy` (the one the plan attaches) and `ram.extra_policies`; any other
attachment is unwanted.

Managed (`ram.manage: true`): an unwanted attachment is planned for DetachPolicyFromRole at
`ram_attachment.<role>/<policy>` (action `delete`), after the wanted attachment. A policy of
the spec's name in the other namespace (custom vs system) shares the spec's address: the
change attaches the spec's one and detaches the other (action `update`), in that order, so
the role is never left without a policy.

Verify only (`manage: false`): nothing is written, so an unwanted attachment is a RamNotReady
refusal at its address, whether or not a CMK is used (a managed spec would detach it either
way). Verify only accepts the spec's policy under either type, as its readiness check does.
"""

from __future__ import annotations

from typing import Any

from reconciler.core.facts import ObservedPolicy, ObservedRam, PolicyTypeName
from reconciler.kinds.ram.body import AttachmentBody
from reconciler.plan.actions import Action, Op, RefusalCode
from reconciler.plan.context import PlanContext
from reconciler.plan.diff import diff
from reconciler.plan.model import Change, Operation
from reconciler.spec.models import PolicyType, RamSpec

_TYPES: tuple[PolicyTypeName, ...] = ("Custom", "System")
_MAX_STATEMENTS = 3
"""How many statements of an unwanted policy a reason spells out."""


def api_type(ram: RamSpec) -> PolicyTypeName:
    return "System" if ram.policy_type is PolicyType.SYSTEM else "Custom"


def address(role: str, policy: str) -> str:
    return f"ram_attachment.{role}/{policy}"


def unwanted_attachments(ram: RamSpec, observed: ObservedRam) -> list[ObservedPolicy]:
    """Policies attached to the role that the spec does not allow, sorted by (type, name)."""

    def wanted(policy: ObservedPolicy) -> bool:
        if ram.keeps(policy.name, policy.policy_type):
            return True
        if policy.name != ram.policy:
            return False
        return not ram.manage or policy.policy_type == api_type(ram)

    return [p for p in observed.attached_policies if not wanted(p)]


def _statement_grant(statement: Any) -> str:
    if not isinstance(statement, dict):
        return "a statement the reconciler cannot read"
    effect = str(statement.get("Effect", "?")).lower()
    verb = {"allow": "allows", "deny": "denies"}.get(effect, f"has Effect {effect!r} for")
    negated = "NotAction" in statement
    actions = statement.get("NotAction" if negated else "Action", "?")
    resources = statement.get("NotResource", statement.get("Resource", "?"))
    listed = ", ".join(actions) if isinstance(actions, list) else str(actions)
    on = ", ".join(resources) if isinstance(resources, list) else str(resources)
    condition = " under a condition" if statement.get("Condition") else ""
    return f"{verb} {'every action but ' if negated else ''}{listed} on {on}{condition}"


def grants(policy: ObservedPolicy) -> str:
    """What the policy's default version grants, for reasons and messages."""
    statements = policy.document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return f"its document ({policy.default_version}) states nothing the reconciler can read"
    said = "; ".join(_statement_grant(s) for s in statements[:_MAX_STATEMENTS])
    more = len(statements) - _MAX_STATEMENTS
    return said + (f"; and {more} more statement(s)" if more > 0 else "")


def describe(policy: ObservedPolicy) -> str:
    owner = "Alibaba Cloud's system policy" if policy.policy_type == "System" else "custom policy"
    return f"{owner} {policy.name}"


def _widens(policy: ObservedPolicy) -> bool:
    """False only for a document whose every statement plainly denies (fail closed)."""
    statements = policy.document.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements:
        return True
    return not all(
        isinstance(s, dict) and str(s.get("Effect", "")).lower() == "deny" for s in statements
    )


def _why_unwanted(ram: RamSpec, policy: ObservedPolicy) -> str:
    what = "widens" if _widens(policy) else "restricts"
    return (
        f"{describe(policy)} is attached to role {ram.role} and the spec does not list it "
        f"(ram.policy, ram.extra_policies). It {what} the role RDS assumes for every CMK "
        f"instance: it {grants(policy)}"
    )


def _operation(op: Op, role: str, policy: str, policy_type: str) -> Operation:
    """Attach and detach take the same three parameters and no ClientToken."""
    params = {"PolicyType": policy_type, "PolicyName": policy, "RoleName": role}
    return Operation(op=op.value, params=params)


def _attach_only(ram: RamSpec) -> Change:
    policy_type = api_type(ram)
    after = AttachmentBody(
        role=ram.role, policy=ram.policy, policy_type=policy_type, attached=True
    ).wire()
    return Change(
        address=address(ram.role, ram.policy),
        action=Action.CREATE,
        operations=[_operation(Op.RAM_ATTACH_POLICY_TO_ROLE, ram.role, ram.policy, policy_type)],
        field_changes=diff({"attached": False}, {"attached": True}),
        before=AttachmentBody(role=ram.role, policy=ram.policy, attached=False).wire(),
        after=after,
        reason=f"{policy_type.lower()} policy {ram.policy} is not attached to role {ram.role}",
    )


def _attachment_view(ram: RamSpec, name: str, types: set[str]) -> dict[str, Any]:
    attached = {t: t in types for t in _TYPES}
    return AttachmentBody(role=ram.role, policy=name, attached=attached).wire()


def _name_change(
    ram: RamSpec, name: str, attach: bool, detach: list[ObservedPolicy], observed: ObservedRam
) -> Change:
    """The change of one attachment address: the spec's policy attached first (if missing),
    then every unwanted policy of that name detached."""
    now = {p.policy_type for p in observed.attached_policies if p.name == name}
    after_types = (now | {api_type(ram)} if attach else now) - {p.policy_type for p in detach}
    operations = [_operation(Op.RAM_ATTACH_POLICY_TO_ROLE, ram.role, name, api_type(ram))]
    operations = operations if attach else []
    operations += [
        _operation(Op.RAM_DETACH_POLICY_FROM_ROLE, ram.role, name, p.policy_type) for p in detach
    ]
    before, after = _attachment_view(ram, name, now), _attachment_view(ram, name, after_types)
    reasons = [_why_unwanted(ram, p) for p in detach]
    if attach:
        reasons.insert(0, f"{api_type(ram).lower()} policy {name} is not attached")
    return Change(
        address=address(ram.role, name),
        action=Action.UPDATE if attach else Action.DELETE,
        operations=operations,
        field_changes=diff(before, after),
        target_id=f"{ram.role}/{name}",
        before=before,
        after=after,
        reason="; ".join(reasons)
        + ". apply detaches it; list it under ram.extra_policies to keep it"
        + (" (the spec's policy is attached first)" if attach else ""),
    )


def attachment_changes(ram: RamSpec, observed: ObservedRam) -> tuple[Change | None, list[Change]]:
    """(the change at the spec's attachment address, if any; the detaches of other names)."""
    if observed.role is None:
        return _attach_only(ram), []
    by_name: dict[str, list[ObservedPolicy]] = {}
    for policy in unwanted_attachments(ram, observed):
        by_name.setdefault(policy.name, []).append(policy)
    missing = not observed.attached(ram.policy, api_type(ram))
    own_extras = by_name.pop(ram.policy, [])
    if missing and not own_extras:
        own: Change | None = _attach_only(ram)
    elif missing or own_extras:
        own = _name_change(ram, ram.policy, missing, own_extras, observed)
    else:
        own = None
    others = [
        _name_change(ram, name, False, policies, observed)
        for name, policies in sorted(by_name.items())
    ]
    return own, others


def refuse_unwanted(ctx: PlanContext, ram: RamSpec, observed: ObservedRam) -> None:
    """Verify only: every unwanted attachment is a RamNotReady refusal."""
    for policy in unwanted_attachments(ram, observed):
        ctx.refuse(
            address(ram.role, policy.name),
            RefusalCode.RAM_NOT_READY,
            f"{_why_unwanted(ram, policy)}. ram.manage is false so the reconciler only "
            f"verifies RAM: ask the RAM owner to detach it (DetachPolicyFromRole), or list it "
            f"under ram.extra_policies ({{name: {policy.name}, type: "
            f"{policy.policy_type.lower()}}}) to keep it, or set ram.manage: true",
            ("ram", "manage"),
        )
