"""Drift findings of RAM (pure): the spec's policy detached or others attached (critical when
one widens the role), the policy's document changed, the role's trust changed."""

from __future__ import annotations

from reconciler.drift.finding import FIX, Finding
from reconciler.drift.model import Kind, Severity
from reconciler.drift.ram_risk import policy_risk
from reconciler.plan.actions import Op
from reconciler.plan.model import Change
from reconciler.spec.models import RDS_ENCRYPTION_TAG
from reconciler.state.models import ObservedState


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
    document = (change.before or {}).get("document")
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
