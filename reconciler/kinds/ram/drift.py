"""Drift findings of RAM (pure): the spec's policy detached or others attached (critical when
one widens the role), the policy's document changed, the role's trust changed."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.core.facts import ObservedState
from reconciler.drift.finding import FIX, Finding
from reconciler.drift.model import Kind, Severity
from reconciler.drift.ram_risk import policy_risk
from reconciler.kinds.ram.attachments import address as attachment_address
from reconciler.kinds.ram.attachments import unwanted_attachments
from reconciler.kinds.ram.body import PolicyBefore
from reconciler.kinds.ram.tde_users import naming, tde_users
from reconciler.plan.actions import Op
from reconciler.plan.model import Change, Plan
from reconciler.spec.models import RDS_ENCRYPTION_TAG, Spec


def attachment_changed(change: Change, observed: ObservedState) -> Finding:
    """The spec's policy not attached (missing, high), or policies the spec does not list
    attached (changed: critical when one widens the role as ram_risk judges it, else high)."""
    detached = {
        (o.params["PolicyName"], o.params["PolicyType"])
        for o in change.operations
        if o.op == Op.RAM_DETACH_POLICY_FROM_ROLE
    }
    if not detached:
        return Finding(
            change.address,
            Kind.MISSING,
            Severity.HIGH,
            f"{change.reason}: RDS cannot use any CMK through the role, so CMK instances fail "
            f"at their next key operation. {FIX}",
            tuple(change.field_changes),
        )
    attached = observed.ram.attached_policies if observed.ram else []
    widening = any(
        policy_risk(p.document).critical for p in attached if (p.name, p.policy_type) in detached
    )
    return Finding(
        change.address,
        Kind.CHANGED,
        Severity.CRITICAL if widening else Severity.HIGH,
        f"{change.reason}. {FIX}",
        tuple(change.field_changes),
    )


def policy_changed(change: Change) -> Finding:
    document = PolicyBefore.of(change, "before").document
    risk = policy_risk(document)
    problems = []
    if risk.tag_condition_gone:
        problems.append(
            "its tag condition is gone: the role may use keys without "
            f"{RDS_ENCRYPTION_TAG[0]}={RDS_ENCRYPTION_TAG[1]}"
        )
    if risk.widened:
        problems.append(f"it is widened: it allows {', '.join(risk.widened)}")
    what = "; ".join(problems) if problems else "it no longer matches the fixed document"
    return Finding(
        change.address,
        Kind.CHANGED,
        Severity.CRITICAL if risk.critical else Severity.HIGH,
        f"the policy's default version changed: {what}. {FIX}",
        tuple(change.field_changes),
    )


def role_changed(change: Change) -> Finding:
    return Finding(
        change.address,
        Kind.CHANGED,
        Severity.HIGH,
        f"the role's trust policy changed: {change.reason}. {FIX}",
        tuple(change.field_changes),
    )


def ram_widened(spec: Spec, observed: ObservedState) -> list[Finding]:
    """Policies attached to the role that the spec does not list (kinds/ram/attachments.py)
    and that widen it: the role RDS assumes may then do more than use tagged keys (e.g. an
    administrator policy attached by hand). The plan detaches them (managed) or refuses them
    (verify only); this makes the item critical. The spec's own policy is the plan's business
    (custom) or Alibaba's (system), and a policy ram.extra_policies keeps is in the spec, so
    neither is judged here."""
    ram = spec.effective_ram()
    if ram is None or observed.ram is None or observed.ram.role is None:
        return []
    found = []
    for policy in unwanted_attachments(ram, observed.ram):
        risk = policy_risk(policy.document)
        if not risk.critical:
            continue
        what = []
        if risk.tag_condition_gone:
            what.append("lets the role use keys without the RDS tag")
        if risk.widened:
            what.append(f"allows {', '.join(risk.widened)}")
        found.append(
            Finding(
                attachment_address(ram.role, policy.name),
                Kind.CHANGED,
                Severity.CRITICAL,
                f"{policy.policy_type.lower()} policy {policy.name} is attached to role "
                f"{ram.role} and widens it: it {' and '.join(what)}. Detach it (plan does, with "
                "ram.manage: true), or list it under ram.extra_policies to keep it",
            )
        )
    return found


def tde_dependents(
    spec: Spec, plan: Plan, observed: ObservedState, owns: Callable[[str], bool]
) -> list[Finding]:
    """An info finding naming the TDE instances that depend on the role (kinds/ram/tde_users.py)
    at each RAM address the plan changes or refuses: merged into that address's item, whose
    kind and severity stay those of its most severe finding (drift/report.py)."""
    users = tde_users(spec, observed)
    if not users:
        return []
    addresses = {c.address for c in plan.changes} | {r.address for r in plan.refusals}
    return [
        Finding(address, Kind.CHANGED, Severity.INFO, naming(users))
        for address in sorted(a for a in addresses if owns(a))
    ]
