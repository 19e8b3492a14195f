"""Backup sets of RDS instances: DescribeBackups and CreateBackup, as the SDK models shape them
(``Items.Backup[]`` with BackupId, DBInstanceId, BackupStatus, BackupMethod, BackupStartTime,
BackupEndTime, ExpectExpireTime, Encryption, ...; docs/emulator.md, "Backup sets").

Every set carries the disk key the instance had when the set was taken: snapshots of an
encrypted cloud disk are encrypted with the instance's key (sources: "Cloud disk encryption",
docs/real-cloud.md), so a set still needs that key after the instance moved to another one.

Emulator choices (docs/real-cloud.md, "Backups that still need a key"):
- Automatic backups: one Snapshot set a day, every 24 hours of the emulated clock after the
  instance's CreationTime (not at a wall-clock hour, so a test never depends on the hour), kept
  ``RETENTION_DAYS`` days. They are not stored: they are computed on each read from the
  instance's creation time and its key history (``key_history``, written when a key change is
  folded into the document), so advancing the clock makes them appear and expire.
- CreateBackup makes a finished Success set at once (BackupEndTime = BackupStartTime), kept
  ``RETENTION_DAYS`` days, or BackupRetentionPeriod days (7..730); -1 keeps it for ever (no
  ExpectExpireTime). Its answer is the documented BackupJobId.
- A set whose ExpectExpireTime has passed is gone: never listed again (the cloud deletes
  expired sets; the exact moment is undocumented).
- ``Encryption`` is JSON text (the SDK types it as a string; Alibaba's example is ``{}``). Its
  fields are undocumented; the emulator writes ``{"EncryptionType": "CloudDisk",
  "EncryptionKey": "<key id>"}`` for a set of an encrypted instance and ``{"EncryptionType":
  "None"}`` for one without encryption (chosen).
- A deleted instance's sets go with it (DescribeBackups of it is InvalidDBInstanceId.NotFound);
  the sets the cloud keeps after a release are not emulated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator.dispatch import RequestContext
from reconciler.emulator.rds import models, peers, rules, tde_loss

KIND = "rds_backup"
DAY = 86400.0
RETENTION_DAYS = 7
"""Automatic backup retention, Alibaba's default (BackupRetentionPeriod of DescribeBackupPolicy)."""
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
_METHODS = ("Physical", "Snapshot", "Logical")
_PAGE_SIZES = (30, 50, 100)
_FOREVER = -1


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime(_STAMP)


def _epoch(text: str) -> float:
    return datetime.strptime(text, _STAMP).replace(tzinfo=UTC).timestamp()


def encryption_text(key_id: str | None) -> str:
    """The Encryption field of a set taken with this disk key (None: not encrypted)."""
    if key_id is None:
        return json.dumps({"EncryptionType": "None"}, separators=(",", ":"))
    return json.dumps(
        {"EncryptionType": "CloudDisk", "EncryptionKey": key_id}, separators=(",", ":")
    )


def key_at(raw: dict[str, Any], moment: float) -> str | None:
    """The disk key an instance document had at `moment`: its key history (the keys it left,
    each with when), then the current key, then a pending change once it has ended."""
    for past in raw.get("key_history") or []:
        if moment < past["until"]:
            return past["key_id"]
    pending = raw.get("pending")
    if pending and moment >= pending["end"]:
        return pending["value"].get("key_id")
    return raw["encryption"].get("key_id")


def _set(
    raw: dict[str, Any],
    backup_id: str,
    start: float,
    expire: float | None,
    *,
    mode: str,
    method: str = "Snapshot",
    key_id: str | None = None,
) -> dict[str, Any]:
    """One backup set as DescribeBackups lists it."""
    item: dict[str, Any] = {
        "BackupId": backup_id,
        "DBInstanceId": raw["DBInstanceId"],
        "BackupStatus": "Success",
        "BackupMethod": method,
        "BackupMode": mode,
        "BackupInitiator": "System" if mode == "Automated" else "User",
        "BackupType": "FullBackup",
        "BackupStartTime": _iso(start),
        "BackupEndTime": _iso(start),
        "BackupSize": 0,
        "Engine": raw["Engine"],
        "EngineVersion": raw["EngineVersion"],
        "Encryption": encryption_text(key_id),
        "HostInstanceID": raw["DBInstanceId"],
        "IsAvail": 1,
        "StorageClass": "0",
        "StoreStatus": "Disabled",
        "BackupDownloadURL": "",
        "BackupIntranetDownloadURL": "",
        "MetaStatus": "",
        "Checksum": "",
        "ConsistentTime": 0,
    }
    if expire is not None:
        item["ExpectExpireTime"] = _iso(expire)
    return item


def _automatic_id(instance_id: str, day: int) -> str:
    digest = int(hashlib.sha256(f"{instance_id}:{day}".encode()).hexdigest()[:12], 16)
    return str(200_000_000 + digest % 700_000_000)


def automatic_sets(
    raw: dict[str, Any], now: float, stopped: Sequence[tuple[float, float | None]] = ()
) -> list[dict[str, Any]]:
    """The daily sets not expired at `now`, oldest first (see the module's choices); none for a
    day whose moment falls in a `stopped` period (the TDE key was lost: ``tde_loss``)."""
    created = _epoch(raw["CreationTime"])
    days = int((now - created) // DAY)
    first = max(1, days - RETENTION_DAYS + 1)
    found = []
    for day in range(first, days + 1):
        start = created + day * DAY
        expire = start + RETENTION_DAYS * DAY
        if expire > now and not tde_loss.lost_at(stopped, start):
            key_id = key_at(raw, start)
            found.append(
                _set(
                    raw,
                    _automatic_id(raw["DBInstanceId"], day),
                    start,
                    expire,
                    mode="Automated",
                    key_id=key_id,
                )
            )
    return found


def stored_sets(world: models.RdsWorld, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Manual and seeded sets not expired (the expired ones are deleted now)."""
    region, instance_id = raw["RegionId"], raw["DBInstanceId"]
    kept = []
    for doc in world.tx.list(KIND, region, where={"DBInstanceId": instance_id}):
        expire = doc.get("ExpectExpireTime")
        if expire is not None and _epoch(expire) <= world.now:
            world.tx.delete(KIND, region, doc["BackupId"])
        else:
            kept.append(doc)
    return kept


def add_set(
    world: models.RdsWorld,
    raw: dict[str, Any],
    *,
    start: float,
    retention_days: float | None,
    key_id: str | None,
    method: str = "Snapshot",
    mode: str = "Manual",
) -> dict[str, Any]:
    """Store a manual (or seeded) set; ``retention_days`` None keeps it for ever."""
    backup_id = str(100_000_000 + world.ctx.next_serial(KIND))
    expire = None if retention_days is None else start + retention_days * DAY
    item = _set(raw, backup_id, start, expire, mode=mode, method=method, key_id=key_id)
    world.tx.put(KIND, raw["RegionId"], backup_id, item)
    return item


def _raw(world: models.RdsWorld, instance_id: str) -> dict[str, Any]:
    """The stored (unsettled) document: its pending change still says when the key changed."""
    for region in (world.ctx.region, *{r for r, _ in world.tx.list_ids(models.KIND)}):
        doc = world.tx.get(models.KIND, region, instance_id)
        if doc is not None:
            return doc
    raise rules.not_found(instance_id)


def describe_backups(ctx: RequestContext) -> dict[str, Any]:
    """The instance's unexpired sets, newest first, paged (PageSize 30, 50 or 100; default 30).
    Filters: BackupId, BackupStatus, BackupMode, BackupType, StartTime/EndTime (BackupStartTime
    within, ``yyyy-MM-ddTHH:mmZ``). PageNumber, PageRecordCount and TotalRecordCount are strings,
    as the SDK types them."""
    world = models.RdsWorld(ctx)
    raw = _raw(world, ctx.required("DBInstanceId"))
    size = ctx.int_param("PageSize", 30) or 30
    if size not in _PAGE_SIZES:
        raise rules.invalid("PageSize must be 30, 50 or 100.")
    number = ctx.int_param("PageNumber", 1, lo=1) or 1
    stopped = tde_loss.lost_periods(world, raw)
    found = [*automatic_sets(raw, world.now, stopped), *stored_sets(world, raw)]
    found = [item for item in found if _wanted(ctx, item)]
    found.sort(key=lambda i: (i["BackupStartTime"], i["BackupId"]), reverse=True)
    page = found[(number - 1) * size : number * size]
    return {
        "Items": {"Backup": page},
        "PageNumber": str(number),
        "PageRecordCount": str(len(page)),
        "TotalRecordCount": str(len(found)),
        "TotalEcsSnapshotSize": 0,
    }


def _wanted(ctx: RequestContext, item: dict[str, Any]) -> bool:
    for name in ("BackupId", "BackupStatus", "BackupMode", "BackupType"):
        wanted = ctx.str_param(name)
        if wanted is not None and item[name] != wanted:
            return False
    low, high = _minute(ctx, "StartTime"), _minute(ctx, "EndTime")
    start = _epoch(item["BackupStartTime"])
    return (low is None or start >= low) and (high is None or start <= high)


def _minute(ctx: RequestContext, name: str) -> float | None:
    text = ctx.str_param(name)
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise rules.invalid(f"{name} must be yyyy-MM-ddTHH:mmZ.") from None


def create_backup(ctx: RequestContext) -> dict[str, Any]:
    """A manual set of the instance with its disk key of now (see the module's choices)."""
    world = models.RdsWorld(ctx)
    raw = _raw(world, ctx.required("DBInstanceId"))
    tde_loss.check_key_usable(world, raw)
    method = ctx.str_param("BackupMethod", "Physical") or "Physical"
    if method not in _METHODS:
        raise rules.invalid(f"BackupMethod must be one of {', '.join(_METHODS)}.")
    days = ctx.int_param("BackupRetentionPeriod", RETENTION_DAYS)
    if days != _FOREVER and not (7 <= (days or 0) <= 730):
        raise rules.invalid("BackupRetentionPeriod must be 7 to 730, or -1.")
    item = add_set(
        world,
        raw,
        start=world.now,
        retention_days=None if days == _FOREVER else days,
        key_id=key_at(raw, world.now),
        method=method,
    )
    return {"BackupJobId": item["BackupId"]}


def seed_set(world: models.RdsWorld, instance_id: str, entry: dict[str, Any]) -> None:
    """A seed's set: ``{key: alias/... | key id | service | off, taken_days_ago: 10,
    expires_in_days: 3}`` (expires_in_days absent: kept for ever)."""
    raw = _raw(world, instance_id)
    key = entry.get("key")
    key_id: str | None = None
    if key in ("service", "ServiceKey"):
        key_id = peers.service_key_id(world, raw["RegionId"])
    elif key not in (None, False, "off"):
        found = peers.find_key(world, raw["RegionId"], str(key), by_alias=True)
        if found is None:
            raise rules.invalid(f"backup key {key} is not a key of {raw['RegionId']}")
        key_id = found.key_id
    start = world.now - float(entry.get("taken_days_ago", 1)) * DAY
    expires = entry.get("expires_in_days")
    retention = None if expires is None else (world.now - start) / DAY + float(expires)
    add_set(world, raw, start=start, retention_days=retention, key_id=key_id, method="Snapshot")


ACTIONS = {"DescribeBackups": describe_backups, "CreateBackup": create_backup}
REQUIRED = {"DescribeBackups": ("DBInstanceId",), "CreateBackup": ("DBInstanceId",)}
