"""RDS reads (2014-08-15) -> our models. The only module that touches RDS SDK classes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reconciler.cloud.answers import absent, reading
from reconciler.cloud.clients import CloudClients
from reconciler.cloud.rds_wire import answer, models
from reconciler.core.facts import (
    ObservedEncryption,
    ObservedInstance,
    ObservedKeyUser,
    ObservedTask,
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


@dataclass(frozen=True)
class InstancePage:
    items: list[dict[str, Any]]
    total: int


def list_instances(
    clients: CloudClients,
    region: str,
    page: int,
    *,
    all_engines: bool = False,
    any_tag: dict[str, str] | None = None,
) -> InstancePage:
    """One page (100 a page) of the PostgreSQL instances of a region, or of every engine's
    (a MySQL or SQL Server instance may use a KMS key too, and a disabled key locks it).
    `any_tag`: DescribeDBInstances' `Tags` filter, which keeps an instance carrying ANY of the
    tags (the SDK model's words), so it only narrows: whoever needs every tag confirms them
    (cloud/rds_tags.py)."""
    request = models().DescribeDBInstancesRequest(
        region_id=region,
        engine=None if all_engines else ENGINE,
        page_size=PAGE_SIZE,
        page_number=page,
        instance_level=1,  # items carry Category only with InstanceLevel=1 (documented)
        tags=json.dumps(any_tag, sort_keys=True) if any_tag else None,
    )
    with reading("rds:DescribeDBInstances", f"{region} page {page}"):
        body = answer(clients, region, "DescribeDBInstances", "describe_dbinstances", request)
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
    request = models().DescribeDBInstancesRequest(
        region_id=region, dbinstance_id=instance_id, instance_level=1
    )
    with reading("rds:DescribeDBInstances", instance_id):
        try:
            body = answer(clients, region, "DescribeDBInstances", "describe_dbinstances", request)
        except PermanentError as error:
            if absent(error, *INSTANCE_ABSENT):
                return None
            raise
        items = _instance_items(body)
        return next((i for i in items if i["DBInstanceId"] == instance_id), None)


def attribute(clients: CloudClients, region: str, instance_id: str) -> dict[str, Any]:
    """DescribeDBInstanceAttribute: carries DBInstanceClassType and MaintainTime, which the
    list does not. The instance was listed, so any error (not found included) stops the plan."""
    request = models().DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
    with reading("rds:DescribeDBInstanceAttribute", instance_id):
        body = answer(
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
    request = models().DescribeDBInstanceEncryptionKeyRequest(
        dbinstance_id=instance_id, region_id=region
    )
    with reading("rds:DescribeDBInstanceEncryptionKey", instance_id):
        body = answer(
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
    request = models().DescribeKmsAssociateResourcesRequest(
        region_id=region,
        kms_resource_id=key_id,
        kms_resource_type="key",
        kms_resource_region_id=region,
        kms_resource_user=account_id,
    )
    with reading("rds:DescribeKmsAssociateResources", key_id):
        body = answer(
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
    request = models().DescribeHistoryTasksRequest(
        region_id=region,
        status=",".join(PENDING_TASK_STATUSES),
        instance_type="Instance",
        from_start_time=(now - TASK_WINDOW).strftime(stamp),
        to_start_time=(now + TASK_WINDOW).strftime(stamp),
        page_number=page,
        page_size=TASK_PAGE_SIZE,
    )
    with reading("rds:DescribeHistoryTasks", f"{region} page {page}"):
        body = answer(clients, region, "DescribeHistoryTasks", "describe_history_tasks", request)
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
        models(),
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
    request = models().DescribeHistoryTasksRequest(
        region_id=region,
        instance_id=instance_id,
        instance_type="Instance",
        from_start_time=(now - TASK_WINDOW).strftime(stamp),
        to_start_time=(now + TASK_WINDOW).strftime(stamp),
        page_number=1,
        page_size=TASK_PAGE_SIZE,
    )
    with reading("rds:DescribeHistoryTasks", instance_id):
        body = answer(clients, region, "DescribeHistoryTasks", "describe_history_tasks", request)
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
