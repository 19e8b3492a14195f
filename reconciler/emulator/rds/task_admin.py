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

Registered when this module is imported (by ``reconciler.emulator.rds.responses``).
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.emulator.admin import AdminError, register_admin_route
from reconciler.emulator.clock import iso
from reconciler.emulator.rds import tasks
from reconciler.emulator.runtime import EmulatorState


def _entry(doc: dict[str, Any], now: float, account_id: str) -> dict[str, Any]:
    wire = tasks.view(doc, now, account_id)
    detail = json.loads(doc["TaskDetail"])
    return {
        "task_id": doc["TaskId"],
        "instance_id": doc["InstanceId"],
        "region": doc["RegionId"],
        "status": wire["Status"],
        "task_type": doc["TaskType"],
        "start_time": wire["StartTime"],
        "end_time": wire["EndTime"],
        "config_value": detail["ConfigValue"],
        "target_key": detail["EncryptionKey"],
        "switch_time_mode": detail["SwitchTimeMode"],
        "seconds_until_start": max(0.0, doc["start"] - now),
    }


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


register_admin_route("GET", "tasks", _list)
register_admin_route("POST", "tasks", _run)
