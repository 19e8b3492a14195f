"""The RDS task center (DescribeHistoryTasks): one task per encryption change (no HTTP here).

Every accepted ModifyDBInstanceConfig(ConfigName=encryptionKey) that changes something is a task
document (kind ``rds_task``, in the instance's region). Its status is derived from the emulated
clock, like the instance's own status, so nothing runs in the background:

- ``Scheduled`` before its start (a MaintainTime change waiting for the window, or an Immediate
  one delayed by SwitchTime); ``StartTime`` is when it will start;
- ``Running`` while the instance is ``CONFIG_ENCRYPTING``, with ``Progress`` (0-100, linear in
  time) and ``RemainTime`` (seconds);
- ``Succeed`` from its end on (``EndTime``);
- ``Canceled`` when a newer change replaced it before it started, when a change to the value the
  instance already has dropped it, or when its instance was deleted (``EndTime`` = that moment).

How a reader learns what a task does (``TaskDetail``, a JSON object in a string)::

    {"ConfigName": "encryptionKey",
     "ConfigValue": "<as requested: ServiceKey | a KMS key id | disabled>",
     "SwitchTimeMode": "Immediate" | "MaintainTime",
     "EncryptionKey": "<the target KMS key id: the CMK's id, the service key's id (the key
                       behind alias/acs/rds) for ServiceKey, empty for disabled>",
     "KeyType": "CMK" | "ServiceKey" | "" (disabled),
     "SourceEncryptionKey": "<the key id the instance used when the change was asked, or ''>"}

Emulator choices (the cloud documents none of these): ``TaskType`` is ``ModifyDBInstanceConfig``
(the action that made the task; ``TaskDetail.ConfigName`` says which setting); task ids are
``t-`` + 16 lower-case letters and digits (the form of the task-center examples), made from the
store's task counter; the statuses ``Waiting``, ``Failed`` and ``Cancelling`` never occur;
``ActionInfo`` and ``ReasonCode`` are empty; tasks are listed newest first (by creation); a task
is kept 30 days after its start (the documented horizon of the query).

The emulator makes no task of another kind by itself. Tests inject them (``add_other``, the admin
route ``POST /_emulator/tasks/other``) with any ``TaskType`` and any ``TaskDetail`` text, as the
real task center may list O&M tasks whose detail is not the JSON above: such a task only appears
in the task center (Scheduled, then Running, then Succeed by the clock) and changes nothing.
"""

from __future__ import annotations

import json
import math
from typing import Any

from reconciler.emulator.clock import iso
from reconciler.emulator.dispatch import RequestContext, stable_token
from reconciler.emulator.store import Transaction

KIND = "rds_task"
TASK_TYPE = "ModifyDBInstanceConfig"
STATUSES = ("Scheduled", "Running", "Succeed", "Failed", "Cancelling", "Canceled", "Waiting")
KEPT_SECONDS = 30 * 86400


def _moment(epoch: float) -> str:
    from datetime import UTC, datetime

    return iso(datetime.fromtimestamp(epoch, UTC))


def create(
    ctx: RequestContext,
    instance: dict[str, Any],
    change: dict[str, Any],
    config_value: str,
    switch_mode: str,
    now: float,
) -> str:
    """Record the task of ``change`` (the instance's new ``pending``); return its id."""
    task_id = "t-" + stable_token(ctx.next_serial("rds_task"), 16, ctx.account_id)
    target = change["value"]
    detail = {
        "ConfigName": "encryptionKey",
        "ConfigValue": config_value,
        "SwitchTimeMode": switch_mode,
        "EncryptionKey": target.get("key_id") or "",
        "KeyType": {"cmk": "CMK", "service": "ServiceKey"}.get(target["kind"], ""),
        "SourceEncryptionKey": instance["encryption"].get("key_id") or "",
    }
    doc = {
        "TaskId": task_id,
        "InstanceId": instance["DBInstanceId"],
        "InstanceName": instance.get("DBInstanceDescription") or instance["DBInstanceId"],
        "RegionId": instance["RegionId"],
        "DbType": instance["Engine"],
        "TaskType": TASK_TYPE,
        "TaskDetail": json.dumps(detail, separators=(",", ":")),
        "created": now,
        "start": change["start"],
        "end": change["end"],
        "canceled": None,
    }
    ctx.tx.put(KIND, instance["RegionId"], task_id, doc)
    return task_id


def add_other(
    tx: Transaction,
    instance: dict[str, Any],
    task_type: str,
    task_detail: str,
    start: float,
    end: float,
    account_id: str,
) -> str:
    """Record a task of another kind for ``instance`` (it runs nothing); return its id. Its id
    comes from the same counter as ``create``'s (RequestContext.next_serial's meta key)."""
    serial = int(tx.get_meta("serial:rds_task", "0") or 0) + 1
    tx.set_meta("serial:rds_task", str(serial))
    task_id = "t-" + stable_token(serial, 16, account_id)
    doc = {
        "TaskId": task_id,
        "InstanceId": instance["DBInstanceId"],
        "InstanceName": instance.get("DBInstanceDescription") or instance["DBInstanceId"],
        "RegionId": instance["RegionId"],
        "DbType": instance["Engine"],
        "TaskType": task_type,
        "TaskDetail": task_detail,
        "created": start,
        "start": start,
        "end": end,
        "canceled": None,
    }
    tx.put(KIND, instance["RegionId"], task_id, doc)
    return task_id


def cancel(tx: Transaction, region: str, task_id: str | None, now: float) -> None:
    """Cancel a task that has not started (a started one cannot be replaced: the instance is
    CONFIG_ENCRYPTING and refuses new changes)."""
    if not task_id:
        return
    doc = tx.get(KIND, region, task_id)
    if doc is not None and doc["canceled"] is None and now < doc["end"]:
        doc["canceled"] = now
        tx.put(KIND, region, task_id, doc)


def status_of(doc: dict[str, Any], now: float) -> str:
    if doc["canceled"] is not None:
        return "Canceled"
    if now < doc["start"]:
        return "Scheduled"
    return "Running" if now < doc["end"] else "Succeed"


def exec_seconds(doc: dict[str, Any], now: float) -> float:
    """How long the task has run (0 before its start)."""
    stop = min(now, doc["end"], doc["canceled"] if doc["canceled"] is not None else now)
    return max(0.0, stop - doc["start"])


def view(doc: dict[str, Any], now: float, account_id: str) -> dict[str, Any]:
    """One ``Items[]`` entry of DescribeHistoryTasks (field names of the SDK's model)."""
    status = status_of(doc, now)
    duration = max(doc["end"] - doc["start"], 1e-9)
    if status == "Running":
        progress = round(100.0 * (now - doc["start"]) / duration, 1)
        remain = math.ceil(doc["end"] - now)
    else:
        progress = 100.0 if status == "Succeed" else 0.0
        remain = math.ceil(duration) if status == "Scheduled" else 0
    end = {"Succeed": doc["end"], "Canceled": doc["canceled"]}.get(status)
    return {
        "TaskId": doc["TaskId"],
        "TaskType": doc["TaskType"],
        "TaskDetail": doc["TaskDetail"],
        "InstanceId": doc["InstanceId"],
        "InstanceName": doc["InstanceName"],
        "InstanceType": "Instance",
        "DbType": doc["DbType"],
        "Product": "rds",
        "RegionId": doc["RegionId"],
        "Status": status,
        "Progress": progress,
        "RemainTime": remain,
        "StartTime": _moment(doc["start"]),
        "EndTime": _moment(end) if end is not None else "",
        "CurrentStepName": "exec_task" if status == "Running" else "",
        "ActionInfo": "",
        "ReasonCode": "",
        "CallerSource": "User",
        "CallerUid": account_id,
        "Uid": account_id,
    }


def listed(tx: Transaction, region: str | None, now: float) -> list[dict[str, Any]]:
    """The tasks of a region (all regions for None) kept at ``now``, newest first."""
    docs = tx.list(KIND, region)
    return [d for d in reversed(docs) if now - d["start"] <= KEPT_SECONDS]
