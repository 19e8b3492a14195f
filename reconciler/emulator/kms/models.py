"""KMS state and rules (no HTTP). Keys and aliases are regional documents in the store.

Functions other services call (all take the RequestContext of the current request, so they
read inside its transaction and see the emulated clock):

    find_key(ctx, key_id_or_alias_or_arn, region=None) -> KeyRecord | None
        A key by id, `alias/...` or ARN; None if absent. A PendingDeletion key whose delete
        date has passed on the emulated clock is gone (purged here, aliases too).
        KeyRecord.state is Enabled | Disabled | PendingDeletion | PendingImport, .tags a dict.
    key_tags(ctx, key_id, region=None) -> dict[str, str]   ({} for an unknown key)
    service_key_id(ctx, region=None) -> str                the key id behind alias/acs/rds
    aliases_of(ctx, key_id, region=None) -> list[str]

Deviations and guesses (the docs are silent): the service key `alias/acs/rds` is created
lazily the first time a region is touched, with a stable UUID-shaped id per (account, region),
Creator "Rds", CreatorType "Service"; every write on it is 403 `Forbidden.NoPermission`.
ScheduleKeyDeletion under deletion protection is 403 `Forbidden.NoPermission`. A new alias
under `alias/acs/` is 400 `Unsupported.Alias`. CancelKeyDeletion leaves the key Enabled. User
key ids have the KMS 3.0 shape `key-` + 24 lower-case letters and digits: a region code
(`hzz` for cn-hangzhou like the cloud's `key-hzz6...`; the others chosen) and 21 characters
made from the store's key counter, so ids are the same on every fresh run and unique within a
store. Key versions are UUIDs derived from the key id.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reconciler.emulator.clock import iso, parse_iso
from reconciler.emulator.dispatch import RequestContext, stable_token, stable_uuid
from reconciler.emulator.errors import ApiError

KEY_KIND, ALIAS_KIND = "kms_key", "kms_alias"
SERVICE_ALIAS = "alias/acs/rds"
RESERVED_ALIAS_PREFIX = "alias/acs/"
ENABLED, DISABLED, PENDING_DELETION, PENDING_IMPORT = (
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingImport",
)
MAX_USER_KEYS_PER_REGION, MAX_ALIASES_PER_REGION = 200, 300
ALIAS_PATTERN = re.compile(r"^alias/[A-Za-z0-9_/-]{1,255}$")
KEY_SPECS = (
    "Aliyun_AES_256",
    "Aliyun_AES_128",
    "Aliyun_AES_192",
    "Aliyun_SM4",
    "RSA_2048",
    "RSA_3072",
    "EC_P256",
    "EC_P256K",
    "EC_SM2",
)
_SERVICE_KEY_NAMESPACE = uuid.UUID("6f1c2b1e-5d2a-4c55-9f0e-2b8c7a0e4d11")
# The first characters of key ids per region (cn-hangzhou's `hzz` is seen in real ids; chosen).
_REGION_CODES = {"cn-hangzhou": "hzz", "cn-shanghai": "shh", "cn-beijing": "bjj"}


@dataclass
class KeyRecord:
    key_id: str
    region: str
    arn: str
    state: str
    key_spec: str = "Aliyun_AES_256"
    key_usage: str = "ENCRYPT/DECRYPT"
    origin: str = "Aliyun_KMS"
    protection_level: str = "SOFTWARE"
    creator: str = ""
    creator_type: str = "User"
    creation_date: str = ""
    description: str = ""
    delete_date: str = ""
    deletion_protection: bool = False
    deletion_protection_description: str = ""
    rotation_enabled: bool = False
    rotation_interval_seconds: int = 0
    rotation_start: str = ""
    last_rotation_date: str = ""  # of rotations before the current policy (kept on a change)
    material_expire_time: str = ""
    primary_key_version: str = ""
    dkms_instance_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    unusable_periods: list[list[float | None]] = field(default_factory=list)
    """``[since, until]`` (epoch seconds; ``until`` None while it lasts) of each time the key
    was Disabled or PendingDeletion: RDS reads it for what a TDE key's loss stopped
    (rds/tde.py, the lock effects)."""

    @property
    def is_service_key(self) -> bool:
        return self.creator_type == "Service"

    def mark_usable(self, usable: bool, now: float) -> None:
        """Open (``usable`` False) or close the current unusable period at ``now``."""
        periods = [list(p) for p in self.unusable_periods]
        open_now = bool(periods) and periods[-1][1] is None
        if not usable and not open_now:
            periods.append([now, None])
        elif usable and open_now:
            periods[-1][1] = now
        self.unusable_periods = periods

    def to_doc(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> KeyRecord:
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def state_error(code: str) -> ApiError:
    messages = {
        "Rejected.StateModifiedFailed": "Keystate modified failed.",
        "Rejected.Disabled": "The key is disabled.",
        "Rejected.PendingDeletion": "The key is pending deletion.",
        "Rejected.PendingImport": "The key is pending import of key material.",
    }
    return ApiError(409, code, messages[code])


def no_permission(detail: str) -> ApiError:
    return ApiError(
        403, "Forbidden.NoPermission", f"This operation is forbidden by permission system: {detail}"
    )


def key_not_found() -> ApiError:
    return ApiError(404, "Forbidden.KeyNotFound", "The specified Key is not found.")


def alias_not_found() -> ApiError:
    return ApiError(404, "Forbidden.AliasNotFound", "The specified Alias is not found.")


def _key_arn(region: str, account: str, key_id: str) -> str:
    return f"acs:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, alias: str) -> str:
    return f"acs:kms:{region}:{account}:{alias}"


def service_key_id(ctx: RequestContext, region: str | None = None) -> str:
    return ensure_service_key(ctx, region or ctx.region).key_id


@functools.lru_cache(maxsize=256)
def _service_key_id(account_id: str, region: str) -> str:
    return str(uuid.uuid5(_SERVICE_KEY_NAMESPACE, f"{account_id}:{region}"))


def ensure_service_key(ctx: RequestContext, region: str) -> KeyRecord:
    """The RDS service key of a region, created on first touch (stable id per region)."""
    key_id = _service_key_id(ctx.account_id, region)
    doc = ctx.tx.get(KEY_KIND, region, key_id)
    if doc is not None:
        return KeyRecord.from_doc(doc)
    record = KeyRecord(
        key_id=key_id,
        region=region,
        arn=_key_arn(region, ctx.account_id, key_id),
        state=ENABLED,
        creator="Rds",
        creator_type="Service",
        creation_date=iso(ctx.now()),
        primary_key_version=key_version_id(key_id),
        description="Default master key that protects my RDS data when no other key is defined",
    )
    ctx.tx.put(KEY_KIND, region, key_id, record.to_doc())
    ctx.tx.put(ALIAS_KIND, region, SERVICE_ALIAS, {"AliasName": SERVICE_ALIAS, "KeyId": key_id})
    return record


def _service_key_in_place(ctx: RequestContext, region: str) -> None:
    """`ensure_service_key` once until the store changes (store.Derived): a read of a key
    then costs no read of the service key's document."""
    ctx.tx.derived(("service_key", region), lambda: ensure_service_key(ctx, region).key_id)


def _expired(record: KeyRecord, now: datetime) -> bool:
    return record.state == PENDING_DELETION and parse_iso(record.delete_date) <= now


DELETED_KIND = "kms_deleted_key"


def _purge(ctx: RequestContext, record: KeyRecord) -> None:
    """The key is gone from KMS; a tombstone keeps what RDS still reports about a key an
    instance used (DescribeDBInstanceEncryptionKey names it with its details)."""
    ctx.tx.put(DELETED_KIND, record.region, record.key_id, record.to_doc())
    ctx.tx.delete(KEY_KIND, record.region, record.key_id)
    for alias in aliases_of(ctx, record.key_id, record.region):
        ctx.tx.delete(ALIAS_KIND, record.region, alias)


def _load(ctx: RequestContext, region: str, key_id: str) -> KeyRecord | None:
    doc = ctx.tx.get(KEY_KIND, region, key_id)
    if doc is None:
        return None
    record = KeyRecord.from_doc(doc)
    if _expired(record, ctx.now()):
        _purge(ctx, record)
        return None
    return record


def find_key(
    ctx: RequestContext, key_id_or_alias: str, region: str | None = None
) -> KeyRecord | None:
    region = region or ctx.region
    _service_key_in_place(ctx, region)
    ref = key_id_or_alias
    if ref.startswith("acs:kms:"):  # an ARN: acs:kms:<region>:<uid>:key/<id> or :alias/<name>
        parts = ref.split(":", 4)
        if len(parts) != 5:
            return None
        region, ref = parts[2], parts[4]
        ref = ref[len("key/") :] if ref.startswith("key/") else ref
    if ref.startswith("alias/"):
        alias = ctx.tx.get(ALIAS_KIND, region, ref)
        return None if alias is None else _load(ctx, region, alias["KeyId"])
    return _load(ctx, region, ref)


def require_key(ctx: RequestContext, key_ref: str) -> KeyRecord:
    record = find_key(ctx, key_ref)
    if record is None:
        raise alias_not_found() if key_ref.startswith("alias/") else key_not_found()
    return record


def require_user_key(ctx: RequestContext, key_ref: str, operation: str) -> KeyRecord:
    """A key the user may change: the service key is read-only."""
    record = require_key(ctx, key_ref)
    if record.is_service_key:
        raise no_permission(f"{operation} is not allowed on a service key.")
    return record


def deleted_key(ctx: RequestContext, key_id: str, region: str) -> KeyRecord | None:
    """A key deleted from KMS (its record as it was when deleted), or None."""
    doc = ctx.tx.get(DELETED_KIND, region, key_id)
    return None if doc is None else KeyRecord.from_doc(doc)


def save(ctx: RequestContext, record: KeyRecord) -> None:
    ctx.tx.put(KEY_KIND, record.region, record.key_id, record.to_doc())


def key_tags(ctx: RequestContext, key_id: str, region: str | None = None) -> dict[str, str]:
    record = find_key(ctx, key_id, region)
    return {} if record is None else dict(record.tags)


def aliases_of(ctx: RequestContext, key_id: str, region: str | None = None) -> list[str]:
    return [name for name, target in _aliases(ctx, region or ctx.region) if target == key_id]


def _aliases(ctx: RequestContext, region: str) -> tuple[tuple[str, str], ...]:
    """(alias, key id) of every alias of ``region`` in creation order, read once until the
    store changes (store.Derived)."""
    return ctx.tx.derived(
        ("aliases", region),
        lambda: tuple((doc["AliasName"], doc["KeyId"]) for doc in ctx.tx.list(ALIAS_KIND, region)),
    )


def live_keys(ctx: RequestContext, region: str) -> list[KeyRecord]:
    ensure_service_key(ctx, region)
    now, alive = ctx.now(), []
    for doc in ctx.tx.list(KEY_KIND, region):
        record = KeyRecord.from_doc(doc)
        if _expired(record, now):
            _purge(ctx, record)
        else:
            alive.append(record)
    return alive


def _region_code(region: str) -> str:
    if region in _REGION_CODES:
        return _REGION_CODES[region]
    letters = "".join(c for c in region.split("-", 1)[-1] if c.isalnum()).lower()
    return (letters + "xxx")[:3]


def new_key_id(ctx: RequestContext, region: str) -> str:
    """`key-` + region code + 21 characters from the store's key counter (never random)."""
    while True:
        serial = ctx.next_serial("kms_key")
        key_id = "key-" + _region_code(region) + stable_token(serial, 21, ctx.account_id)
        if ctx.tx.get(KEY_KIND, region, key_id) is None:  # an id of an older, random scheme
            return key_id


def key_version_id(key_id: str) -> str:
    """The id of a key's first version (a UUID, stable for the key)."""
    return stable_uuid("kms-key-version", key_id, "1")


def create_key(ctx: RequestContext, record: KeyRecord) -> KeyRecord:
    users = [k for k in live_keys(ctx, record.region) if not k.is_service_key]
    if len(users) >= MAX_USER_KEYS_PER_REGION:
        raise ApiError(
            400,
            "Rejected.LimitExceeded",
            f"The number of keys exceeds the limit of {MAX_USER_KEYS_PER_REGION}.",
        )
    save(ctx, record)
    return record


def rotation_view(record: KeyRecord, now: datetime) -> dict[str, str]:
    """AutomaticRotation / LastRotationDate / NextRotationDate as DescribeKey shows them.
    Rotations happen lazily: the dates are derived from the emulated clock."""
    # LastRotationDate: "For a new CMK, ... the time when the initial version of the CMK was
    # generated" (SDK DescribeKeyResponseBody), so it is always there.
    last = record.last_rotation_date or record.creation_date
    if not record.rotation_enabled:
        return {"AutomaticRotation": "Disabled", "LastRotationDate": last}
    interval = timedelta(seconds=record.rotation_interval_seconds)
    start = parse_iso(record.rotation_start)
    done = max(0, int((now - start) / interval))
    return {
        "AutomaticRotation": "Enabled" if record.state == ENABLED else "Suspended",
        "RotationInterval": f"{record.rotation_interval_seconds}s",
        "NextRotationDate": iso(start + (done + 1) * interval),
        "LastRotationDate": iso(start + done * interval) if done else last,
    }


def parse_rotation_interval(text: str) -> int:
    """`604800s` or `7d`; 7 to 730 days."""
    match = re.fullmatch(r"(\d+)([sd])", text.strip())
    if not match:
        raise ApiError(
            400,
            "InvalidParameter",
            f"The specified parameter RotationInterval is not valid: {text!r}.",
        )
    seconds = int(match[1]) * (86400 if match[2] == "d" else 1)
    if not 7 * 86400 <= seconds <= 730 * 86400:
        raise ApiError(
            400,
            "InvalidParameter",
            "The specified parameter RotationInterval is not valid: 7 to 730 days.",
        )
    return seconds


def key_metadata(record: KeyRecord, now: datetime) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "KeyId": record.key_id,
        "Arn": record.arn,
        "KeyState": record.state,
        "KeySpec": record.key_spec,
        "KeyUsage": record.key_usage,
        "Origin": record.origin,
        "ProtectionLevel": record.protection_level,
        "Creator": record.creator,
        "CreationDate": record.creation_date,
        "Description": record.description,
        "DeletionProtection": "Enabled" if record.deletion_protection else "Disabled",
        "PrimaryKeyVersion": record.primary_key_version,
        "DKMSInstanceId": record.dkms_instance_id,
        "MaterialExpireTime": record.material_expire_time,
    }
    if record.deletion_protection:
        meta["DeletionProtectionDescription"] = record.deletion_protection_description
    if record.state == PENDING_DELETION:
        meta["DeleteDate"] = record.delete_date
    meta.update(rotation_view(record, now))
    return meta


def parse_tags(value: Any) -> dict[str, str]:
    """KMS `Tags`: a JSON array of {"TagKey", "TagValue"}."""
    if not isinstance(value, list) or not value:
        raise ApiError(400, "InvalidParameter", "The specified parameter Tags is not valid.")
    tags: dict[str, str] = {}
    for item in value:
        if not isinstance(item, dict) or not str(item.get("TagKey", "")).strip():
            raise ApiError(
                400,
                "InvalidParameter",
                "The specified parameter Tags is not valid: each tag needs a TagKey.",
            )
        tags[str(item["TagKey"])] = str(item.get("TagValue", ""))
    return tags


def parse_tag_keys(text: str) -> list[str]:
    """KMS `TagKeys`: a JSON array or a comma-separated list."""
    stripped = text.strip()
    if stripped.startswith("["):
        import json

        try:
            keys = json.loads(stripped)
        except ValueError:
            raise ApiError(
                400, "InvalidParameter", "The specified parameter TagKeys is not valid."
            ) from None
        if not isinstance(keys, list):
            raise ApiError(400, "InvalidParameter", "The specified parameter TagKeys is not valid.")
        return [str(k) for k in keys]
    return [k.strip() for k in stripped.split(",") if k.strip()]
