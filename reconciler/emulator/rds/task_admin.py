"""Admin view of the task center, for tests and demos (JSON, no signature):

    GET  /_emulator/tasks  -> {"now": ..., "tasks": [{"task_id", "instance_id", "region",
                               "status", "task_type", "start_time", "end_time", "config_value",
                               "target_key", "switch_time_mode", "seconds_until_start"}, ...]}
                              every task of every region still kept, newest first
    POST /_emulator/tasks  {"task_id": "t-..." (default: the Scheduled task that starts first),
                            "to": "start" (default) | "end"}
                           -> advances the EMULATED clock to that task's start (it is Running,
                              the instance CONFIG_ENCRYPTING) or end (Succeed, the instance on
                              its new key); never backwards. Answers {"now", "advanced_seconds",
                              "task"}; 404 when there is no such (or no scheduled) task.
    POST /_emulator/tasks/other  {"instance_id": "pgm-...", "task_type": "RestartDBInstance",
                                  "task_detail": "<any text, kept as is>", "start_in_seconds":
                                  0 (default; > 0: Scheduled until then), "seconds": 600}
                           -> {"task": {...}}: a task of another kind, as the real task center
                              may list one (tasks.py); it changes nothing. 404 for an unknown
                              instance.

An entry's config_value, target_key and switch_time_mode are null when its TaskDetail is not the
encryption change's JSON object.

Registered when this module is imported (by ``reconciler.emulator.rds.responses``).
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.emulator.admin import AdminError, register_admin_route
from reconciler.emulator.clock import iso
from reconciler.emulator.rds import tasks
from reconciler.emulator.rds.models import KIND as INSTANCE_KIND
from reconciler.emulator.runtime import EmulatorState


def _entry(doc: dict[str, Any], now: float, account_id: str) -> dict[str, Any]:
    wire = tasks.view(doc, now, account_id)
    detail = _detail(doc["TaskDetail"])
    return {
        "task_id": doc["TaskId"],
        "instance_id": doc["InstanceId"],
        "region": doc["RegionId"],
        "status": wire["Status"],
        "task_type": doc["TaskType"],
        "start_time": wire["StartTime"],
        "end_time": wire["EndTime"],
        "config_value": detail.get("ConfigValue"),
        "target_key": detail.get("EncryptionKey"),
        "switch_time_mode": detail.get("SwitchTimeMode"),
        "seconds_until_start": max(0.0, doc["start"] - now),
    }


def _detail(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _snapshot(state: EmulatorState) -> tuple[float, list[dict[str, Any]]]:
    now = state.clock.now().timestamp()
    with state.store.transaction() as tx:
        return now, tasks.listed(tx, None, now)


def _list(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    now, docs = _snapshot(state)
    account = state.settings.account_id
    return {"now": iso(state.clock.now()), "tasks": [_entry(d, now, account) for d in docs]}


def _run(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    to = body.get("to", "start")
    if to not in ("start", "end"):
        raise AdminError(400, 'to must be "start" or "end"')
    task_id = body.get("task_id")
    if task_id is not None and not isinstance(task_id, str):
        raise AdminError(400, "task_id must be a string")
    now, docs = _snapshot(state)
    if task_id is None:
        waiting = [d for d in docs if tasks.status_of(d, now) == "Scheduled"]
        if not waiting:
            raise AdminError(404, "no scheduled task")
        doc = min(waiting, key=lambda d: d["start"])
    else:
        found = [d for d in docs if d["TaskId"] == task_id]
        if not found:
            raise AdminError(404, f"no task {task_id}")
        doc = found[0]
    seconds = max(0.0, doc[to] - now)
    if seconds:
        state.clock.advance(seconds)
    later = state.clock.now().timestamp()
    return {
        "now": iso(state.clock.now()),
        "advanced_seconds": seconds,
        "task": _entry(doc, later, state.settings.account_id),
    }


def _text(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or len(value) > 4096:
        raise AdminError(400, f"{name} must be a string of at most 4096 characters")
    return value


def _seconds(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= 86400 * 30
    ):
        raise AdminError(400, f"{name} must be a number of seconds from 0 to 30 days")
    return float(value)


def _other(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    instance_id = _text(body, "instance_id", "")
    task_type, detail = _text(body, "task_type"), _text(body, "task_detail", "")
    start_in, seconds = _seconds(body, "start_in_seconds", 0), _seconds(body, "seconds", 600)
    now = state.clock.now().timestamp()
    with state.store.transaction() as tx:
        found = [d for d in tx.list(INSTANCE_KIND, None) if d["DBInstanceId"] == instance_id]
        if not found:
            raise AdminError(404, f"no instance {instance_id}", code="InvalidDBInstanceId.NotFound")
        start = now + start_in
        task_id = tasks.add_other(
            tx, found[0], task_type, detail, start, start + seconds, state.settings.account_id
        )
        doc = tx.get(tasks.KIND, found[0]["RegionId"], task_id)
    assert doc is not None
    return {"task": _entry(doc, now, state.settings.account_id)}


register_admin_route("GET", "tasks", _list)
register_admin_route("POST", "tasks/other", _other)
register_admin_route("POST", "tasks", _run)
