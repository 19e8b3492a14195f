"""RDS reads (2014-08-15) -> our models. The only module that touches RDS SDK classes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reconciler.cloud.answers import absent, reading
from reconciler.cloud.clients import CloudClients
from reconciler.core.facts import (
    ObservedBackup,
    ObservedEncryption,
    ObservedInstance,
    ObservedKeyUser,
    ObservedTask,
    ObservedTde,
    class_type_from_code,
)
from reconciler.core.ops import Op
from reconciler.core.rules import (
    CMK_TYPE,
    DISK_USE,
    ENCRYPTION_DISABLED,
    KEY_USES,
    SERVICE_KEY_TYPE,
    key_type_of,
)
from reconciler.errors import PermanentError

PAGE_SIZE = 100
ENGINE = "PostgreSQL"
INSTANCE_ABSENT = ("InvalidDBInstanceId.NotFound",)
"""The documented answer for an instance id that does not exist."""


def _models() -> Any:
    from alibabacloud_rds20140815 import models

    return models


def _answer(clients: CloudClients, region: str, action: str, method: str, request: Any) -> dict:
    """Call one RDS read through the shared road (retry, rate limit, count); its body as wire
    names. Errors propagate for the caller's `reading` block to label."""
    response = clients.call("rds", region, action, lambda c: getattr(c, method)(request))
    return response.body.to_map() or {}


@dataclass(frozen=True)
class InstancePage:
    items: list[dict[str, Any]]
    total: int


def list_instances(
    clients: CloudClients, region: str, page: int, *, all_engines: bool = False
) -> InstancePage:
    """One page (100 a page) of the PostgreSQL instances of a region, or of every engine's
    (a MySQL or SQL Server instance may use a KMS key too, and a disabled key locks it)."""
    request = _models().DescribeDBInstancesRequest(
        region_id=region,
        engine=None if all_engines else ENGINE,
        page_size=PAGE_SIZE,
        page_number=page,
        instance_level=1,  # items carry Category only with InstanceLevel=1 (documented)
    )
    with reading("rds:DescribeDBInstances", f"{region} page {page}"):
        body = _answer(clients, region, "DescribeDBInstances", "describe_dbinstances", request)
        items = _instance_items(body)
        total = int(body["TotalRecordCount"])
        if total < 0:
            raise ValueError(f"TotalRecordCount {total}")
        return InstancePage(items=items, total=total)


def _instance_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The DBInstance list; every item must carry its id (an item without one cannot be
    matched to the spec, so the page cannot be trusted)."""
    items = (body["Items"] or {}).get("DBInstance") or []  # no Items: not "no instance"
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and i.get("DBInstanceId") for i in items
    ):
        raise ValueError("an item of the instance list has no DBInstanceId")
    return items


def find_instance(clients: CloudClients, region: str, instance_id: str) -> dict[str, Any] | None:
    """Look one instance up by id, any engine (a declared instance missing from the PostgreSQL
    list may exist with another engine, which is a different refusal than not found)."""
    request = _models().DescribeDBInstancesRequest(
        region_id=region, dbinstance_id=instance_id, instance_level=1
    )
    with reading("rds:DescribeDBInstances", instance_id):
        try:
            body = _answer(clients, region, "DescribeDBInstances", "describe_dbinstances", request)
        except PermanentError as error:
            if absent(error, *INSTANCE_ABSENT):
                return None
            raise
        items = _instance_items(body)
        return next((i for i in items if i["DBInstanceId"] == instance_id), None)


def attribute(clients: CloudClients, region: str, instance_id: str) -> dict[str, Any]:
    """DescribeDBInstanceAttribute: carries DBInstanceClassType and MaintainTime, which the
    list does not. The instance was listed, so any error (not found included) stops the plan."""
    request = _models().DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
    with reading("rds:DescribeDBInstanceAttribute", instance_id):
        body = _answer(
            clients, region, "DescribeDBInstanceAttribute", "describe_dbinstance_attribute", request
        )
        items = (body["Items"] or {}).get("DBInstanceAttribute") or []
        found = [i for i in items if isinstance(i, dict) and i.get("DBInstanceId") == instance_id]
        if len(found) != 1:
            raise ValueError(f"{len(found)} attribute records for the instance")
        return found[0]


def encryption(
    clients: CloudClients, region: str, instance_id: str, service_key_id: str | None
) -> ObservedEncryption:
    """Disk encryption of one instance.

    Off answers success with an empty EncryptionKey (docs/real-cloud.md, RDS:
    DescribeDBInstanceEncryptionKey); on the service key it answers that key's id. Every error
    stops the plan: a failed read is never "encryption off" (an instance that cannot say is
    refused, not guessed)."""
    request = _models().DescribeDBInstanceEncryptionKeyRequest(
        dbinstance_id=instance_id, region_id=region
    )
    with reading("rds:DescribeDBInstanceEncryptionKey", instance_id):
        body = _answer(
            clients,
            region,
            "DescribeDBInstanceEncryptionKey",
            "describe_dbinstance_encryption_key",
            request,
        )
        return encryption_from_body(body, service_key_id)


def encryption_from_body(body: dict[str, Any], service_key_id: str | None) -> ObservedEncryption:
    """Disk encryption from a DescribeDBInstanceEncryptionKey answer (docs/real-cloud.md, "TDE
    and the key list"). The disk's key is the `EncryptionKeyList` entry whose `UsedBy` is
    `DiskEncryption`; a `TDE` entry never makes the disk encrypted.

    Off is exactly: a successful answer (with a `RequestId`) whose list, absent or empty or
    only of `TDE` entries, has no `DiskEncryption` entry, and whose top-level `EncryptionKey`
    is empty, absent, or a key the list gives to TDE. Everything that cannot be attributed
    raises (the caller's `reading` names the instance; the plan stops): a list that is not a
    list, an entry without its key or with a `UsedBy` not documented (missing included), two
    `DiskEncryption` entries, a top-level key no entry gives a use."""
    if not body.get("RequestId"):
        raise ValueError("not an answer of the API (no RequestId)")
    top = body.get("EncryptionKey") or None
    if top is not None and not isinstance(top, str):
        raise TypeError("EncryptionKey is not a string")
    entries = _key_uses(body.get("EncryptionKeyList"))
    if top is not None and top not in {e["EncryptionKey"] for e in entries}:
        raise ValueError(f"EncryptionKey {top} has no EncryptionKeyList entry saying its use")
    disk = [e for e in entries if e["UsedBy"] == DISK_USE]
    if len(disk) > 1:
        raise ValueError(f"{len(disk)} EncryptionKeyList entries used by DiskEncryption")
    if not disk:
        return ObservedEncryption(enabled=False)
    key_id = disk[0]["EncryptionKey"]
    key_type = disk[0].get("KeyType")
    if key_type not in (SERVICE_KEY_TYPE, CMK_TYPE):
        # Not said by the answer: decided by comparing with alias/acs/rds's id when known,
        # else left None for the caller to settle once it knows that id.
        key_type = None if service_key_id is None else key_type_of(key_id, service_key_id)
    return ObservedEncryption(enabled=True, key_id=key_id, key_type=key_type)


def _key_uses(listed: Any) -> list[dict[str, Any]]:
    """The entries of `EncryptionKeyList`, each with a key id and a documented `UsedBy`."""
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise TypeError("EncryptionKeyList is not a list")
    for entry in listed:
        if not isinstance(entry, dict):
            raise TypeError("an EncryptionKeyList entry is not an object")
        if not entry.get("EncryptionKey") or not isinstance(entry["EncryptionKey"], str):
            raise ValueError("an EncryptionKeyList entry has no EncryptionKey")
        if entry.get("UsedBy") not in KEY_USES:
            raise ValueError(
                f"EncryptionKeyList entry {entry['EncryptionKey']} has UsedBy "
                f"{entry.get('UsedBy')!r}, not one of {', '.join(KEY_USES)}"
            )
    return listed


def instance_from_item(
    item: dict[str, Any],
    region: str,
    *,
    managed: bool,
    attributes: dict[str, Any] | None = None,
    encryption: ObservedEncryption | None = None,
    extra: dict[str, Any] | None = None,
) -> ObservedInstance:
    """One DescribeDBInstances item (plus the attribute answer where read) as our model;
    `extra`: fields another kind's reads found (kinds/rds_tde/read.py: TDE, kernel version,
    read-only instances)."""
    merged = {**item, **(attributes or {})}
    return ObservedInstance(
        instance_id=merged["DBInstanceId"],
        region=merged.get("RegionId") or region,
        engine=merged.get("Engine") or "",
        engine_version=merged.get("EngineVersion") or "",
        category=merged.get("Category") or "",
        class_code=merged.get("DBInstanceClass") or "",
        class_type=merged.get("DBInstanceClassType")
        or class_type_from_code(str(merged.get("DBInstanceClass") or "")),
        storage_type=merged.get("DBInstanceStorageType") or "",
        status=merged.get("DBInstanceStatus") or "",
        lock_mode=merged.get("LockMode") or "Unlock",
        maintain_time=merged.get("MaintainTime") or None,
        managed=managed,
        encryption=encryption,
        **(extra or {}),
    )


KEY_USER_FIELDS = ("DBInstanceName", "Engine", "KeyUsedBy", "Status")


def key_users(
    clients: CloudClients, region: str, key_id: str, account_id: str | None = None
) -> list[ObservedKeyUser]:
    """DescribeKmsAssociateResources: the cloud's own census of a key's users, every engine,
    disk encryption and TDE, including instances switching to the key or scheduled to.
    `account_id`: the key's account (KmsResourceUser, documented as required)."""
    request = _models().DescribeKmsAssociateResourcesRequest(
        region_id=region,
        kms_resource_id=key_id,
        kms_resource_type="key",
        kms_resource_region_id=region,
        kms_resource_user=account_id,
    )
    with reading("rds:DescribeKmsAssociateResources", key_id):
        body = _answer(
            clients,
            region,
            "DescribeKmsAssociateResources",
            "describe_kms_associate_resources",
            request,
        )
        if not body.get("RequestId"):
            raise ValueError("not an answer of the API (no RequestId)")
        listed = body.get("AssociateDBInstances") or []
        if not isinstance(listed, list):
            raise TypeError("AssociateDBInstances is not a list")
        users = [
            ObservedKeyUser(
                instance_id=str(item["DBInstanceName"]),
                engine=str(item.get("Engine") or ""),
                used_by=str(item.get("KeyUsedBy") or ""),
                status=str(item.get("Status") or ""),
            )
            for item in listed
        ]
        if users and str(body.get("AssociateStatus")).lower() == "false":
            raise ValueError("AssociateStatus false with associated instances listed")
        return sorted(users, key=lambda u: u.instance_id)


PENDING_TASK_STATUSES = ("Scheduled", "Running", "Waiting")
"""DescribeHistoryTasks statuses of a change not finished yet."""
TASK_PAGE_SIZE = 100
TASK_WINDOW = timedelta(days=30)
"""How far back and ahead tasks are asked for: the API looks back at most 30 days, and a
change scheduled for a maintenance window starts within a day or two."""


@dataclass(frozen=True)
class TaskPage:
    tasks: list[ObservedTask]
    total: int


def pending_tasks(clients: CloudClients, region: str, page: int, now: datetime) -> TaskPage:
    """One page of the region's tasks not finished yet (task center, DescribeHistoryTasks)."""
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    request = _models().DescribeHistoryTasksRequest(
        region_id=region,
        status=",".join(PENDING_TASK_STATUSES),
        instance_type="Instance",
        from_start_time=(now - TASK_WINDOW).strftime(stamp),
        to_start_time=(now + TASK_WINDOW).strftime(stamp),
        page_number=page,
        page_size=TASK_PAGE_SIZE,
    )
    with reading("rds:DescribeHistoryTasks", f"{region} page {page}"):
        body = _answer(clients, region, "DescribeHistoryTasks", "describe_history_tasks", request)
        total = int(body["TotalCount"])
        # An empty task center may leave Items out; a count of tasks without them is broken.
        items = body["Items"] if total or "Items" in body else []
        if not isinstance(items, list):
            raise TypeError("Items is not a list")
        return TaskPage(tasks=[task_from_item(i) for i in items], total=total)


def task_from_item(item: dict[str, Any]) -> ObservedTask:
    """A task-center item. Its target value (what ModifyDBInstanceConfig set) comes from
    TaskDetail when the task is an encryption change; None when the task is something else.

    "Something else" is an allow-list: a TaskDetail that parses to a JSON object whose
    ConfigName names a setting other than encryptionKey. Alibaba documents TaskDetail only as
    "the task details" (docs/real-cloud.md), so every other task, whatever its TaskType (plain
    text, garbled or empty detail, an object without ConfigName, an encryptionKey change
    without its ConfigValue), may change encryption without saying to what: `target_unread`,
    which refuses its instance (EncryptionChangePending) and keeps keys it may move to in use."""
    status = str(item["Status"])
    if status not in PENDING_TASK_STATUSES:
        raise ValueError(f"task status {status!r} was not asked for")
    target, unread = _task_target(item.get("TaskDetail"))
    return ObservedTask(
        task_id=str(item["TaskId"]),
        instance_id=str(item["InstanceId"]),
        status=status,
        task_type=str(item.get("TaskType") or ""),
        start_time=str(item.get("StartTime") or "") or None,
        progress=float(item["Progress"]) if item.get("Progress") not in (None, "") else None,
        encryption_target=target,
        target_unread=unread,
    )


def _task_target(raw: Any) -> tuple[str | None, bool]:
    """(encryption target, whether the task may change encryption without saying to what)."""
    detail = _task_detail(raw)
    if detail is None or not str(detail.get("ConfigName") or ""):
        return None, True
    try:
        return encryption_target(detail), False
    except ValueError:  # an encryptionKey change without its value
        return None, True


def _task_detail(raw: Any) -> dict[str, Any] | None:
    """TaskDetail as a JSON object (a string of one, or an object); None for anything else."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _readable_target(raw: Any) -> str | None:
    """The encryption target of a task whose detail says it, else None (apply's waiter looks
    for its own change only: a task it cannot read is not that change)."""
    detail = _task_detail(raw)
    try:
        return encryption_target(detail) if detail is not None else None
    except ValueError:
        return None


def encryption_target(detail: dict[str, Any]) -> str | None:
    """The ConfigValue of an encryption change (`ServiceKey`, a key id, `disabled`), or None
    when the task is not one."""
    if str(detail.get("ConfigName") or "").lower() != "encryptionkey":
        return None
    value = detail.get("ConfigValue")
    if not isinstance(value, str) or not value:
        raise ValueError("an encryption task without its ConfigValue")
    # The API takes ServiceKey (PostgreSQL) and serviceKey (SQL Server) alike.
    spelled = {SERVICE_KEY_TYPE.lower(): SERVICE_KEY_TYPE, ENCRYPTION_DISABLED: ENCRYPTION_DISABLED}
    return spelled.get(value.lower(), value)


# --- writes and the reads apply needs -------------------------------------------------------


def modify_config(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    """ModifyDBInstanceConfig. Idempotent only when it carries the plan's ClientToken (the
    cloud then does it once however often it is sent), so only then repeated after a lost
    answer."""
    from reconciler.cloud.writes import write

    return write(
        clients,
        Op.RDS_MODIFY_DB_INSTANCE_CONFIG,
        region,
        _models(),
        "modify_dbinstance_config",
        params,
        idempotent=bool(params.get("ClientToken")),
    )


def instance_status(clients: CloudClients, region: str, instance_id: str) -> dict[str, Any] | None:
    """DescribeDBInstanceAttribute for waiting: the attribute record (DBInstanceStatus,
    LockMode, MaintainTime), or None when the instance does not exist (any other error
    raises)."""
    try:
        return attribute(clients, region, instance_id)
    except PermanentError as error:
        if absent(error, *INSTANCE_ABSENT):
            return None
        raise


@dataclass(frozen=True)
class TaskStatus:
    """One task-center entry of an instance, any status (Scheduled, Running, Succeed, Failed,
    Canceled, ...), as apply's waiter reads it."""

    task_id: str
    status: str
    start_time: str | None = None
    progress: float | None = None
    remain_seconds: int | None = None
    encryption_target: str | None = None


def instance_tasks(
    clients: CloudClients, region: str, instance_id: str, now: datetime
) -> list[TaskStatus]:
    """The task center's encryption tasks of one instance (any status, newest start first):
    their Status, Progress and StartTime. Unlike `pending_tasks`, finished ones are kept, so a
    change that failed is seen as Failed rather than vanishing."""
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    request = _models().DescribeHistoryTasksRequest(
        region_id=region,
        instance_id=instance_id,
        instance_type="Instance",
        from_start_time=(now - TASK_WINDOW).strftime(stamp),
        to_start_time=(now + TASK_WINDOW).strftime(stamp),
        page_number=1,
        page_size=TASK_PAGE_SIZE,
    )
    with reading("rds:DescribeHistoryTasks", instance_id):
        body = _answer(clients, region, "DescribeHistoryTasks", "describe_history_tasks", request)
        items = body["Items"] or []  # no Items: not "no task"
        if not isinstance(items, list):
            raise TypeError("Items is not a list")
        found = []
        for item in items:
            if str(item.get("InstanceId")) != instance_id:
                continue
            found.append(
                TaskStatus(
                    task_id=str(item["TaskId"]),
                    status=str(item["Status"]),
                    start_time=str(item.get("StartTime") or "") or None,
                    progress=_number(item.get("Progress")),
                    remain_seconds=_int(item.get("RemainTime")),
                    encryption_target=_readable_target(item.get("TaskDetail")),
                )
            )
        return sorted(found, key=lambda t: (t.start_time or "", t.task_id), reverse=True)


def _number(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


def _int(value: Any) -> int | None:
    return int(float(value)) if value not in (None, "") else None


# --- backup sets (issue 18: backups are key users) ----------------------------------------------

BACKUP_PAGE_SIZE = 100
"""The largest PageSize DescribeBackups takes (30, 50 or 100)."""
BACKUP_FAILED = "Failed"
"""The one BackupStatus whose set is not counted: a failed backup restores nothing."""


@dataclass(frozen=True)
class BackupPage:
    backups: list[ObservedBackup]
    total: int


def backups(clients: CloudClients, region: str, instance_id: str, page: int) -> BackupPage:
    """One page of an instance's backup sets (DescribeBackups), each with its disk key. Fail
    closed: a set whose `Encryption` names no key it could be read from stops the reading (a
    ValueError, labelled by `reading`), never "not encrypted" (docs/real-cloud.md, "Backups that
    still need a key")."""
    request = _models().DescribeBackupsRequest(
        dbinstance_id=instance_id, page_size=BACKUP_PAGE_SIZE, page_number=page
    )
    with reading("rds:DescribeBackups", f"{instance_id} page {page}"):
        body = _answer(clients, region, "DescribeBackups", "describe_backups", request)
        total = int(body["TotalRecordCount"])  # a string in the SDK model
        items = (body.get("Items") or {}).get("Backup") or [] if total else []
        if total and not items:
            raise ValueError(f"TotalRecordCount {total} but no Items.Backup on page {page}")
        if not isinstance(items, list):
            raise TypeError("Items.Backup is not a list")
        found = [
            _backup(item, instance_id)
            for item in items
            if str(item.get("BackupStatus") or "") != BACKUP_FAILED
        ]
        return BackupPage(backups=found, total=total)


def _backup(item: dict[str, Any], instance_id: str) -> ObservedBackup:
    backup_id = str(item["BackupId"])
    if str(item.get("DBInstanceId") or instance_id) != instance_id:
        raise ValueError(f"backup set {backup_id} belongs to {item.get('DBInstanceId')}")
    return ObservedBackup(
        backup_id=backup_id,
        instance_id=instance_id,
        key_id=backup_key(item.get("Encryption"), backup_id),
        expires=str(item["ExpectExpireTime"]) if item.get("ExpectExpireTime") else None,
    )


BACKUP_KEY_FIELDS = ("EncryptionKey", "encryptionKey", "KeyId", "keyId")
"""Where a set's `Encryption` JSON may name its key. The field names are undocumented (the
SDK's example is `{}`); the emulator writes EncryptionKey (docs/real-cloud.md)."""
NOT_ENCRYPTED_TYPES = ("None",)
"""EncryptionType values that state "not encrypted" (the emulator's choice; an allow-list)."""


def backup_key(text: Any, backup_id: str) -> str | None:
    """The KMS key a set's `Encryption` names; None only when it says "not encrypted" in a
    form we know. Anything else (`{}`, not JSON, another shape) is a ValueError: that set may
    need any key, so nobody may say it needs none."""
    try:
        found = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise ValueError(
            f"backup set {backup_id}: Encryption {str(text)[:80]!r} is not a JSON object"
        )
    keys = {str(found[f]) for f in BACKUP_KEY_FIELDS if found.get(f)}
    if len(keys) == 1:
        return keys.pop()
    if not keys and found.get("EncryptionType") in NOT_ENCRYPTED_TYPES:
        return None
    raise ValueError(
        f"backup set {backup_id}: Encryption {str(text)[:80]!r} names no key we can read, so "
        "the key it needs is unknown"
    )


# --- TDE (issue 19: kinds/rds_tde/read.py) -------------------------------------------------------

TDE_ENABLED, TDE_DISABLED = "Enabled", "Disabled"
TDE_SERVICE_MODE, TDE_CUSTOM_MODE = "Aliyun_Generate_Key", "Customer_Provided_Key"
TDE_MODES = (TDE_SERVICE_MODE, TDE_CUSTOM_MODE)
"""The TDEMode values that say whose key TDE uses; `Unknown` (also documented) says nothing."""


def tde(clients: CloudClients, region: str, instance_id: str) -> ObservedTde:
    """DescribeDBInstanceTDE of one instance that was listed: any error (not found included)
    and any answer `tde_from_body` cannot read stops the plan, never "TDE off"."""
    request = _models().DescribeDBInstanceTDERequest(dbinstance_id=instance_id)
    with reading("rds:DescribeDBInstanceTDE", instance_id):
        body = _answer(clients, region, "DescribeDBInstanceTDE", "describe_dbinstance_tde", request)
        return tde_from_body(body)


def tde_from_body(body: dict[str, Any]) -> ObservedTde:
    """TDE from a DescribeDBInstanceTDE answer, an allow-list (docs/real-cloud.md, "TDE and the
    key list"): `Disabled` with no key (TDEMode absent, empty or `Unknown`) is off; `Enabled`
    with `Aliyun_Generate_Key` is on RDS's key (EncryptionKey, when sent, is that key's id);
    `Enabled` with `Customer_Provided_Key` and an EncryptionKey is on that KMS key. Everything
    else raises: no RequestId, another TDEStatus or TDEMode, `Enabled` with TDEMode `Unknown`
    or absent, a custom key without its id, `Disabled` naming a key or a key mode."""
    if not body.get("RequestId"):
        raise ValueError("not an answer of the API (no RequestId)")
    status, mode = body.get("TDEStatus"), body.get("TDEMode") or None
    key = body.get("EncryptionKey") or None
    if key is not None and not isinstance(key, str):
        raise TypeError("EncryptionKey is not a string")
    if status == TDE_DISABLED:
        if key is not None or mode not in (None, "Unknown"):
            raise ValueError(f"TDEStatus Disabled with TDEMode {mode!r} and EncryptionKey {key!r}")
        return ObservedTde(enabled=False)
    if status != TDE_ENABLED:
        raise ValueError(f"TDEStatus {status!r}, not {TDE_ENABLED} or {TDE_DISABLED}")
    if mode not in TDE_MODES:
        raise ValueError(f"TDEStatus Enabled with TDEMode {mode!r}: whose key TDE uses is unsaid")
    if mode == TDE_CUSTOM_MODE and key is None:
        raise ValueError(f"TDEMode {TDE_CUSTOM_MODE} without its EncryptionKey")
    return ObservedTde(enabled=True, mode=mode, key_id=key)


def kernel_version_of(attribute: dict[str, Any]) -> str:
    """CurrentKernelVersion (e.g. rds_postgres_1400_20221030); "" when the answer has none,
    which the planner takes as not read (it refuses rather than guess the version)."""
    version = attribute.get("CurrentKernelVersion") or ""
    if not isinstance(version, str):
        raise TypeError("CurrentKernelVersion is not a string")
    return version


READ_ONLY_TYPE = "Readonly"
"""The DBInstanceType of a read-only instance (which has no read-only instances of its own)."""


def read_only_ids_of(attribute: dict[str, Any], listed: dict[str, Any] | None = None) -> list[str]:
    """The read-only instances attached (ReadOnlyDBInstanceIds.ReadOnlyDBInstanceId[]
    .DBInstanceId, as the SDK models it), from the attribute answer and the instance's list item
    (DescribeDBInstances carries the same field): the union, so an id either names is checked.

    A field that is present must have that shape, else the answer raises. The field absent from
    both answers reads as "no read-only instances" (the SDK models it as optional; the emulator
    always sends it) only when nothing in the answers says otherwise: an instance that is itself
    read-only (DBInstanceType Readonly, or a MasterInstanceId) has none; a primary whose answers
    both leave the field out cannot say, and raises (docs/real-cloud.md, "TDE and the key
    list")."""
    found: dict[str, None] = {}
    sent = False
    for answer in (attribute, listed or {}):
        if "ReadOnlyDBInstanceIds" in answer and answer["ReadOnlyDBInstanceIds"] is not None:
            sent = True
            found.update(dict.fromkeys(_read_only_ids(answer["ReadOnlyDBInstanceIds"])))
    if sent or _is_read_only(attribute):
        return list(found)
    raise ValueError("the answer does not say which read-only instances are attached")


def _is_read_only(attribute: dict[str, Any]) -> bool:
    return attribute.get("DBInstanceType") == READ_ONLY_TYPE or bool(
        attribute.get("MasterInstanceId")
    )


def _read_only_ids(field: Any) -> list[str]:
    if not isinstance(field, dict):
        raise TypeError("ReadOnlyDBInstanceIds is not an object")
    entries = field.get("ReadOnlyDBInstanceId") or []
    if not isinstance(entries, list):
        raise TypeError("ReadOnlyDBInstanceIds.ReadOnlyDBInstanceId is not a list")
    ids = [e.get("DBInstanceId") if isinstance(e, dict) else None for e in entries]
    if not all(isinstance(i, str) and i for i in ids):
        raise ValueError("a ReadOnlyDBInstanceId entry has no DBInstanceId")
    return [str(i) for i in ids]


def modify_tde(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    """ModifyDBInstanceTDE. It takes no ClientToken, so it is never sent again after a lost
    answer: DescribeDBInstanceTDE tells whether it took effect (kinds/rds_tde/writes.py)."""
    from reconciler.cloud.writes import write

    return write(
        clients,
        Op.RDS_MODIFY_DB_INSTANCE_TDE,
        region,
        _models(),
        "modify_dbinstance_tde",
        params,
    )
