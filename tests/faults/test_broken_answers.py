"""A malformed or truncated answer is a typed error naming the action, never "no changes" or
"in sync", on every read the plan and drift depend on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cloud import clients as clients_module
from reconciler.cloud.retry import RetryPolicy
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import run_cli
from tests.faults.conftest import lose_answer

SPECS = str(Path(__file__).resolve().parents[2] / "specs")
READS = [
    "rds:DescribeDBInstances",
    "rds:DescribeDBInstanceEncryptionKey",
    "kms:DescribeKey",
    "kms:ListResourceTags",
    "rds:DescribeHistoryTasks",
]
MODES = ["truncate", "garble", "empty"]
SAYS = {
    "truncate": "connection reset",  # half an answer, then the connection closed
    "garble": "not an Alibaba Cloud API response",
    "empty": "UnexpectedAnswer",
}


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's retry policy with millisecond waits: the same attempts, less sleeping."""
    monkeypatch.setattr(
        clients_module, "RetryPolicy", lambda: RetryPolicy(base_delay=0.001, max_delay=0.002)
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", READS)
@pytest.mark.parametrize("command", ["plan", "drift"])
def test_a_broken_answer_stops_the_command_with_a_typed_error(
    demo, command: str, action: str, mode: str
) -> None:  # type: ignore[no-untyped-def]
    lose_answer(demo, action, mode=mode, times=1000)  # every answer of that read, every retry

    run = run_cli("--endpoint", demo.endpoint, command, SPECS, "--format", "json")

    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.stdout == ""  # no plan, no report: nothing that could read as "no drift"
    assert "Traceback" not in run.stderr
    error = run.stderr.strip().splitlines()[-1]
    assert error.startswith("Error: ") and action in error, error
    assert SAYS[mode] in error, error


EVERY_READ = [
    "rds:DescribeDBInstances",
    "rds:DescribeDBInstanceEncryptionKey",
    "rds:DescribeKmsAssociateResources",
    "rds:DescribeHistoryTasks",
    "kms:DescribeKey",
    "kms:ListResourceTags",
    "kms:DescribeAccountKmsStatus",
    "kms:ListKeys",
    "kms:ListAliases",
    "ram:GetPolicy",
    "ram:GetRole",
    "ram:ListPoliciesForRole",
]
DISABLE_A_KEY = Path(__file__).with_name("disable-a-key")
"""A spec that disables the legacy key (its users are read: DescribeKmsAssociateResources)."""
WORLDS = {
    # the demo world as seeded (keys to create: the lost-key search runs), and as applied
    # (RAM exists: its reads answer). The attribute and alias-list reads are covered by the
    # persistent-fault property (tests/e2e/test_fault_property.py).
    "demo": (SPECS, str(DISABLE_A_KEY)),
    "applied": (SPECS,),
}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Emulator]]:
    with (
        Emulator(":memory:", settings=Settings(restart_seconds=0), seed="demo") as fresh,
        Emulator(":memory:", settings=Settings(restart_seconds=0), seed="demo") as applied,
    ):
        here = os.getcwd()
        os.chdir(tmp_path_factory.mktemp("apply"))  # its .reconciler/ goes there
        try:
            done = run_cli(
                "--endpoint",
                applied.endpoint,
                "apply",
                SPECS,
                "--auto-approve",
                "--allow-restart",
                "--allow-irreversible",
            )
        finally:
            os.chdir(here)
        assert done.exit_code == 0, done.stdout + done.stderr
        yield {"demo": fresh, "applied": applied}


@pytest.mark.parametrize("action", EVERY_READ)
def test_an_answer_without_its_fields_is_never_read_as_nothing(worlds, action: str) -> None:  # type: ignore[no-untyped-def]
    """`{}` instead of the answer (valid JSON, none of its fields): never "no tags", "no
    policy attached", "no task" or "no instance": every command that read it exits 1."""
    reached = 0
    for name, paths in WORLDS.items():
        emu = worlds[name]
        for path in paths:
            for command in ("plan", "drift"):
                lose_answer(emu, action, mode="empty", times=1000)
                try:
                    run = run_cli("--endpoint", emu.endpoint, command, path, "--format", "json")
                    (left,) = world.admin(emu.endpoint, "GET", "faults")["faults"] or [{}]
                finally:
                    world.admin(emu.endpoint, "DELETE", "faults")
                if left.get("times", 1000) == 1000:
                    continue  # no successful answer of that read was replaced
                reached += 1
                assert run.exit_code == 1, (name, path, command, run.stdout[:300])
                assert run.stdout == "" and "UnexpectedAnswer" in run.stderr, run.stderr
    assert reached, f"no command read {action}: the test would prove nothing"
