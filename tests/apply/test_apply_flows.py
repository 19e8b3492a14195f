"""Apply carries plans out through the emulator; each test ends by planning again and finding
nothing left to do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reconciler.apply.executor import apply_plan
from reconciler.apply.journal import Journal
from reconciler.emulator.clock import parse_iso
from tests.apply.conftest import (
    REPO_SPECS,
    Events,
    FakeTime,
    clients_for,
    make_plan,
    options,
    writes,
)
from tests.e2e import world

HZ = "cn-hangzhou"


def _encryption_key(emu, instance_id: str) -> str:  # type: ignore[no-untyped-def]
    from alibabacloud_rds20140815 import models

    body = (
        world.rds(emu.endpoint)
        .describe_dbinstance_encryption_key(
            models.DescribeDBInstanceEncryptionKeyRequest(dbinstance_id=instance_id, region_id=HZ)
        )
        .body
    )
    return body.encryption_key or ""


def _key_id(emu, alias: str, region: str = HZ) -> str:  # type: ignore[no-untyped-def]
    from alibabacloud_kms20160120 import models

    client = world.kms(emu.endpoint, region)
    return client.describe_key(models.DescribeKeyRequest(key_id=alias)).body.key_metadata.key_id


def test_greenfield_cmk_rollout_of_the_demo_fleet(demo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    world.reset_calls(demo.endpoint)
    journal = Journal(tmp_path / "journal.jsonl")
    events = Events()

    result = apply_plan(
        plan,
        clients,
        options(FakeTime(demo), allow_restart=True, allow_irreversible=True, journal=journal),
        events,
    )

    assert result.ok, result.outcomes
    assert [o.address for o in result.outcomes] == [c.address for c in plan.changes]
    assert {o.status for o in result.outcomes} == {"done"}
    assert all(o.request_ids for o in result.outcomes)
    assert writes(demo) == {
        "ram:CreatePolicy": 1,
        "ram:CreateRole": 1,
        "ram:AttachPolicyToRole": 1,
        "kms:TagResource": 1,
        "kms:CreateKey": 2,
        "kms:CreateAlias": 2,
        "kms:SetDeletionProtection": 2,
        "rds:ModifyDBInstanceConfig": 4,
        "rds:ModifyDBInstanceTDE": 1,
    }
    # The references resolved to the keys this run created.
    prod = _key_id(demo, "alias/rds-prod")
    assert _encryption_key(demo, "pgm-bp1ded0000000001") == prod
    assert _encryption_key(demo, "pgm-bp1ded0000000002") == prod
    for address in ("kms_key.rds-prod", "rds_encryption.pgm-bp1ded0000000001"):
        assert events.kinds(address)[0] == "started"
        assert events.kinds(address)[-1] == "done"
    assert make_plan(clients, REPO_SPECS).changes == []


def test_instances_run_in_parallel_within_the_bound(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    events = Events()
    result = apply_plan(
        plan,
        clients,
        options(FakeTime(demo), allow_restart=True, allow_irreversible=True, parallelism=2),
        events,
    )
    assert result.ok
    in_flight, most = 0, 0
    for event in events.seen:
        instance = event.address.startswith(("rds_encryption.", "rds_tde."))  # in parallel
        if instance and event.kind == "started":
            in_flight += 1
            most = max(most, in_flight)
        elif instance and event.kind == "done":
            in_flight -= 1
        elif event.kind == "started":  # every other change runs alone
            assert in_flight == 0
    assert most == 2


SERVICE_KEY_SPEC = {
    "defaults": {"region": HZ, "restart": "immediate"},
    "instances": {"pgm-bp1gp00000000001": {"encryption": {"key": "service"}}},
}


def test_service_key(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, SERVICE_KEY_SPEC)
    assert [c.address for c in plan.changes] == ["rds_encryption.pgm-bp1gp00000000001"]

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok
    assert result.outcomes[0].status == "done"
    assert "service key" in result.outcomes[0].detail
    assert _encryption_key(demo, "pgm-bp1gp00000000001") == _key_id(demo, "alias/acs/rds")
    assert make_plan(clients, SERVICE_KEY_SPEC).changes == []


KEY_SWITCH_SPEC = {
    "defaults": {"region": HZ, "restart": "immediate"},
    "kms_keys": {
        "rds-legacy": {"alias": "alias/rds-legacy", "description": "legacy RDS key"},
        "rds-prod": {"alias": "alias/rds-prod", "tags": {"team": "dba"}},
    },
    "instances": {
        "pgm-bp1ded0000000002": {"encryption": {"key": "rds-legacy"}},  # service key -> CMK
        "pgm-bp1ded0000000003": {"encryption": {"key": "rds-prod"}},  # CMK -> another CMK
    },
}


def test_key_switch(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, KEY_SWITCH_SPEC)
    assert not plan.refusals

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok, result.outcomes
    assert _encryption_key(demo, "pgm-bp1ded0000000002") == _key_id(demo, "alias/rds-legacy")
    assert _encryption_key(demo, "pgm-bp1ded0000000003") == _key_id(demo, "alias/rds-prod")
    assert make_plan(clients, KEY_SWITCH_SPEC).changes == []


DISABLE_SPEC = {
    "defaults": {"region": HZ, "restart": "immediate"},
    "instances": {
        "pgm-bp1ded0000000002": {"encryption": "disabled"},  # on the service key today
        "pgm-bp1ded0000000003": {"encryption": "disabled"},  # on alias/rds-legacy today
    },
}


def test_disabling_encryption(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, DISABLE_SPEC)
    assert len(plan.changes) == 2

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok, result.outcomes
    assert _encryption_key(demo, "pgm-bp1ded0000000002") == ""
    assert _encryption_key(demo, "pgm-bp1ded0000000003") == ""
    assert make_plan(clients, DISABLE_SPEC).changes == []


WINDOW_SPEC = {
    "defaults": {"region": HZ, "restart": "maintenance-window"},
    "instances": {"pgm-bp1ded0000000001": {"encryption": {"key": "service"}}},
}


def test_maintenance_window_change_is_scheduled_then_runs_in_the_window(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, WINDOW_SPEC)
    assert plan.changes[0].scheduled and plan.changes[0].restart
    time = FakeTime(demo)

    # --allow-restart all the same: that RDS waits for the window is not documented.
    result = apply_plan(plan, clients, options(time, allow_restart=True, allow_irreversible=True))

    outcome = result.outcomes[0]
    assert result.ok
    assert outcome.status == "scheduled"
    tasks = world.admin(demo.endpoint, "GET", "tasks")["tasks"]
    assert len(tasks) == 1 and tasks[0]["status"] == "Scheduled"
    assert f"starts at {tasks[0]['start_time']}" in outcome.detail
    assert "maintenance window" in outcome.detail
    assert time.slept == []  # not waited for
    assert _encryption_key(demo, "pgm-bp1ded0000000001") == ""

    # Before the window: the change is pending, not planned again.
    again = make_plan(clients, WINDOW_SPEC)
    assert again.changes == []
    assert [w.code for w in again.warnings] == ["ChangeAlreadyPending"]

    # The emulated clock passes the window: the change has run.
    world.admin(demo.endpoint, "POST", "tasks", {"to": "end"})
    assert _encryption_key(demo, "pgm-bp1ded0000000001") == _key_id(demo, "alias/acs/rds")
    final = make_plan(clients, WINDOW_SPEC)
    assert final.changes == [] and final.warnings == []


@pytest.mark.parametrize("inside", [False, True], ids=["outside-the-window", "inside-the-window"])
def test_a_window_change_waits_for_the_window_or_runs_at_once_inside_it(  # type: ignore[no-untyped-def]
    demo, inside: bool
) -> None:
    """The same plan at two emulated times of day, whatever the real hour: outside the window
    the change is Scheduled for its next opening and the instance keeps its key until then;
    inside it the cloud starts it at once. Apply waits for neither."""
    moment = world.clock_at(
        demo.endpoint, world.INSIDE_DEMO_WINDOW if inside else world.OUTSIDE_DEMO_WINDOW
    )
    clients = clients_for(demo)
    time = FakeTime(demo)

    result = apply_plan(
        make_plan(clients, WINDOW_SPEC),
        clients,
        options(time, allow_restart=True, allow_irreversible=True),
    )

    assert result.ok and result.outcomes[0].status == "scheduled"
    assert time.slept == []
    [task] = world.admin(demo.endpoint, "GET", "tasks")["tasks"]
    start = parse_iso(task["start_time"])
    again = make_plan(clients, WINDOW_SPEC)
    detail = result.outcomes[0].detail
    if inside:
        assert task["status"] == "Succeed"  # restart_seconds=0: started and done at once
        assert moment <= start < moment + timedelta(minutes=1)
        assert "at once: the maintenance window is open now" in detail, detail
        assert _encryption_key(demo, "pgm-bp1ded0000000001") == _key_id(demo, "alias/acs/rds")
        assert again.changes == [] and again.warnings == []
    else:
        assert task["status"] == "Scheduled"
        assert start == moment.replace(hour=18, minute=0)  # the window's next opening: today
        assert f"starts at {task['start_time']}" in detail, detail
        assert _encryption_key(demo, "pgm-bp1ded0000000001") == ""
        assert again.changes == []
        assert [w.code for w in again.warnings] == ["ChangeAlreadyPending"]


RETIRE_SPEC = {
    "defaults": {"region": HZ, "restart": "immediate"},
    "kms_keys": {
        "rds-legacy": {
            "alias": "alias/rds-legacy",
            "description": "legacy RDS key",
            "tags": {"team": "dba"},
            "state": "disabled",
        }
    },
    "instances": {"pgm-bp1ded0000000003": {"encryption": {"key": "service"}}},
}


def test_a_key_is_disabled_only_after_its_instance_moved_off(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, RETIRE_SPEC)
    assert not plan.refusals, plan.refusals
    assert [c.address for c in plan.changes][-1] == "kms_key.rds-legacy"
    events = Events()

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True), events
    )

    assert result.ok, result.outcomes
    order = [e.address for e in events.seen if e.kind in ("started", "done")]
    assert order.index("kms_key.rds-legacy") > max(
        i for i, a in enumerate(order) if a == "rds_encryption.pgm-bp1ded0000000003"
    )
    assert make_plan(clients, RETIRE_SPEC).changes == []
