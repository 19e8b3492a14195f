"""An instance held busy is waited for; a terminal state ends the wait at once."""

from __future__ import annotations

from reconciler.apply.executor import apply_plan
from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.retry import RetryPolicy
from tests.apply.conftest import Events, FakeTime, make_plan, options
from tests.e2e import world
from tests.faults.conftest import GP, MODIFY, ONE_INSTANCE, accepted_tokens, hold_busy, tasks


def quick_clients(emu) -> CloudClients:  # type: ignore[no-untyped-def]
    """Few shared retries, so a busy write soon reaches apply's own wait for Running."""
    return CloudClients(
        CloudSettings(
            endpoint=emu.endpoint, credentials=StaticCredentials("emulator", "emulator-secret")
        ),
        retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002),
    )


def test_an_instance_busy_for_five_reads_is_waited_for_then_changed_once(demo) -> None:  # type: ignore[no-untyped-def]
    clients = quick_clients(demo)
    plan = make_plan(clients, ONE_INSTANCE)
    hold_busy(demo, GP, reads=5)
    world.reset_calls(demo.endpoint)
    time = FakeTime(demo)
    events = Events()

    result = apply_plan(
        plan, clients, options(time, allow_restart=True, allow_irreversible=True), events
    )

    assert result.ok, result.outcomes
    counted = world.calls(demo.endpoint)
    assert counted[MODIFY] == 3  # refused twice as busy (the shared retries), then accepted
    assert counted["rds:DescribeDBInstanceAttribute"] >= 6  # five busy reads, then Running
    waiting = [e.message for e in events.seen if e.kind == "waiting"]
    assert any("busy (IncorrectDBInstanceState)" in m for m in waiting)
    assert any(f"{GP} is CONFIG_ENCRYPTING" in m for m in waiting)
    assert 4 <= sum(time.slept) <= 8  # one status read a second
    assert len(accepted_tokens(demo)) == 1 and len(tasks(demo)) == 1
    assert make_plan(clients, ONE_INSTANCE).changes == []


def test_a_terminal_state_while_waiting_is_not_looped_on(slow_demo) -> None:  # type: ignore[no-untyped-def]
    """The change is made; while it runs, the instance turns Deleting (held so for a thousand
    reads): the wait ends at the next status read, it does not poll until the timeout."""
    clients = quick_clients(slow_demo)
    plan = make_plan(clients, ONE_INSTANCE)
    held: list[str] = []

    def on_event(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "waiting" and "CONFIG_ENCRYPTING" in event.message and not held:
            held.append(event.message)
            hold_busy(slow_demo, GP, reads=1000, status="Deleting")

    world.reset_calls(slow_demo.endpoint)
    result = apply_plan(
        plan,
        clients,
        options(FakeTime(slow_demo), allow_restart=True, allow_irreversible=True),
        on_event,
    )

    outcome = result.outcomes[0]
    assert outcome.status == "failed" and held
    assert f"instance {GP} is Deleting" in outcome.detail
    assert outcome.request_ids  # the write was made; the wait saw the end
    assert world.calls(slow_demo.endpoint)["rds:DescribeDBInstanceAttribute"] <= 3


def test_a_busy_instance_that_turns_terminal_is_not_written_to(demo) -> None:  # type: ignore[no-untyped-def]
    clients = quick_clients(demo)
    plan = make_plan(clients, ONE_INSTANCE)
    hold_busy(demo, GP, reads=1000, status="Deleting")
    world.reset_calls(demo.endpoint)

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    outcome = result.outcomes[0]
    assert outcome.status == "failed"
    assert "IncorrectDBInstanceState" in outcome.detail and "is Deleting" in outcome.detail
    counted = world.calls(demo.endpoint)
    # The guards' read before the write, and the waiter's one read that finds it Deleting.
    assert counted[MODIFY] == 2 and counted["rds:DescribeDBInstanceAttribute"] == 2
    assert tasks(demo) == []
