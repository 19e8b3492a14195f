"""Spec + observed -> findings, one or more per address, each with a kind and a severity (pure).

What differs is what `plan` would change or refuse: the plan is built (pure) and each change,
refusal and pending-change warning becomes a finding, so drift and plan never disagree on what
is out of sync. On top of the plan, each kind adds its own (`ResourceKind.drift_findings`, in
kinds/<kind>/drift.py): the plan's warnings at instances, instances at risk although nothing in
the spec's terms differs (their key disabled, pending deletion, untagged, KMS off), unmanaged
instances, policies attached to the role that widen it. This module only merges.

Severities (issue 11): critical, an instance locked or about to be, a managed instance's
decryption pending in the task center (or a pending change whose value it does not say), a RAM
policy widened or its tag condition gone, a policy the spec does not list attached to the role
and widening it; high, a key without the RDS tag, the role's trust changed, the policy
detached, any other policy the spec does not list attached, a managed instance off or on
another key or with a move to one pending, an unmanaged instance's decryption pending; medium,
rotation and deletion protection; low, descriptions and user tags; info, unmanaged instances.
"""

from __future__ import annotations

from reconciler.core.facts import ObservedState
from reconciler.drift.finding import FIX, Finding
from reconciler.drift.model import Kind, Severity
from reconciler.kinds import KINDS, find_kind, kind_of
from reconciler.kinds.base import not_at_an_instance
from reconciler.kinds.ram.attachments import address as attachment_address
from reconciler.plan.actions import Action, RefusalCode
from reconciler.plan.model import Change, Plan, Refusal
from reconciler.spec.models import Spec

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
    RefusalCode.TDE_NOT_READ: (Kind.AT_RISK, Severity.HIGH),
    RefusalCode.TDE_UNSUPPORTED_ENGINE_VERSION: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.TDE_UNSUPPORTED_STORAGE: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.TDE_READ_ONLY_NOT_READY: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.TDE_CANNOT_BE_DISABLED: (Kind.CHANGED, Severity.MEDIUM),
    RefusalCode.KMS_INSTANCE_NOT_FOUND: (Kind.AT_RISK, Severity.HIGH),
    RefusalCode.KMS_INSTANCE_NOT_READY: (Kind.AT_RISK, Severity.HIGH),
    RefusalCode.KMS_INSTANCE_KEY_QUOTA: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.KMS_INSTANCE_MISMATCH: (Kind.CHANGED, Severity.MEDIUM),
    RefusalCode.DEFAULT_KEY_LIMIT: (Kind.CHANGED, Severity.HIGH),
    RefusalCode.DEFAULT_KEY_ROTATION_NOT_PURCHASED: (Kind.CHANGED, Severity.MEDIUM),
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


def from_kinds(spec: Spec, plan: Plan, observed: ObservedState) -> list[Finding]:
    """Each kind's findings beyond the plan's changes and refusals, in apply order."""
    return [one for kind in KINDS for one in kind.drift_findings(spec, plan, observed)]


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
