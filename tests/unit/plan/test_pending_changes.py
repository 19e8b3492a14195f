"""A change running or scheduled in the task center decides an instance's plan, even when the
instance already matches the spec (it runs anyway, and undoes the spec)."""

from __future__ import annotations

import pytest

from reconciler.core.facts import ObservedInstance, ObservedState, ObservedTask
from reconciler.drift.model import Severity
from reconciler.drift.report import build_drift
from reconciler.plan.actions import RefusalCode, WarningCode
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.spec.models import Spec

INSTANCE = "pgm-aaaa0001"
SERVICE_KEY_ID = "key-hzservice1"


def _observed(*tasks: ObservedTask, encrypted: bool = True) -> ObservedState:
    encryption = (
        {"enabled": True, "key_id": SERVICE_KEY_ID, "key_type": "ServiceKey"}
        if encrypted
        else {"enabled": False}
    )
    instance = ObservedInstance.model_validate(
        {
            "instance_id": INSTANCE,
            "region": "cn-hangzhou",
            "engine": "PostgreSQL",
            "category": "HighAvailability",
            "class_code": "pg.x4.large.2c",
            "class_type": "d",
            "storage_type": "cloud_essd",
            "status": "Running",
            "managed": True,
            "encryption": encryption,
        }
    )
    return ObservedState(
        service_keys={"cn-hangzhou": SERVICE_KEY_ID},
        instances={INSTANCE: instance},
        regions_listed=["cn-hangzhou"],
        task_regions=["cn-hangzhou"],
        tasks=list(tasks),
    )


def _task(target: str | None, status: str = "Scheduled", **over: object) -> ObservedTask:
    fields = {
        "task_id": "t-1",
        "instance_id": INSTANCE,
        "status": status,
        "task_type": "ModifyDBInstanceConfig",
        "start_time": "2024-01-01T18:00:00Z",
        "encryption_target": target,
    }
    return ObservedTask.model_validate({**fields, **over})


SPEC = Spec.model_validate(
    {
        "version": 1,
        "defaults": {"region": "cn-hangzhou", "restart": "maintenance-window"},
        "instances": {INSTANCE: {"encryption": {"key": "service"}}},
    }
)


def _plan(*tasks: ObservedTask, encrypted: bool = True) -> Plan:
    return build_plan(SPEC, _observed(*tasks, encrypted=encrypted))


def test_a_matching_instance_with_a_scheduled_decryption_is_refused() -> None:
    plan = _plan(_task("disabled"))
    assert plan.changes == []
    [refusal] = plan.refusals
    assert refusal.code is RefusalCode.ENCRYPTION_CHANGE_PENDING
    assert refusal.address == f"rds_encryption.{INSTANCE}"
    for fact in ("t-1", "to off", "scheduled", "2024-01-01T18:00:00Z", "Task Center"):
        assert fact in refusal.message
    assert "as the instance is now: the task undoes that" in refusal.message


def test_a_matching_instance_without_a_task_plans_nothing() -> None:
    plan = _plan()
    assert (plan.changes, plan.refusals, plan.warnings) == ([], [], [])


def test_a_pending_change_to_the_spec_value_is_not_a_refusal() -> None:
    plan = _plan(_task("ServiceKey"), encrypted=False)
    assert plan.refusals == [] and plan.changes == []
    assert [w.code for w in plan.warnings] == [WarningCode.CHANGE_ALREADY_PENDING]


def test_a_pending_change_to_the_value_the_instance_has_says_nothing() -> None:
    """A task to the value the instance has and the spec wants changes nothing."""
    plan = _plan(_task("ServiceKey"))
    assert (plan.changes, plan.refusals, plan.warnings) == ([], [], [])


def test_a_pending_move_to_another_key_is_refused() -> None:
    plan = _plan(_task("key-0123456789abcdef"))
    [refusal] = plan.refusals
    assert refusal.code is RefusalCode.ENCRYPTION_CHANGE_PENDING
    assert "key key-0123456789abcdef" in refusal.message


def test_a_running_decryption_is_refused_and_cannot_be_cancelled() -> None:
    plan = _plan(_task("disabled", status="Running", progress=40.0))
    [refusal] = plan.refusals
    assert refusal.code is RefusalCode.ENCRYPTION_CHANGE_PENDING
    assert "running" in refusal.message and "wait until it has finished" in refusal.message
    assert "Task Center" not in refusal.message


@pytest.mark.parametrize("encrypted", [True, False])
def test_a_task_whose_target_was_not_read_is_refused(encrypted: bool) -> None:
    """Fail closed: it may be a decryption, whether or not the instance matches the spec."""
    plan = _plan(_task(None, target_unread=True), encrypted=encrypted)
    assert plan.changes == []
    [refusal] = plan.refusals
    assert refusal.code is RefusalCode.ENCRYPTION_CHANGE_PENDING
    assert "pending task of unknown target: task t-1 of type ModifyDBInstanceConfig" in (
        refusal.message
    )
    assert "cancel it in the RDS console's Task Center" in refusal.message


def test_a_task_with_an_unread_target_outranks_a_readable_one() -> None:
    plan = _plan(_task("ServiceKey", task_id="t-2"), _task(None, target_unread=True))
    [refusal] = plan.refusals
    assert "t-1" in refusal.message


def test_a_task_that_is_not_an_encryption_change_is_ignored() -> None:
    plan = _plan(_task(None, task_type="RestartDBInstance"))
    assert (plan.changes, plan.refusals) == ([], [])


@pytest.mark.parametrize(
    ("task", "severity"),
    [
        (_task("disabled"), Severity.CRITICAL),
        (_task(None, target_unread=True), Severity.CRITICAL),
        (_task("ServiceKey"), None),
        (_task("key-0123456789abcdef"), Severity.HIGH),
    ],
)
def test_drift_severity_follows_what_the_pending_change_does(task, severity) -> None:  # type: ignore[no-untyped-def]
    report = build_drift(SPEC, _observed(task))
    found = {i.address: i.severity for i in report.items}
    assert found == ({f"rds_encryption.{INSTANCE}": severity} if severity else {})
    assert report.summary.drift is (severity is not None)


def test_a_task_whose_target_was_not_read_keeps_a_retiring_key_in_use() -> None:
    """Fail closed: a pending change that may be a switch to the key the spec deletes counts
    as a user of it (issue 16: pending changes are facts)."""
    from tests.unit.test_workflow import case

    loaded, observed = case("key-deletion-backups-expired")
    deleting = [c for c in build_plan(loaded.spec, observed).changes if c.action == "delete"]
    assert deleting, "the case schedules a key deletion"
    unread = ObservedTask(
        task_id="t-unread",
        instance_id="pgm-bp1elsewhere0001",
        status="Scheduled",
        task_type="ModifyDBInstanceConfig",
        target_unread=True,
    )
    with_task = observed.model_copy(update={"tasks": [*observed.tasks, unread]})
    plan = build_plan(loaded.spec, with_task)
    refused = [r for r in plan.refusals if r.code is RefusalCode.KEY_IN_USE]
    assert [r.address for r in refused] == [c.address for c in deleting]
    assert "pgm-bp1elsewhere0001" in refused[0].message
    assert "could not be read" in refused[0].message
