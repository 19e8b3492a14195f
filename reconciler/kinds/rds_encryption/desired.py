"""Where the spec wants an instance's encryption, and where it is now: the value of
ModifyDBInstanceConfig's ConfigValue, with everything that makes the wanted key unusable for
this instance (KeyRegionMismatch, KeyNotUsable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.core.facts import ObservedInstance, ObservedState, ObservedTask
from reconciler.core.rules import carries_rds_tag, usable_by_rds
from reconciler.kinds.rds_encryption import guards
from reconciler.plan.actions import (
    ENCRYPTION_DISABLED,
    KNOWN_AFTER_APPLY,
    SERVICE_KEY_CONFIG_VALUE,
    RefusalCode,
)
from reconciler.plan.context import PlanContext
from reconciler.plan.inputs import KeyOutcome
from reconciler.spec.models import (
    RDS_ENCRYPTION_TAG,
    SERVICE_KEY,
    KeyRef,
    is_literal_key,
    key_arn,
    literal_key_id,
)


@dataclass(frozen=True)
class DesiredKey:
    """Where the spec wants an instance's encryption."""

    value: str
    """`disabled`, `ServiceKey`, a key id, or `(known after apply)` for a key being created."""
    key: KeyOutcome | None = None
    """The spec key, when the reference names one."""
    problems: tuple[guards.Finding, ...] = ()

    @property
    def is_cmk(self) -> bool:
        return self.value not in (ENCRYPTION_DISABLED, SERVICE_KEY_CONFIG_VALUE)


def current_value(ctx: PlanContext, instance: ObservedInstance) -> str:
    """`disabled`, `ServiceKey` (recognised by type or by the id of alias/acs/rds) or a key id."""
    return encryption_value(ctx.observed, instance)


def encryption_value(observed: ObservedState, instance: ObservedInstance) -> str:
    """current_value() of an observation, without a plan being made (saved plans)."""
    enc = instance.encryption
    # The instance planner refuses a managed instance whose encryption was not read.
    if enc is None or not enc.enabled:
        return ENCRYPTION_DISABLED
    if observed.on_service_key(instance):
        return SERVICE_KEY_CONFIG_VALUE
    return str(enc.key_id)  # not None: an encryption without a key id is the service key


def describe_value(value: str, key_name: str | None = None) -> str:
    """An encryption value as plans and drift reports name it: off, the service key, a spec
    key by name (with its id, or as created by this plan), or a bare key id."""
    if value == ENCRYPTION_DISABLED:
        return "off"
    if value == SERVICE_KEY_CONFIG_VALUE:
        return "the service key alias/acs/rds"
    if key_name is not None and value == KNOWN_AFTER_APPLY:
        return f"kms_key.{key_name} (created by this plan)"
    if key_name is not None:
        return f"kms_key.{key_name} ({value})"
    return f"key {value}"


def pending_encryption_task(ctx: PlanContext, instance_id: str) -> ObservedTask | None:
    return pending_task(ctx.observed, instance_id)


def pending_task(observed: ObservedState, instance_id: str) -> ObservedTask | None:
    """The encryption change running or scheduled for an instance, if the task center lists
    one: one whose target was not read first (it may be anything), else the latest to start,
    should there be several."""
    found = [
        t
        for t in observed.tasks
        if t.instance_id == instance_id and (t.encryption_target is not None or t.target_unread)
    ]
    return max(found, key=lambda t: (t.target_unread, t.start_time or "", t.task_id), default=None)


def uses_key(instance: ObservedInstance, key_id: str | None) -> bool:
    """True when the instance's disks are encrypted with this KMS key. Decided by the key id
    alone, never by the key type label, so that KeyInUse, the move-off order and InstanceLocked
    agree on which instances a key change touches."""
    enc = instance.encryption
    return key_id is not None and enc is not None and enc.enabled and enc.key_id == key_id


def spec_key_in_use(
    instance: ObservedInstance, keys: Mapping[str, KeyOutcome]
) -> KeyOutcome | None:
    return next((k for k in keys.values() if uses_key(instance, k.key_id)), None)


def _region_mismatch(key: str, key_region: str, region: str) -> guards.Finding:
    return (
        RefusalCode.KEY_REGION_MISMATCH,
        f"{key} is in {key_region} but the instance is in {region}; KMS keys are regional. "
        f"Use a key of {region}",
    )


def _spec_key(ctx: PlanContext, outcome: KeyOutcome, region: str) -> DesiredKey:
    value = outcome.key_id or KNOWN_AFTER_APPLY
    problems: list[guards.Finding] = []
    if outcome.region != region:
        problems.append(_region_mismatch(f"kms_key.{outcome.name}", outcome.region, region))
    if not usable_by_rds(outcome.desired_state):
        problems.append(
            (
                RefusalCode.KEY_NOT_USABLE,
                f"the spec sets kms_key.{outcome.name} to state {outcome.desired_state.value}, "
                "so RDS cannot use it. Set its state: enabled, or pick another key",
            )
        )
    elif outcome.refused:
        problems.append(
            (
                RefusalCode.KEY_NOT_USABLE,
                f"kms_key.{outcome.name} is refused itself (see its refusal), so RDS cannot "
                "use it. Fix that first, or pick another key",
            )
        )
    return DesiredKey(value, outcome, tuple(problems))


def _own_account(ctx: PlanContext, ref: str) -> guards.Finding | None:
    """A key ARN of another account than the credentials' (known from the cloud): RDS
    encrypts only with a key of the instance's own account."""
    arn, account = key_arn(ref), ctx.observed.account_id
    if arn is None or account is None or arn.account == account:
        return None
    return (
        RefusalCode.KEY_NOT_USABLE,
        f"the key ARN {ref} belongs to account {arn.account}, but the credentials belong to "
        f"account {account}: RDS encrypts only with a key of the instance's own account "
        "(cross-account keys are not supported). Use a key of this account",
    )


def _literal_key(ctx: PlanContext, ref: str, region: str) -> DesiredKey:
    """A key named by id, ARN or alias (read from KMS by that name): the wanted value is the
    id KMS answered, so every spelling of the instance's current key plans no change."""
    if (foreign := _own_account(ctx, ref)) is not None:
        return DesiredKey(ref, None, (foreign,))  # never "already as wanted": refused
    key = ctx.observed.keys_by_id.get(ref)
    key_id = key.key_id if key is not None else ref
    if key is None:
        return DesiredKey(
            key_id,
            None,
            (
                (
                    RefusalCode.KEY_NOT_USABLE,
                    f"no KMS key {key_id} was found in {region}. Check the id, or declare "
                    "the key under kms_keys and refer to it by name",
                ),
            ),
        )
    problems: list[guards.Finding] = []
    if key.region != region:
        problems.append(_region_mismatch(f"key {key_id}", key.region, region))
    if key.state != "Enabled":
        problems.append(
            (
                RefusalCode.KEY_NOT_USABLE,
                f"key {key_id} is {key.state}. Enable it (or declare it under kms_keys "
                "with state: enabled) before RDS can use it",
            )
        )
    tag, tag_value = RDS_ENCRYPTION_TAG
    if not carries_rds_tag(key.tags):
        problems.append(
            (
                RefusalCode.KEY_NOT_USABLE,
                f"key {key_id} lacks the tag {tag}={tag_value}, without which RDS may "
                "not use it. Tag it, or declare it under kms_keys so the plan tags it",
            )
        )
    return DesiredKey(key_id, None, tuple(problems))


def desired_value(ctx: PlanContext, instance_id: str, keys: Mapping[str, KeyOutcome]) -> DesiredKey:
    encryption = ctx.spec.instances[instance_id].encryption
    return desired_key(ctx, encryption, ctx.spec.instance_region(instance_id), keys)


def desired_key(
    ctx: PlanContext, wanted: object, region: str, keys: Mapping[str, KeyOutcome]
) -> DesiredKey:
    """A spec's key reference (`encryption` or `tde`) for an instance of `region`, with every
    rule that makes the key unusable there (shared by disk encryption and TDE); anything but a
    KeyRef is `disabled`."""
    if not isinstance(wanted, KeyRef):
        return DesiredKey(ENCRYPTION_DISABLED)
    ref = wanted.key
    if ref == SERVICE_KEY or ref == ctx.observed.service_keys.get(region):
        return DesiredKey(SERVICE_KEY_CONFIG_VALUE)
    if ref in keys:
        return _spec_key(ctx, keys[ref], region)
    key_id = literal_key_id(ref)
    by_id = next((k for k in keys.values() if k.key_id is not None and k.key_id == key_id), None)
    if by_id is not None and _own_account(ctx, ref) is None:
        return _spec_key(ctx, by_id, region)
    if is_literal_key(ref):
        return _literal_key(ctx, ref, region)
    return DesiredKey(
        ref,
        None,
        (
            (
                RefusalCode.KEY_NOT_USABLE,
                f"{ref!r} is neither `service`, a name under kms_keys, nor a KMS key id",
            ),
        ),
    )
