"""Apply under the cloud's bad days: throttling storms, busy instances, RAM propagation."""

from __future__ import annotations

from typing import Any

from reconciler.apply.executor import apply_plan
from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.retry import RetryPolicy
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
ONE_INSTANCE = {
    "defaults": {"region": HZ, "restart": "immediate"},
    "instances": {"pgm-bp1gp00000000001": {"encryption": {"key": "service"}}},
}


def fault(emu, **body: object) -> None:  # type: ignore[no-untyped-def]
    world.admin(emu.endpoint, "POST", "faults", dict(body))


def test_a_throttling_and_503_storm_still_applies_once(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, ONE_INSTANCE)
    action = "rds:ModifyDBInstanceConfig"
    fault(demo, action=action, code="Throttling.User", status=400, times=3)
    fault(demo, action=action, code="ServiceUnavailable", status=503, times=2)
    world.reset_calls(demo.endpoint)

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok, result.outcomes
    assert writes(demo) == {action: 6}  # 5 refused, 1 accepted
    tasks = world.admin(demo.endpoint, "GET", "tasks")["tasks"]
    assert [t["instance_id"] for t in tasks] == ["pgm-bp1gp00000000001"]  # one change made
    assert make_plan(clients, ONE_INSTANCE).changes == []


def test_a_lost_answer_of_modify_config_is_resent_with_the_same_token(demo) -> None:  # type: ignore[no-untyped-def]
    """The plan's ClientToken makes ModifyDBInstanceConfig idempotent: a 5xx after which the
    cloud had in fact done the change is sent again, and the cloud does it once."""
    clients = clients_for(demo)
    plan = make_plan(clients, ONE_INSTANCE)
    fault(demo, action="rds:ModifyDBInstanceConfig", code="InternalError", status=500, times=1)

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok
    assert len(world.admin(demo.endpoint, "GET", "tasks")["tasks"]) == 1


def test_a_busy_instance_is_waited_for(slow_demo) -> None:  # type: ignore[no-untyped-def]
    emu = slow_demo
    clients = CloudClients(
        CloudSettings(
            endpoint=emu.endpoint, credentials=StaticCredentials("emulator", "emulator-secret")
        ),
        retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002),
    )
    plan = make_plan(clients, ONE_INSTANCE)
    # Someone else starts the same change: the instance is CONFIG_ENCRYPTING for 30 s, and
    # still reads as unencrypted, so the plan's `before` holds.
    from alibabacloud_rds20140815 import models

    world.rds(emu.endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id="pgm-bp1gp00000000001",
            config_name="encryptionKey",
            config_value="ServiceKey",
            switch_time_mode="Immediate",
        )
    )
    time = FakeTime(emu)
    events = Events()

    result = apply_plan(
        plan, clients, options(time, allow_restart=True, allow_irreversible=True), events
    )

    assert result.ok, result.outcomes
    address = "rds_encryption.pgm-bp1gp00000000001"
    waiting = [e.message for e in events.seen if e.kind == "waiting"]
    assert any("busy (IncorrectDBInstanceState)" in m for m in waiting)
    assert any("CONFIG_ENCRYPTING" in m for m in waiting)
    assert 25 <= sum(time.slept) <= 40  # the 30 s restart, polled once a second
    assert events.kinds(address)[-1] == "done"
    assert make_plan(clients, ONE_INSTANCE).changes == []


def test_a_slow_change_reports_progress_and_reads_at_most_once_a_second(slow_demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(slow_demo)
    plan = make_plan(clients, ONE_INSTANCE)
    time = FakeTime(slow_demo)
    events = Events()
    world.reset_calls(slow_demo.endpoint)

    result = apply_plan(
        plan, clients, options(time, allow_restart=True, allow_irreversible=True), events
    )

    assert result.ok
    progress = [e for e in events.seen if e.kind == "progress"]
    assert progress and all(e.progress is not None and e.remain_s is not None for e in progress)
    counted = world.calls(slow_demo.endpoint)
    polls = counted["rds:DescribeDBInstanceAttribute"] + counted["rds:DescribeHistoryTasks"]
    # One status or task read per second, plus the guards' read before the write.
    assert polls <= len(time.slept) + 2


def test_a_wait_times_out_without_looping_forever(slow_demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(slow_demo)
    plan = make_plan(clients, ONE_INSTANCE)

    result = apply_plan(
        plan,
        clients,
        options(FakeTime(slow_demo), allow_restart=True, allow_irreversible=True, timeout_s=10),
    )

    outcome = result.outcomes[0]
    assert outcome.status == "failed"
    assert "CONFIG_ENCRYPTING after 10 s" in outcome.detail
    assert outcome.request_ids  # the write was made; only the wait gave up


def test_ram_propagation_is_waited_out_after_the_role_is_created(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    fault(
        demo,
        action="rds:ModifyDBInstanceConfig",
        code="ByokNotAuthorizedToRds",
        status=403,
        times=2,
    )
    world.reset_calls(demo.endpoint)
    time = FakeTime(demo)

    result = apply_plan(
        plan, clients, options(time, allow_restart=True, allow_irreversible=True, parallelism=1)
    )

    assert result.ok, result.outcomes
    assert writes(demo)["rds:ModifyDBInstanceConfig"] == 4 + 2
    assert time.slept == [1.0] * 6  # 2 s, then 4 s, in slices of a second
    assert make_plan(clients, REPO_SPECS).changes == []


def test_not_authorised_without_a_ram_change_in_the_run_fails_at_once(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    apply_plan(
        make_plan(clients, REPO_SPECS),
        clients,
        options(FakeTime(demo), allow_restart=True, allow_irreversible=True),
    )
    spec = {
        "defaults": {"region": HZ, "restart": "immediate"},
        "kms_keys": {
            "rds-legacy": {
                "alias": "alias/rds-legacy",
                "tags": {"team": "dba"},
                "description": "legacy RDS key",
            }
        },
        "instances": {"pgm-bp1ded0000000001": {"encryption": {"key": "rds-legacy"}}},
    }
    plan = make_plan(clients, spec)
    assert [c.address for c in plan.changes] == ["rds_encryption.pgm-bp1ded0000000001"]
    fault(
        demo,
        action="rds:ModifyDBInstanceConfig",
        code="ByokNotAuthorizedToRds",
        status=403,
        times=1,
    )
    time = FakeTime(demo)

    result = apply_plan(plan, clients, options(time, allow_restart=True, allow_irreversible=True))

    outcome = result.outcomes[0]
    assert outcome.status == "failed"
    assert "ByokNotAuthorizedToRds" in outcome.detail and "request id" in outcome.detail
    assert time.slept == []


def test_a_status_read_that_fails_ends_the_wait_saying_the_change_was_made(slow_demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(slow_demo)
    plan = make_plan(clients, ONE_INSTANCE)

    def after_the_guards(event: Any) -> None:  # the first status read after the write fails
        if event.kind == "write":
            fault(
                slow_demo,
                action="rds:DescribeDBInstanceAttribute",
                code="Forbidden.RAM",
                status=403,
                times=1,
            )

    result = apply_plan(
        plan,
        clients,
        options(FakeTime(slow_demo), allow_restart=True, allow_irreversible=True),
        after_the_guards,
    )

    outcome = result.outcomes[0]
    assert outcome.status == "failed" and outcome.request_ids
    assert "the change was submitted, but waiting for it failed" in outcome.detail
    assert "Forbidden.RAM" in outcome.detail
