"""Throttling, 5xx and answers lost after the cloud committed, on the write road."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.apply.executor import apply_plan
from reconciler.cli import cli
from reconciler.cloud import clients as clients_module
from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.retry import RetryPolicy
from tests.apply.conftest import Events, FakeTime, make_plan, options, writes
from tests.e2e import world
from tests.e2e.conftest import ENV
from tests.faults.conftest import (
    GP,
    MODIFY,
    ONE_INSTANCE,
    accepted_tokens,
    fault,
    lose_answer,
    tasks,
)


def recording_clients(emu, slept: list[float], **settings: object) -> CloudClients:  # type: ignore[no-untyped-def]
    """The real clients, whose retry policy records its waits instead of sleeping them."""
    return CloudClients(
        CloudSettings(
            endpoint=emu.endpoint,
            credentials=StaticCredentials("emulator", "emulator-secret"),
            **settings,  # type: ignore[arg-type]
        ),
        retry=RetryPolicy(base_delay=0.005, max_delay=0.02, sleep=slept.append),
    )


def test_throttled_three_times_then_success_honouring_retry_after(demo) -> None:  # type: ignore[no-untyped-def]
    slept: list[float] = []
    clients = recording_clients(demo, slept)
    plan = make_plan(clients, ONE_INSTANCE)
    fault(demo, action=MODIFY, code="Throttling.User", status=400, times=3, retry_after_ms=700)
    world.reset_calls(demo.endpoint)

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok, result.outcomes
    assert writes(demo) == {MODIFY: 4}  # three throttled, one accepted
    assert slept == [0.7, 0.7, 0.7]  # the server's x-acs-retry-after, over our own 20 ms cap
    assert len(tasks(demo)) == 1
    assert make_plan(clients, ONE_INSTANCE).changes == []


def test_endless_throttling_ends_before_the_deadline_exit_1_nothing_done(
    demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The CLI's own retry policy (8 attempts within a 120 s deadline), on a clock that only
    moves when it sleeps: the run gives up within the deadline and reports nothing as done."""
    time = FakeTime()
    policy = RetryPolicy()
    monkeypatch.setattr(
        clients_module,
        "RetryPolicy",
        lambda: RetryPolicy(clock=time.clock, sleep=time.sleep, deadline=policy.deadline),
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump({"version": 1, **ONE_INSTANCE}))
    fault(demo, action=MODIFY, code="Throttling.User", status=400, rate=1.0, retry_after_ms=9000)

    result = CliRunner().invoke(
        cli,
        [
            "--endpoint",
            demo.endpoint,
            "apply",
            "spec.yaml",
            "--auto-approve",
            "--allow-restart",
            "--allow-irreversible",
        ],
        env=ENV,
    )

    assert result.exit_code == 1, result.stdout + result.stderr
    assert 0 < sum(time.slept) <= policy.deadline
    assert "Throttling.User" in result.stdout and "request id" in result.stdout
    assert "Apply failed: 0 changed, 0 scheduled, 1 failed, 0 not started." in result.stdout
    assert "Apply complete" not in result.stdout
    assert tasks(demo) == []


def test_a_503_on_modify_config_is_retried_with_the_same_token_and_applied_once(demo) -> None:  # type: ignore[no-untyped-def]
    clients = recording_clients(demo, [])
    plan = make_plan(clients, ONE_INSTANCE)
    token = plan.changes[0].operations[0].params["ClientToken"]
    fault(demo, action=MODIFY, code="ServiceUnavailable", status=503, times=2)
    world.reset_calls(demo.endpoint)

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok, result.outcomes
    assert writes(demo) == {MODIFY: 3}
    assert accepted_tokens(demo) == [token]  # the plan's token, accepted once
    assert [t["instance_id"] for t in tasks(demo)] == [GP]
    assert make_plan(clients, ONE_INSTANCE).changes == []


@pytest.mark.parametrize(
    ("how", "extra", "settings"),
    [
        ("reset", {}, {}),
        ("read-timeout", {"delay_ms": 600}, {"read_timeout_ms": 250}),
        ("truncated", {"mode": "truncate"}, {}),
    ],
)
def test_a_modify_config_whose_answer_is_lost_after_the_commit_converges_once(
    slow_demo, how: str, extra: dict, settings: dict
) -> None:  # type: ignore[no-untyped-def]
    """The cloud made the change, then the answer was lost (the connection dropped, a read
    timeout, half an answer): the write is sent again with the same ClientToken, which the
    cloud answers with its first answer, making no second change."""
    clients = recording_clients(slow_demo, [], **settings)
    plan = make_plan(clients, ONE_INSTANCE)
    token = plan.changes[0].operations[0].params["ClientToken"]
    lose_answer(slow_demo, MODIFY, **extra)
    world.reset_calls(slow_demo.endpoint)
    events = Events()

    result = apply_plan(
        plan,
        clients,
        options(FakeTime(slow_demo), allow_restart=True, allow_irreversible=True),
        events,
    )

    assert result.ok, result.outcomes
    assert writes(slow_demo) == {MODIFY: 2}  # the lost one and its replay
    assert accepted_tokens(slow_demo) == [token]
    assert len(tasks(slow_demo)) == 1  # one change made
    assert make_plan(clients, ONE_INSTANCE).changes == []


def test_the_same_token_with_new_parameters_is_surfaced_not_retried(demo) -> None:  # type: ignore[no-untyped-def]
    """Someone used the plan's ClientToken with other parameters (here: the same key, for the
    maintenance window): the cloud refuses the plan's call as IdempotentParameterMismatch,
    which apply reports with its code and request id and never sends again."""
    from alibabacloud_rds20140815 import models

    clients = recording_clients(demo, [])
    plan = make_plan(clients, ONE_INSTANCE)
    params = plan.changes[0].operations[0].params
    world.rds(demo.endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=GP,
            config_name="encryptionKey",
            config_value="ServiceKey",
            switch_time_mode="MaintainTime",
            client_token=params["ClientToken"],
        )
    )
    world.reset_calls(demo.endpoint)

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    outcome = result.outcomes[0]
    assert outcome.status == "failed"
    assert "IdempotentParameterMismatch" in outcome.detail and "request id" in outcome.detail
    assert writes(demo) == {MODIFY: 1}
