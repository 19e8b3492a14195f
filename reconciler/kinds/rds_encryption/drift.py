"""Drift findings of an instance's encryption (pure): where the instance is against where the
spec wants it, and how severe a pending change is by what its task does."""

from __future__ import annotations

from reconciler.core.rules import ENCRYPTION_DISABLED
from reconciler.drift.finding import FIX, Finding
from reconciler.drift.model import Kind, Severity
from reconciler.kinds.rds_encryption.desired import describe_value, pending_task
from reconciler.plan.actions import RefusalCode
from reconciler.plan.model import Change, Refusal
from reconciler.state.models import ObservedState


def encryption_changed(change: Change, observed: ObservedState) -> Finding:
    """From the change's views (never its human reason): where the instance is, where the
    spec wants it, each spec key by name."""
    now = (change.before or {})["encryption"]["key"]
    after = change.after or {}
    wanted_key = str(after.get("key_address") or "").removeprefix("kms_key.") or None
    wanted = describe_value(after["encryption"]["key"], wanted_key)
    return Finding(
        change.address,
        Kind.CHANGED,
        Severity.HIGH,
        f"encryption is {describe_value(now, _spec_key_name(observed, now))}; the spec wants "
        f"{wanted}. {FIX}",
        tuple(change.field_changes),
        change.region,
    )


def _spec_key_name(observed: ObservedState, key_id: str) -> str | None:
    return next((n for n, k in sorted(observed.keys.items()) if k and k.key_id == key_id), None)


def refusal_severity(refusal: Refusal, observed: ObservedState, severity: Severity) -> Severity:
    if refusal.code is RefusalCode.ENCRYPTION_CHANGE_PENDING:
        return _pending_severity(observed, refusal.address.partition(".")[2])
    return severity


def _pending_severity(observed: ObservedState, instance_id: str) -> Severity:
    """By what the refused pending change does when it runs (the task center's typed facts):
    decrypt the disks, or a value the task center does not say, critical; another key high."""
    task = pending_task(observed, instance_id)
    if task is None or task.target_unread or task.encryption_target == ENCRYPTION_DISABLED:
        return Severity.CRITICAL
    return Severity.HIGH
