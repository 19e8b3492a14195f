"""Spec + observed -> findings, one or more per address, each with a kind and a severity (pure).

What differs is what `plan` would change or refuse: the plan is built (pure) and each change,
refusal and pending-change warning becomes a finding, so drift and plan never disagree on what
is out of sync. On top of the plan: instances at risk although nothing in the spec's terms
differs (their key disabled, pending deletion, untagged, KMS off), and unmanaged instances.

Severities (issue 11): critical, an instance locked or about to be, a managed instance's
decryption pending in the task center (or a pending change whose value it does not say), a RAM
policy widened or its tag condition gone, a policy the spec does not list attached to the role
and widening it; high, a key without the RDS tag, the role's trust changed, the policy
detached, any other policy the spec does not list attached, a managed instance off or on
another key or with a move to one pending, an unmanaged instance's decryption pending; medium,
rotation and deletion protection; low, descriptions and user tags; info, unmanaged instances.
"""

from __future__ import annotations

from reconciler.drift.finding import FIX, Finding
from reconciler.drift.model import Kind, Severity
from reconciler.drift.ram_risk import policy_risk
from reconciler.kinds import find_kind, kind_of
from reconciler.kinds.base import not_at_an_instance
from reconciler.plan.actions import ENCRYPTION_DISABLED, Action, RefusalCode, WarningCode
from reconciler.plan.desired import describe_value, pending_task
from reconciler.plan.model import Change, Plan, Refusal
from reconciler.plan.ram_attachments import address as attachment_address
from reconciler.plan.ram_attachments import unwanted_attachments
from reconciler.spec.models import RDS_ENCRYPTION_TAG, Spec
from reconciler.state.models import ObservedInstance, ObservedKey, ObservedState, ObservedTask

_REFUSALS: dict[RefusalCode, tuple[Kind, Severity]] = {
    RefusalCode.INSTANCE_NOT_FOUND: (Kind.MISSING, Severity.HIGH),
    RefusalCode.INSTANCE_LOCKED: (Kind.AT_RISK, Severity.CRITICAL),
    RefusalCode.KMS_NOT_ACTIVATED: (Kind.AT_RISK, Severity.CRITICAL),
    RefusalCode.KEY_NOT_USABLE: (Kind.AT_RISK, Severity.CRITICAL),
    RefusalCode.RAM_NOT_READY: (Kind.AT_RISK, Severity.HIGH),
    RefusalCode.ENCRYPTION_NOT_READ: (Kind.AT_RISK, Severity.HIGH),
    RefusalCode.ENCRYPTION_CHANGE_PENDING: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.ENCRYPTION_UNSUPPORTED_SERVERLESS: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.ENCRYPTION_UNSUPPORTED_STORAGE: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.ENCRYPTION_UNSUPPORTED_EDITION: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.ENCRYPTION_UNSUPPORTED_ENGINE: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.CMK_REQUIRES_DEDICATED_INSTANCE: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.KEY_REGION_MISMATCH: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.KEY_IN_USE: (Kind.CHANGED, Severity.MEDIUM),
    RefusalCode.KEY_DELETION_PROTECTED: (Kind.CHANGED, Severity.MEDIUM),
    RefusalCode.KEY_DECLARED_TWICE: (Kind.CHANGED, Severity.MEDIUM),
}
"""A refusal's finding; AccountMismatch is not here: drift stops on it (nothing read would be
about the spec's account)."""


def from_change(change: Change, observed: ObservedState) -> Finding:
    kind = kind_of(change.address)
    if change.action is Action.CREATE and change.before is None:
        return Finding(
            change.address,
            Kind.MISSING,
            Severity.HIGH,
            f"{kind.missing_message(change)}. {FIX}",
            tuple(change.field_changes),
            change.region,
        )
    return kind.changed_finding(change, observed)


def from_refusal(refusal: Refusal, region: str | None, observed: ObservedState) -> Finding | None:
    found = _REFUSALS.get(refusal.code)
    if found is None:
        return None
    kind, severity = found
    owner = find_kind(refusal.address)
    if owner is not None:
        severity = owner.refusal_severity(refusal, observed, severity)
    else:
        severity = not_at_an_instance(refusal, severity)
    return Finding(
        refusal.address, kind, severity, f"{refusal.code.value}: {refusal.message}", (), region
    )


def from_kms_not_serving(plan: Plan, observed: ObservedState) -> list[Finding]:
    """Every instance the plan warns about (InstanceAtRisk) is critical: KMS InDebt or
    Suspended (managed or not: its disks cannot be decrypted while KMS stops serving), or a
    managed instance locked while nothing is planned for it."""
    found = []
    for warning in plan.warnings:
        if warning.code is WarningCode.INSTANCE_AT_RISK:
            instance = observed.instances.get(warning.address.split(".", 1)[1])
            found.append(
                Finding(
                    warning.address,
                    Kind.AT_RISK,
                    Severity.CRITICAL,
                    warning.message,
                    (),
                    instance.region if instance else None,
                )
            )
    return found


def from_pending(plan: Plan, observed: ObservedState) -> list[Finding]:
    """A change the spec wants, already running or scheduled: the cloud still differs."""
    found = []
    for warning in plan.warnings:
        if warning.code is WarningCode.CHANGE_ALREADY_PENDING:
            instance = observed.instances.get(warning.address.split(".", 1)[1])
            found.append(
                Finding(
                    warning.address,
                    Kind.CHANGED,
                    Severity.HIGH,
                    f"encryption differs from the spec; {warning.message}",
                    (),
                    instance.region if instance else None,
                )
            )
    return found


def _known_key(observed: ObservedState, key_id: str) -> ObservedKey | None:
    known = [*observed.keys.values(), *observed.keys_by_id.values()]
    return next((k for k in known if k is not None and k.key_id == key_id), None)


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


def ram_widened(spec: Spec, observed: ObservedState) -> list[Finding]:
    """Policies attached to the role that the spec does not list (plan/ram_attachments.py)
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


def describe_encryption(instance: ObservedInstance, observed: ObservedState) -> str:
    enc = instance.encryption
    if enc is None:
        return "encryption not read"
    if not enc.enabled:
        return "not encrypted"
    if observed.on_service_key(instance):
        return "encrypted with the service key alias/acs/rds"
    return f"encrypted with the CMK {enc.key_id}"


def unmanaged(observed: ObservedState) -> list[Finding]:
    """Info for each unmanaged PostgreSQL instance; high when the task center (read in the
    regions of managed instances) shows its decryption pending, or a change it does not say
    the value of. Still `unmanaged`: the spec claims nothing about it, so it is drift only
    with --strict, but the report says it."""
    found = []
    for instance in observed.instances.values():
        if instance.managed or instance.engine.lower() != "postgresql":
            continue
        task = pending_task(observed, instance.instance_id)
        decrypting = task is not None and (
            task.target_unread or task.encryption_target == ENCRYPTION_DISABLED
        )
        found.append(
            Finding(
                f"rds_encryption.{instance.instance_id}",
                Kind.UNMANAGED,
                Severity.HIGH if decrypting else Severity.INFO,
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


def checked_addresses(spec: Spec) -> list[str]:
    """Every address the spec declares: RAM (when in force), keys, instances."""
    found = [f"kms_key.{n}" for n in spec.kms_keys]
    found += [f"rds_encryption.{i}" for i in spec.instances]
    ram = spec.effective_ram()
    if ram is not None:
        found += [
            f"ram_policy.{ram.policy}",
            f"ram_role.{ram.role}",
            attachment_address(ram.role, ram.policy),
        ]
        found += [attachment_address(ram.role, p.name) for p in ram.extra_policies]
    return sorted(set(found))
