"""Drift findings of a key (pure): by the field that moved, and by whether instances use it."""

from __future__ import annotations

import re

from reconciler.core.facts import ObservedInstance, ObservedState
from reconciler.drift.finding import FIX, Finding
from reconciler.drift.model import Kind, Severity
from reconciler.kinds.kms_key.body import KeyBefore
from reconciler.plan.actions import WarningCode
from reconciler.plan.model import Change, PlanWarning
from reconciler.spec.models import RDS_ENCRYPTION_TAG

_TAG_PATH = f'tags["{RDS_ENCRYPTION_TAG[0]}"]'
"""The field path of the RDS tag (plan/diff.py quotes a key that is not an identifier)."""


def _field_severity(path: str, state_severity: Severity) -> Severity:
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    if head == "state":
        return state_severity
    if path == _TAG_PATH:
        return Severity.HIGH
    if head in ("rotation", "deletion_protection"):
        return Severity.MEDIUM
    return Severity.LOW


def key_changed(change: Change, observed: ObservedState) -> Finding:
    key_id = change.target_id
    used = any(_uses(i, key_id) for i in observed.instances.values()) or bool(
        observed.key_users.get(key_id or "")
    )
    # The cloud's key no longer usable (disabled, pending deletion) is a risk to its users; a
    # usable key the spec wants retired is only a difference.
    before = KeyBefore.of(change, "before") if change.before is not None else None
    usable_now = before is not None and before.state == "enabled"
    at_stake = Severity.CRITICAL if used else Severity.HIGH
    state_severity = Severity.MEDIUM if usable_now else at_stake
    paths = [fc.path for fc in change.field_changes]
    severity = min(
        (_field_severity(p, state_severity) for p in paths),
        key=lambda s: s.rank,
        default=Severity.LOW,
    )
    notes = []
    if "state" in paths and used and not usable_now:
        notes.append("The key is in use: its instances are locked or will be.")
    if _TAG_PATH in paths:
        notes.append(
            f"Without {RDS_ENCRYPTION_TAG[0]}={RDS_ENCRYPTION_TAG[1]} the RAM policy does not "
            "let RDS use the key: its instances fail at their next key operation."
        )
    return Finding(
        change.address,
        Kind.CHANGED,
        severity,
        " ".join([f"{change.reason}.", *notes, FIX]),
        tuple(change.field_changes),
        change.region,
    )


def _uses(instance: ObservedInstance, key_id: str | None) -> bool:
    enc = instance.encryption
    return key_id is not None and enc is not None and enc.enabled and enc.key_id == key_id


def expiring_findings(warnings: list[PlanWarning], observed: ObservedState) -> list[Finding]:
    """KmsInstanceExpiring at a key: at risk, high while the instance still runs, critical
    once it has expired (its keys' instances may not decrypt their disks)."""
    from reconciler.kinds.kms_key.instances import expiring

    expired = {e.instance.instance_id for e in expiring(observed) if e.expired}
    found = []
    for warning in warnings:
        if warning.code is not WarningCode.KMS_INSTANCE_EXPIRING:
            continue
        gone = any(instance_id in warning.message for instance_id in expired)
        severity = Severity.CRITICAL if gone else Severity.HIGH
        key = observed.keys.get(warning.address.partition(".")[2])
        region = key.region if key is not None else None
        found.append(Finding(warning.address, Kind.AT_RISK, severity, warning.message, (), region))
    return found
