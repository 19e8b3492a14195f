"""Saved plans and an instance's encryption: whether a saved change was made, the live facts
that moved, and whether an earlier run's write is still under way (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.core.facts import ObservedInstance, ObservedState
from reconciler.plan.model import Change


def achieved(instance_id: str, params: list[dict[str, Any]], observed: ObservedState) -> bool:
    """The change sets the instance of its address to its ConfigValue (or a task of that
    instance is setting it: an earlier run's write still under way)."""
    from reconciler.kinds.rds_encryption.desired import encryption_value

    instance = observed.instances.get(instance_id)
    if instance is None:
        return False
    underway = {t.encryption_target for t in observed.tasks if t.instance_id == instance_id}
    now = {encryption_value(observed, instance), *underway}
    return all(p.get("DBInstanceId") == instance_id and p.get("ConfigValue") in now for p in params)


def live_facts_lines(now: dict[str, Any]) -> list[str]:
    """The instance's status and tasks as they are now; [] when the instance is gone."""
    if not now.get("instance"):
        return []
    instance = now["instance"]
    lines = [f"instance status is now {instance['status']}, lock mode {instance['lock_mode']}"]
    for task in now.get("tasks") or []:
        lines.append(
            f"task {task['task_id']} ({task.get('task_type') or 'encryption change'}) is "
            f"{task['status']}"
        )
    return lines


def still_switching(
    change: Change, observed: ObservedState, last_params: Callable[[], dict[str, Any]]
) -> tuple[ObservedInstance, str] | None:
    """(instance, the ConfigValue it switches to) when the change is still under way (not
    Running, or a task listed); else None."""
    instance = observed.instances.get(change.target_id or "")
    if instance is None:
        return None
    tasks = [t for t in observed.tasks if t.instance_id == instance.instance_id]
    if instance.status == "Running" and not tasks:
        return None
    return instance, str(last_params().get("ConfigValue"))
