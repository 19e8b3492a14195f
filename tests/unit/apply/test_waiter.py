"""The waiter's reads and its stopping rules, on a scripted cloud and a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.apply import waiter as waiter_module
from reconciler.apply.results import ApplyEvent, ApplyOptions
from reconciler.apply.waiter import Waiter
from reconciler.cloud.rds import TaskStatus


@dataclass
class Script:
    statuses: list[str]
    tasks: list[TaskStatus] = field(default_factory=list)
    encryption: str = "ServiceKey"
    reads: list[str] = field(default_factory=list)
    now: float = 0.0

    def status(self, clients, region, instance_id):  # type: ignore[no-untyped-def]
        self.reads.append("status")
        value = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return None if value == "gone" else {"DBInstanceStatus": value, "LockMode": "Unlock"}

    def task_list(self, clients, region, instance_id, now):  # type: ignore[no-untyped-def]
        self.reads.append("tasks")
        return self.tasks

    def value(self, clients, region, instance_id, service_keys):  # type: ignore[no-untyped-def]
        self.reads.append("encryption")
        return self.encryption

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _waiter(monkeypatch, script: Script, timeout_s: float = 60) -> tuple[Waiter, list[ApplyEvent]]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(waiter_module.rds, "instance_status", script.status)
    monkeypatch.setattr(waiter_module.rds, "instance_tasks", script.task_list)
    monkeypatch.setattr(waiter_module, "encryption_value", script.value)
    events: list[ApplyEvent] = []
    options = ApplyOptions(timeout_s=timeout_s, clock=lambda: script.now, sleep=script.sleep)
    return Waiter(object(), options, events.append, object()), events  # type: ignore[arg-type]


def test_polls_once_a_tick_and_reports_progress(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    script = Script(
        ["CONFIG_ENCRYPTING"] * 7 + ["Running"],
        tasks=[
            TaskStatus(
                "t-1", "Running", progress=40.0, remain_seconds=12, encryption_target="ServiceKey"
            )
        ],
    )
    waiter, events = _waiter(monkeypatch, script)
    result = waiter.until_done("rds_encryption.i", "r", "i", "ServiceKey")
    assert result.ok
    assert script.reads.count("tasks") == 2  # ticks 1 and 6
    assert len([r for r in script.reads if r != "encryption"]) == int(script.now) + 1
    progress = [e for e in events if e.kind == "progress"]
    assert progress[0].progress == 40.0 and progress[0].remain_s == 12


def test_a_failed_task_is_not_looped_on(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    script = Script(
        ["CONFIG_ENCRYPTING"],
        tasks=[TaskStatus("t-9", "Failed", encryption_target="key-1")],
    )
    waiter, _ = _waiter(monkeypatch, script)
    result = waiter.until_done("rds_encryption.i", "r", "i", "key-1")
    assert not result.ok and "Failed (task t-9)" in result.detail
    assert script.now == 1.0


def test_an_instance_that_is_gone_ends_the_wait(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    waiter, _ = _waiter(monkeypatch, Script(["gone"]))
    result = waiter.until_running("rds_encryption.i", "r", "i")
    assert not result.ok and "no longer exists" in result.detail


def test_running_on_the_old_value_is_not_done(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    script = Script(["Running"], encryption="disabled")
    waiter, _ = _waiter(monkeypatch, script, timeout_s=5)
    result = waiter.until_done("rds_encryption.i", "r", "i", "ServiceKey")
    assert not result.ok and "after 5 s" in result.detail
