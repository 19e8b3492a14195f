"""KMS instances and default keys in the plan (pure; docs/real-cloud.md, "KMS instances and
default keys").

A spec key with `kms_instance` (or `defaults.kms_instance`) is created in that KMS instance;
one without is its region's default key, of which KMS keeps one per account and region. The
planner refuses what CreateKey would refuse, and warns when an instance expires. "Now" is the
observed state's `read_at` (when the reads ran), never the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.core.facts import ObservedKey, ObservedKmsInstance, ObservedState
from reconciler.plan.actions import RefusalCode
from reconciler.spec.models import KeyState, KmsKeySpec, Spec

EXPIRY_WARNING_DAYS = 30
"""An instance whose EndDate is this close to the reads is warned about (KmsInstanceExpiring)."""
CONNECTED = "Connected"

Blocker = tuple[RefusalCode, str]


def creates(spec: Spec, observed: ObservedState, name: str) -> bool:
    """Whether the plan would create the spec key (its alias absent, not pending deletion)."""
    return (
        observed.keys.get(name) is None
        and spec.kms_keys[name].state is not KeyState.PENDING_DELETION
    )


def blocker(spec: Spec, observed: ObservedState, name: str) -> Blocker | None:
    """Why the key cannot be planned where the spec puts it; None when it can."""
    key = observed.keys.get(name)
    instance_id = spec.key_kms_instance(name)
    if key is not None:
        return _existing(spec.kms_keys[name], key, instance_id)
    if not creates(spec, observed, name):
        return None
    if instance_id is not None:
        return _in_instance(spec, observed, name, instance_id)
    return _default_key(spec, observed, name)


def _existing(spec_key: KmsKeySpec, key: ObservedKey, instance_id: str | None) -> Blocker | None:
    where = key.dkms_instance_id or None
    if instance_id is not None and where != instance_id:
        found = f"in the KMS instance {where}" if where else "its region's default key"
        return (
            RefusalCode.KMS_INSTANCE_MISMATCH,
            f"{key.key_id} ({spec_key.alias}) is {found}, not in {instance_id}; a key never "
            "moves between KMS instances. Set kms_instance to where the key is, or give the "
            "spec key a new alias to create a new key in the instance",
        )
    if where is None and _turns_rotation_on(spec_key, key.rotation_enabled):
        return _rotation_refusal(spec_key)
    return None


def _turns_rotation_on(spec_key: KmsKeySpec, enabled_now: bool) -> bool:
    rotation = spec_key.rotation
    return (
        rotation is not None
        and rotation.enabled
        and not enabled_now
        and not spec_key.default_key_rotation_purchased
    )


def _rotation_refusal(spec_key: KmsKeySpec) -> Blocker:
    return (
        RefusalCode.DEFAULT_KEY_ROTATION_NOT_PURCHASED,
        f"{spec_key.alias} is a default key (no kms_instance) and the spec turns its automatic "
        "rotation on, a paid feature of the default key. Put the key in a KMS instance "
        "(kms_instance: kst-...), or purchase default-key rotation and set "
        "default_key_rotation_purchased: true",
    )


def _in_instance(
    spec: Spec, observed: ObservedState, name: str, instance_id: str
) -> Blocker | None:
    region = spec.key_region(name)
    if instance_id not in observed.kms_instances:
        return (
            RefusalCode.KMS_INSTANCE_NOT_FOUND,
            f"the KMS instance {instance_id} was not read, so nothing is known of it; plan "
            "again (observe reads every instance the spec names)",
        )
    instance = observed.kms_instances[instance_id]
    if instance is None or instance.region != region:
        where = "" if instance is None else f" (it is in {instance.region})"
        return (
            RefusalCode.KMS_INSTANCE_NOT_FOUND,
            f"no KMS instance {instance_id} exists in {region}{where}. Name an instance of "
            "the key's region (KMS console: Instance Management), or buy and enable one",
        )
    if instance.status != CONNECTED:
        return (
            RefusalCode.KMS_INSTANCE_NOT_READY,
            f"the KMS instance {instance_id} is {instance.status}, not Connected: CreateKey in it "
            "would fail. Enable the instance (KMS console) and plan again",
        )
    return _room(spec, observed, name, instance)


def _room(
    spec: Spec, observed: ObservedState, name: str, instance: ObservedKmsInstance
) -> Blocker | None:
    wanted = [
        n
        for n in sorted(spec.kms_keys)
        if spec.key_kms_instance(n) == instance.instance_id and creates(spec, observed, n)
    ]
    room = max(0, instance.key_num - instance.keys_used)
    if wanted.index(name) < room:
        return None
    return (
        RefusalCode.KMS_INSTANCE_KEY_QUOTA,
        f"the KMS instance {instance.instance_id} holds {instance.keys_used} of its "
        f"{instance.key_num} keys: room for {room}, and the plan creates {len(wanted)} in it "
        f"({', '.join(f'kms_key.{n}' for n in wanted)}; the first {room} by name are planned). "
        "Raise the instance's key quota, or put the key in another instance",
    )


def _default_key(spec: Spec, observed: ObservedState, name: str) -> Blocker | None:
    region = spec.key_region(name)
    existing = sorted(
        k.key_id
        for k in [*observed.keys.values(), *observed.keys_by_id.values()]
        if k is not None and k.region == region and not k.dkms_instance_id
    )
    earlier = [
        n
        for n in sorted(spec.kms_keys)
        if n < name
        and spec.key_region(n) == region
        and spec.key_kms_instance(n) is None
        and creates(spec, observed, n)
    ]
    if existing or earlier:
        first = existing[0] if existing else f"kms_key.{earlier[0]} (planned)"
        return (
            RefusalCode.DEFAULT_KEY_LIMIT,
            f"{region} already has its default key {first}: KMS keeps one default key per "
            "account and region, so a second key without kms_instance would be refused. Set "
            "kms_instance: kst-... (or defaults.kms_instance) to create it in a KMS instance",
        )
    if _turns_rotation_on(spec.kms_keys[name], False):
        return _rotation_refusal(spec.kms_keys[name])
    return None


# --- expiry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    instance: ObservedKmsInstance
    days_left: int
    """Whole days from the reads to EndDate; negative once expired."""

    @property
    def expired(self) -> bool:
        return self.days_left < 0


def expiring(observed: ObservedState) -> list[Expiry]:
    """The instances read whose EndDate is within EXPIRY_WARNING_DAYS of `read_at` (or past).
    Nothing without `read_at`: no "now" is guessed."""
    if observed.read_at is None:
        return []
    now = _moment(observed.read_at)
    found = []
    for instance_id in sorted(observed.kms_instances):
        instance = observed.kms_instances[instance_id]
        if instance is None or instance.end_date is None:
            continue
        left = _moment(instance.end_date) - now
        if left <= timedelta(days=EXPIRY_WARNING_DAYS):
            days = left.days if left >= timedelta(0) else -1 - (-left).days
            found.append(Expiry(instance, days))
    return found


def expiry_message(expiry: Expiry, users: list[str]) -> str:
    instance = expiry.instance
    on_keys = (
        f"; instances on its keys: {', '.join(users)}"
        if users
        else "; no instance read uses its keys"
    )
    if expiry.expired:
        return (
            f"the KMS instance {instance.instance_id} expired at {instance.end_date}: its keys "
            f"may stop serving, and the disks encrypted with them cannot be decrypted{on_keys}. "
            "Renew the instance now"
        )
    return (
        f"the KMS instance {instance.instance_id} expires at {instance.end_date} (in "
        f"{expiry.days_left} days){on_keys}. Renew it before then"
    )


def users_of_instance(observed: ObservedState, instance_id: str) -> list[str]:
    """Instances read whose disks use a key of the KMS instance (keys known to the reads)."""
    keys = {
        k.key_id
        for k in [*observed.keys.values(), *observed.keys_by_id.values()]
        if k is not None and k.dkms_instance_id == instance_id
    }
    return sorted(
        i.instance_id
        for i in observed.instances.values()
        if i.encryption is not None and i.encryption.enabled and i.encryption.key_id in keys
    )


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
