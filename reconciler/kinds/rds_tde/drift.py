"""Drift findings of an instance's TDE (pure): TDE off where the spec wants it, or on another
key (high); TDE on where the spec says `disabled`, which RDS cannot undo (medium); the key TDE
uses at risk (critical: docs/real-cloud.md, "TDE and the key list": a disabled or deleted custom
key stops snapshots, restores from snapshots and secondary rebuilds, and a restart then makes
the instance unavailable)."""

from __future__ import annotations

from reconciler.core.facts import ObservedKey, ObservedState, ObservedTde
from reconciler.drift.finding import FIX, Finding
from reconciler.drift.model import Kind, Severity
from reconciler.kinds.rds_encryption.desired import describe_value
from reconciler.kinds.rds_tde.body import TdeAfter
from reconciler.plan.model import Change, Plan
from reconciler.spec.models import RDS_ENCRYPTION_TAG, SERVICE_KEY, KeyRef, Spec, is_literal_key

SERVICE_MODE, CUSTOM_MODE = "Aliyun_Generate_Key", "Customer_Provided_Key"
"""DescribeDBInstanceTDE's TDEMode values (cloud/rds_tde.py reads no other as on)."""
ONE_WAY = "Enabling restarts the instance with a switchover and cannot be undone."


def address(instance_id: str) -> str:
    return f"rds_tde.{instance_id}"


def describe(tde: ObservedTde | None, observed: ObservedState) -> str:
    """TDE as read, each spec key by its name."""
    if tde is None:
        return "not read"
    if not tde.enabled:
        return "off"
    if tde.mode == SERVICE_MODE:
        return "on RDS's own key (Aliyun_Generate_Key)"
    name = next((n for n, k in sorted(observed.keys.items()) if k and k.key_id == tde.key_id), None)
    return f"on the CMK {name} ({tde.key_id})" if name else f"on the CMK {tde.key_id}"


def tde_changed(change: Change, observed: ObservedState) -> Finding:
    """A change the plan makes to TDE (enable, or move to the spec's key): high. What the spec
    wants is the change's field changes; the message says where TDE is now."""
    instance = observed.instances.get(change.address.partition(".")[2])
    tde = instance.tde if instance else None
    after = TdeAfter.of(change)
    key_name = after.key_address.partition(".")[2] if after.key_address else None
    wanted = f"the spec wants it on {describe_value(after.tde.key, key_name)}"
    if tde is not None and tde.enabled:
        message = f"TDE is {describe(tde, observed)}; {wanted}. {FIX}"
    else:
        message = f"TDE is {describe(tde, observed)}; {wanted}. {ONE_WAY} {FIX}"
    return Finding(
        change.address,
        Kind.CHANGED,
        Severity.HIGH,
        message,
        tuple(change.field_changes),
        change.region,
    )


def differs(spec: Spec, plan: Plan, observed: ObservedState) -> list[Finding]:
    """Instances whose TDE differs from the spec where the plan makes no change for it (it
    refuses one, e.g. a prerequisite unmet): the drift report says so whatever the plan can do."""
    planned = {c.address for c in plan.changes}
    found = []
    for instance_id in sorted(spec.instances):
        wanted, instance = spec.tde_of(instance_id), observed.instances.get(instance_id)
        if wanted is None or instance is None or instance.tde is None:
            continue
        if address(instance_id) in planned:
            continue  # tde_changed says it
        one = _difference(instance_id, wanted, instance.tde, observed)
        if one is not None:
            severity, message = one
            found.append(
                Finding(address(instance_id), Kind.CHANGED, severity, message, (), instance.region)
            )
    return found


def _difference(
    instance_id: str, wanted: KeyRef | str, tde: ObservedTde, observed: ObservedState
) -> tuple[Severity, str] | None:
    now = describe(tde, observed)
    if not isinstance(wanted, KeyRef):  # `disabled`
        if not tde.enabled:
            return None
        return (
            Severity.MEDIUM,
            f"TDE is {now} and RDS cannot turn it off (TdeCannotBeDisabled); the spec says "
            f"disabled. Set {instance_id}'s tde to the key it uses",
        )
    if not tde.enabled:
        return (
            Severity.HIGH,
            f"TDE is off; the spec wants it on {_wanted(wanted)}. {ONE_WAY} {FIX}",
        )
    if _on_wanted_key(wanted, tde, observed):
        return None
    return Severity.HIGH, f"TDE is {now}; the spec wants it on {_wanted(wanted)}. {FIX}"


def _wanted(wanted: KeyRef) -> str:
    if wanted.key == SERVICE_KEY:
        return "RDS's own key"
    return f"the CMK {wanted.key}"


def _on_wanted_key(wanted: KeyRef, tde: ObservedTde, observed: ObservedState) -> bool:
    if wanted.key == SERVICE_KEY:
        return tde.mode == SERVICE_MODE
    if tde.mode != CUSTOM_MODE:
        return False
    if is_literal_key(wanted.key):  # by id, ARN or alias: compare the id KMS answered
        key = observed.keys_by_id.get(wanted.key)
        return key is not None and key.key_id == tde.key_id
    key = observed.keys.get(wanted.key)
    return key is not None and key.key_id == tde.key_id


def at_risk(spec: Spec, observed: ObservedState) -> list[Finding]:
    """Managed instances whose TDE is on a key RDS can no longer use, or soon cannot."""
    found = []
    for instance_id in sorted(spec.instances):
        instance = observed.instances.get(instance_id)
        tde = instance.tde if instance else None
        if instance is None or tde is None or not tde.enabled:
            continue
        risk = _risk(observed, tde)
        if risk is not None:
            severity, why = risk
            found.append(
                Finding(
                    address(instance_id),
                    Kind.AT_RISK,
                    severity,
                    f"{instance_id}'s TDE is {describe(tde, observed)}, which {why}",
                    (),
                    instance.region,
                )
            )
    return found


STOPS = (
    "RDS stops its snapshots, restores from snapshots and secondary rebuilds, and its next "
    "restart makes the instance unavailable"
)


def _risk(observed: ObservedState, tde: ObservedTde) -> tuple[Severity, str] | None:
    if not observed.kms_activated:
        return Severity.CRITICAL, f"RDS cannot reach: KMS is not activated. {STOPS}"
    if not observed.kms_serving:
        return (
            Severity.CRITICAL,
            f"KMS no longer serves: the account's KMS is {observed.kms_status}. {STOPS}. "
            "Settle the account",
        )
    if tde.mode != CUSTOM_MODE or not tde.key_id:
        return None
    key = _known_key(observed, tde.key_id)
    if key is None:
        return None  # not read: nothing is assumed
    if key.state == "Disabled":
        return Severity.CRITICAL, f"is Disabled: {STOPS}. Enable the key"
    if key.state == "PendingDeletion":
        when = f" on {key.delete_date}" if key.delete_date else ""
        return (
            Severity.CRITICAL,
            f"is pending deletion{when}: {STOPS}, and the data cannot be decrypted once the "
            "key is deleted. Cancel the deletion (CancelKeyDeletion), then enable the key",
        )
    tag, value = RDS_ENCRYPTION_TAG
    if key.tags.get(tag, "").lower() != value:
        return (
            Severity.HIGH,
            f"lacks the tag {tag}={value}: the RAM policy no longer lets RDS use it. Tag the key",
        )
    return None


def _known_key(observed: ObservedState, key_id: str) -> ObservedKey | None:
    known = [*observed.keys.values(), *observed.keys_by_id.values()]
    return next((k for k in known if k is not None and k.key_id == key_id), None)
