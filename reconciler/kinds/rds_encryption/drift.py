"""Drift findings of an instance's encryption (pure): where the instance is against where the
spec wants it, how severe a pending change is by what its task does, the plan's warnings at
instances, instances at risk although nothing in the spec's terms differs, and unmanaged ones."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.core.facts import ObservedInstance, ObservedKey, ObservedState, ObservedTask
from reconciler.core.rules import ENCRYPTION_DISABLED
from reconciler.drift.finding import FIX, Finding
from reconciler.drift.model import Kind, Severity
from reconciler.kinds.rds_encryption.body import InstanceAfter, InstanceBefore
from reconciler.kinds.rds_encryption.desired import describe_value, pending_task
from reconciler.plan.actions import RefusalCode, WarningCode
from reconciler.plan.model import Change, PlanWarning, Refusal
from reconciler.spec.models import RDS_ENCRYPTION_TAG, Spec


def encryption_changed(change: Change, observed: ObservedState) -> Finding:
    """From the change's views (never its human reason): where the instance is, where the
    spec wants it, each spec key by name."""
    now = InstanceBefore.of(change, "before").encryption.key
    after = InstanceAfter.of(change)
    wanted = describe_value(after.encryption.key, after.key_name)
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


def from_warnings(warnings: Iterable[PlanWarning], observed: ObservedState) -> list[Finding]:
    """The plan's warnings at instances (`warnings`, at this kind's addresses). At risk
    (InstanceAtRisk: KMS InDebt or Suspended, managed or not, as its disks cannot be decrypted
    while KMS stops serving; or a managed instance locked while nothing is planned for it) is
    critical; a change the spec wants, already running or scheduled (ChangeAlreadyPending), is
    high: the cloud still differs."""
    found = []
    for warning in warnings:
        if warning.code is WarningCode.INSTANCE_AT_RISK:
            kind, severity, message = Kind.AT_RISK, Severity.CRITICAL, warning.message
        elif warning.code is WarningCode.CHANGE_ALREADY_PENDING:
            kind, severity = Kind.CHANGED, Severity.HIGH
            message = f"encryption differs from the spec; {warning.message}"
        else:
            continue
        instance = observed.instances.get(warning.address.partition(".")[2])
        region = instance.region if instance else None
        found.append(Finding(warning.address, kind, severity, message, (), region))
    return found


def at_risk(spec: Spec, observed: ObservedState) -> list[Finding]:
    """Managed instances on a CMK that RDS can no longer use, or soon will not: the key
    disabled, pending deletion, without the RDS tag, or KMS not activated."""
    found = []
    for instance_id in sorted(spec.instances):
        instance = observed.instances.get(instance_id)
        enc = instance.encryption if instance else None
        if instance is None or enc is None or not enc.enabled or not enc.key_id:
            continue
        if observed.on_service_key(instance):
            continue
        address = f"rds_encryption.{instance_id}"
        key = _known_key(observed, enc.key_id)
        risk = _key_risk(observed, key, enc.key_id)
        if risk is not None:
            severity, why = risk
            found.append(
                Finding(
                    address,
                    Kind.AT_RISK,
                    severity,
                    f"{instance_id} is encrypted with {enc.key_id}, which {why}",
                    (),
                    instance.region,
                )
            )
    return found


def _known_key(observed: ObservedState, key_id: str) -> ObservedKey | None:
    known = [*observed.keys.values(), *observed.keys_by_id.values()]
    return next((k for k in known if k is not None and k.key_id == key_id), None)


def _key_risk(
    observed: ObservedState, key: ObservedKey | None, key_id: str
) -> tuple[Severity, str] | None:
    if not observed.kms_activated:
        return (
            Severity.CRITICAL,
            "RDS cannot reach: KMS is not activated in the account. The instance is locked at "
            "its next key operation; activate KMS",
        )
    if key is None:
        return None  # not read (a key the observer did not follow): nothing is assumed
    if key.state == "Disabled":
        return (
            Severity.CRITICAL,
            "is Disabled: the instance is locked (or will be at its next key operation). "
            "Enable the key",
        )
    if key.state == "PendingDeletion":
        when = f" on {key.delete_date}" if key.delete_date else ""
        return (
            Severity.CRITICAL,
            f"is pending deletion{when}: the instance is locked and loses its data when the "
            "key is deleted. Cancel the deletion (CancelKeyDeletion), then enable the key",
        )
    tag, value = RDS_ENCRYPTION_TAG
    if key.tags.get(tag, "").lower() != value:
        return (
            Severity.HIGH,
            f"lacks the tag {tag}={value}: the RAM policy no longer lets RDS use it, so the "
            "instance fails at its next key operation. Tag the key",
        )
    return None


def describe_encryption(instance: ObservedInstance, observed: ObservedState) -> str:
    enc = instance.encryption
    if enc is None:
        return "encryption not read"
    if not enc.enabled:
        return "not encrypted"
    if observed.on_service_key(instance):
        return "encrypted with the service key alias/acs/rds"
    return f"encrypted with the CMK {enc.key_id}"


def unmanaged(observed: ObservedState, unencrypted: Severity = Severity.MEDIUM) -> list[Finding]:
    """Each unmanaged PostgreSQL instance: info when encrypted, `unencrypted` (the spec's
    `defaults.drift.unmanaged_unencrypted`, medium by default) when its disks are not; high when
    the task center (read in the regions of managed instances) shows its decryption pending, or
    a change it does not say the value of (the most severe wins). Still `unmanaged`: the spec
    claims nothing about it, so it is drift only with --strict, but the report ranks it."""
    found = []
    for instance in observed.instances.values():
        if instance.managed or instance.engine.lower() != "postgresql":
            continue
        task = pending_task(observed, instance.instance_id)
        decrypting = task is not None and (
            task.target_unread or task.encryption_target == ENCRYPTION_DISABLED
        )
        plain = instance.encryption is not None and not instance.encryption.enabled
        ranks = [
            Severity.INFO,
            *([unencrypted] if plain else []),
            *([Severity.HIGH] if decrypting else []),
        ]
        found.append(
            Finding(
                f"rds_encryption.{instance.instance_id}",
                Kind.UNMANAGED,
                min(ranks, key=lambda s: s.rank),
                f"{instance.instance_id} is not in the spec "
                f"({describe_encryption(instance, observed)}){_pending_words(task)}; it is "
                "never changed. Add it under instances to manage it",
                (),
                instance.region,
            )
        )
    return found


def _pending_words(task: ObservedTask | None) -> str:
    if task is None:
        return ""
    when = f" at {task.start_time}" if task.start_time else ""
    to = (
        "a value the task center does not say"
        if task.target_unread
        else describe_value(task.encryption_target or "")
    )
    return f", with a change to {to} {task.status.lower()} (task {task.task_id}{when})"
