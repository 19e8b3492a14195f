"""Retries against the emulator's injected faults and quotas, and the call bound (README,
"Measured"): throttled or failing calls never reach the user; reads stay within
N + ceil(N/100) + K + 10."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from tests.e2e import world
from tests.e2e.conftest import plan_json

SPECS = str(Path(__file__).resolve().parents[2] / "specs")


def fault(endpoint: str, **body: object) -> None:
    world.admin(endpoint, "POST", "faults", dict(body))


def baseline(endpoint: str, folder: str) -> tuple[dict, int]:
    world.reset_calls(endpoint)
    run = plan_json(endpoint, folder)
    assert run.exit_code == 0, run.stderr
    total = world.admin(endpoint, "GET", "calls")["total"]
    world.reset_calls(endpoint)
    return run.plan, total


def addresses(plan: dict) -> list[str]:
    return [c["address"] for c in plan["changes"]]


def test_throttling_and_unavailable_answers_are_retried(demo) -> None:  # type: ignore[no-untyped-def]
    expected, calls = baseline(demo.endpoint, SPECS)
    fault(
        demo.endpoint,
        action="DescribeDBInstanceEncryptionKey",
        code="Throttling.User",
        status=400,
        times=3,
    )
    fault(
        demo.endpoint,
        action="rds:DescribeDBInstances",
        code="ServiceUnavailable",
        status=503,
        times=2,
    )
    fault(demo.endpoint, action="kms:DescribeKey", code="Rejected.Throttling", status=429, times=2)
    fault(demo.endpoint, action="ram:GetRole", code="InternalError", status=500, times=1)
    run = plan_json(demo.endpoint, SPECS, "--stats")
    assert run.exit_code == 0, run.stderr
    assert addresses(run.plan) == addresses(expected)
    assert run.plan["fingerprint"] == expected["fingerprint"]
    assert world.admin(demo.endpoint, "GET", "calls")["total"] == calls + 8
    assert "retried" in run.stderr  # --stats shows the retries


def test_random_throttling_never_reaches_the_user(demo) -> None:  # type: ignore[no-untyped-def]
    expected, _ = baseline(demo.endpoint, SPECS)
    fault(demo.endpoint, action="*", code="Throttling.User", status=400, rate=0.3, seed=5)
    run = plan_json(demo.endpoint, SPECS)
    assert run.exit_code == 0, run.stderr
    assert run.plan["fingerprint"] == expected["fingerprint"]


def test_retry_after_header_is_honoured(demo) -> None:  # type: ignore[no-untyped-def]
    fault(
        demo.endpoint,
        action="DescribeAccountKmsStatus",
        code="Throttling.Api",
        status=400,
        times=1,
        retry_after_ms=400,
    )
    started = time.monotonic()
    run = plan_json(demo.endpoint, SPECS)
    assert run.exit_code == 0, run.stderr
    assert time.monotonic() - started >= 0.4


def test_permanent_error_is_not_retried_and_is_one_line(demo) -> None:  # type: ignore[no-untyped-def]
    fault(
        demo.endpoint,
        action="DescribeDBInstances",
        code="Forbidden.NoPermission",
        status=403,
        times=100,
    )
    world.reset_calls(demo.endpoint)
    run = plan_json(demo.endpoint, SPECS)
    assert run.exit_code == 1 and run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "Forbidden.NoPermission" in run.stderr and "credentials" in run.stderr
    by_action = world.calls(demo.endpoint)
    assert by_action["rds:DescribeDBInstances"] <= 2  # one per region, never retried


@pytest.fixture
def fleet(emulator, write_spec):  # type: ignore[no-untyped-def]
    """N instances on the service key, all managed, plus two keys (as the spec wants them)."""

    def build(count: int) -> str:
        for alias in ("alias/a", "alias/b"):
            world.create_key(
                emulator.endpoint, alias=alias, tags={"acs:rds:instance-encryption": "true"}
            )
        ids = [
            world.create_instance(
                emulator.endpoint, encryption_key="ServiceKey", class_code="pg.n2.2c.2m"
            )
            for _ in range(count)
        ]
        return write_spec(
            {
                "kms_keys": {"a": {"alias": "alias/a"}, "b": {"alias": "alias/b"}},
                "instances": {i: {"encryption": {"key": "service"}} for i in ids},
            }
        )

    return build


def test_call_count_of_a_200_instance_world_is_within_the_bound(emulator, fleet) -> None:  # type: ignore[no-untyped-def]
    n, keys = 200, 2
    folder = fleet(n)
    world.reset_calls(emulator.endpoint)
    run = plan_json(emulator.endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout + run.stderr  # all on the service key: no changes
    calls = world.admin(emulator.endpoint, "GET", "calls")
    lower = n + math.ceil(n / 100)
    bound = n + math.ceil(n / 100) + keys + 10
    assert lower <= calls["total"] <= bound, calls
    assert calls["by_action"]["rds:DescribeDBInstanceEncryptionKey"] == n
    assert calls["by_action"]["rds:DescribeDBInstances"] == math.ceil(n / 100)
    assert "rds:DescribeDBInstanceAttribute" not in calls["by_action"]


def test_client_rate_limit_keeps_under_a_quota(emulator, fleet) -> None:  # type: ignore[no-untyped-def]
    """With the limit set under the quota, not one call is throttled, and the wall time is
    about calls / quota."""
    n, quota = 100, 50
    folder = fleet(n)
    world.set_quota(emulator.endpoint, "DescribeDBInstanceEncryptionKey", quota)
    world.reset_calls(emulator.endpoint)
    started = time.monotonic()
    run = plan_json(
        emulator.endpoint, folder, "--rate-limit", f"DescribeDBInstanceEncryptionKey={quota - 5}"
    )
    elapsed = time.monotonic() - started
    assert run.exit_code == 0, run.stderr
    by_action = world.calls(emulator.endpoint)
    assert by_action["rds:DescribeDBInstanceEncryptionKey"] == n, "no call was throttled"
    assert elapsed <= 1.2 * n / (quota - 5) + 1.0


def test_quota_without_client_limit_is_absorbed_by_retries(emulator, fleet) -> None:  # type: ignore[no-untyped-def]
    n, quota = 100, 40
    folder = fleet(n)
    world.set_quota(emulator.endpoint, "DescribeDBInstanceEncryptionKey", quota)
    world.reset_calls(emulator.endpoint)
    run = plan_json(emulator.endpoint, folder)
    assert run.exit_code == 0, run.stderr
    assert run.plan["changes"] == [] and run.plan["refusals"] == []
    sent = world.calls(emulator.endpoint)["rds:DescribeDBInstanceEncryptionKey"]
    assert sent > n, "the quota did throttle some calls, and every one was retried"


@pytest.mark.parametrize(
    ("restart", "retire_key"),
    [("maintenance-window", False), ("immediate", False), ("maintenance-window", True)],
)
def test_the_call_bound_holds_in_every_configuration(  # type: ignore[no-untyped-def]
    emulator, write_spec, restart: str, retire_key: bool
) -> None:
    """Either restart policy, with every instance planning a change (encryption off), and a
    spec that disables a key: the window is not read, and the key's users come from one
    census call, not from reading every instance of the region."""
    n = 120
    ids = [world.create_instance(emulator.endpoint, class_code="pg.n2.2c.2m") for _ in range(n)]
    world.create_key(
        emulator.endpoint, alias="alias/old", tags={"acs:rds:instance-encryption": "true"}
    )
    unmanaged = [world.create_instance(emulator.endpoint) for _ in range(30)]
    doc: dict = {
        "defaults": {"restart": restart},
        "instances": {i: {"encryption": {"key": "service"}} for i in ids},
    }
    if retire_key:
        doc["kms_keys"] = {"old": {"alias": "alias/old", "state": "disabled"}}
    folder = write_spec(doc)
    world.reset_calls(emulator.endpoint)
    run = plan_json(emulator.endpoint, folder)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert len(run.plan["changes"]) == n + int(retire_key)
    calls = world.admin(emulator.endpoint, "GET", "calls")
    keys = int(retire_key)
    listed = n + len(unmanaged)
    bound = n + math.ceil(listed / 100) + keys + 10
    if retire_key:  # the region's backup sets (issue 18): every engine listed, each instance's
        bound += listed + math.ceil(listed / 100)  # sets (kinds/kms_key/backups.py)
    assert calls["total"] <= bound, calls
    assert "rds:DescribeDBInstanceAttribute" not in calls["by_action"]
    assert calls["by_action"].get("rds:DescribeKmsAssociateResources", 0) == keys
