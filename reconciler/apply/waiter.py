"""All of apply's waiting, on an injectable clock (ApplyOptions.clock / .sleep).

After an Immediate encryption change, `until_done` polls until the instance is `Running` on its
new value. Reads per instance: ONE per tick (`poll_interval_s`, default 1 s), never more:
- ticks 0, 2, 3, 4, 5, 7, ...: DescribeDBInstanceAttribute (the status); when it says Running,
  the same tick reads the encryption once to confirm the new value (that ends the wait, or the
  change has not started yet and polling goes on);
- tick 1 and every 5th tick after it (1, 6, 11, ...): DescribeHistoryTasks of the instance,
  for Progress/RemainTime, and to see a task that Failed or was Canceled.
So a fast change costs 2 reads, and a long one about 1 read per second per instance in total.
A terminal state (instance gone or being deleted, locked, its task Failed or Canceled) ends the
wait at once; it is never looped on.

Sleeps are cut into slices of at most 1 s with a cancellation check between them, so a signal
is noticed within a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.apply.compare import ServiceKeys
from reconciler.apply.results import ApplyEvent, ApplyOptions
from reconciler.cancellation import raise_if_cancelled
from reconciler.cloud import rds
from reconciler.cloud.clients import CloudClients
from reconciler.errors import CloudCallError
from reconciler.kinds.rds_encryption.apply import encryption_value

RUNNING = "Running"
GONE_STATUSES = frozenset({"Deleting", "Released", "Deleted"})
FAILED_TASKS = frozenset({"Failed", "Canceled", "Cancelling"})
WAITING_TASKS = frozenset({"Scheduled", "Waiting", "Running"})
TASK_EVERY = 5
"""A task-center read replaces the status read on tick 1 and every 5th tick after it."""
SLICE_S = 1.0


Reached = Callable[[CloudClients, str], bool]
"""Whether the instance shows a change's target now (kinds/write_rule.py, `Wait.reached`)."""


@dataclass(frozen=True)
class WaitResult:
    ok: bool
    detail: str


class Waiter:
    def __init__(
        self,
        clients: CloudClients,
        options: ApplyOptions,
        emit: Callable[[ApplyEvent], None],
        service_keys: ServiceKeys,
    ) -> None:
        self.clients = clients
        self.options = options
        self.emit = emit
        self.service_keys = service_keys

    def nap(self, seconds: float) -> None:
        """Sleep on the injected clock, noticing a cancellation within a second."""
        left = seconds
        while left > 0:
            raise_if_cancelled()
            step = min(left, SLICE_S)
            self.options.sleep(step)
            left -= step
        raise_if_cancelled()

    def until_done(
        self,
        address: str,
        region: str,
        instance_id: str,
        target: str,
        reached: Reached | None = None,
    ) -> WaitResult:
        """Poll until the instance is Running with encryption `target` (ServiceKey, a key id,
        disabled; or, given `reached`, until it says so), a terminal state, or `timeout_s`."""
        return self._poll(address, region, instance_id, target, reached)

    def until_running(self, address: str, region: str, instance_id: str) -> WaitResult:
        """Poll until the instance is Running (a busy instance before a write)."""
        return self._poll(address, region, instance_id, None)

    def _poll(
        self,
        address: str,
        region: str,
        instance_id: str,
        target: str | None,
        reached: Reached | None = None,
    ) -> WaitResult:
        options = self.options
        began = options.clock()
        deadline = began + options.timeout_s
        last_status = None
        started = target is None
        """Whether the change has shown a sign of starting: a busy status, or its task."""
        tick = 0
        while True:
            if target is not None and tick % TASK_EVERY == 1:
                failed, listed = self._tasks(address, region, instance_id, target)
                started = started or listed
                if failed is not None:
                    return WaitResult(False, failed)
            else:
                attribute = rds.instance_status(self.clients, region, instance_id)
                if attribute is None:
                    return WaitResult(False, f"instance {instance_id} no longer exists")
                status = str(attribute.get("DBInstanceStatus") or "")
                lock = str(attribute.get("LockMode") or "Unlock")
                if status in GONE_STATUSES:
                    return WaitResult(False, f"instance {instance_id} is {status}")
                if lock.lower() != "unlock":
                    return WaitResult(False, f"instance {instance_id} is locked ({lock})")
                if status == RUNNING and (
                    target is None or self._reached(region, instance_id, target, reached)
                ):
                    return WaitResult(True, f"{instance_id} is Running")
                started = started or status != RUNNING
                if not started and options.clock() - began >= options.start_grace_s:
                    return WaitResult(False, _not_acted_on(instance_id, options.start_grace_s))
                if status != last_status:
                    self.emit(ApplyEvent("waiting", address, f"{instance_id} is {status}"))
                    last_status = status
            if options.clock() >= deadline:
                return WaitResult(
                    False,
                    f"{instance_id} was still {last_status or 'not done'} after "
                    f"{options.timeout_s:g} s; the change was submitted and may still finish: "
                    "plan again later to see",
                )
            self.nap(options.poll_interval_s)
            tick += 1

    def _reached(self, region: str, instance_id: str, target: str, reached: Reached | None) -> bool:
        if reached is not None:
            return reached(self.clients, region)
        return encryption_value(self.clients, region, instance_id, self.service_keys) == target

    def _tasks(
        self, address: str, region: str, instance_id: str, target: str
    ) -> tuple[str | None, bool]:
        """Emit the task's progress; (the reason to stop when it failed, else None; whether
        the task center lists the change)."""
        try:
            tasks = rds.instance_tasks(self.clients, region, instance_id, datetime.now(UTC))
        except CloudCallError:
            return None, False  # progress is for display: the status reads decide
        ours = next((t for t in tasks if t.encryption_target == target), None)
        if ours is None:
            return None, False
        if ours.status in FAILED_TASKS:
            failed = f"the task center reports the change {ours.status} (task {ours.task_id})"
            return failed, True
        if ours.status in WAITING_TASKS:
            self.emit(
                ApplyEvent(
                    "progress",
                    address,
                    f"{instance_id}: task {ours.task_id} {ours.status}",
                    progress=ours.progress,
                    remain_s=ours.remain_seconds,
                )
            )
            return None, True
        return None, False  # an earlier change's finished task says nothing of this one

    def scheduled_start(self, region: str, instance_id: str, target: str) -> tuple[str, str] | None:
        """(status, StartTime) of the task a MaintainTime change created, the newest first;
        None when not listed. A `Running` or finished task means the window was open: the
        change started at once."""
        tasks = rds.instance_tasks(self.clients, region, instance_id, datetime.now(UTC))
        ours = [t for t in tasks if t.encryption_target == target]
        newest = max(ours, key=lambda t: (t.start_time or "", t.task_id), default=None)
        return (newest.status, newest.start_time or "") if newest is not None else None


def _not_acted_on(instance_id: str, grace_s: float) -> str:
    return (
        f"the cloud accepted the write, but {instance_id} showed no sign of the change after "
        f"{grace_s:g} s (still Running on its old value, no task): its ClientToken was most "
        "likely used before (this saved plan was applied already, and its change undone "
        "since), so the cloud answered without acting. Plan again, and apply the new plan"
    )
