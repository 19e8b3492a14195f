"""apply in a real process, stopped or raced: Ctrl-C (SIGINT), kill -9, two applies at once.

The world: INSTANCES dedicated instances on the service key, a spec that turns their
encryption off (restart: immediate); every call takes LATENCY_MS and a restart RESTART_S on
the emulated clock (which follows real time), so an apply at parallelism 2 takes several
seconds and a signal finds it mid-way. Every test ends with a plan that reports no changes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import ENV

INSTANCES = 8
PARALLELISM = 2
LATENCY_MS = 50
RESTART_S = 1.5
MODIFY = "rds:ModifyDBInstanceConfig"


def instance_ids() -> list[str]:
    return [f"pgm-bp1sig{n:010d}" for n in range(INSTANCES)]


@pytest.fixture
def busy_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(endpoint, spec folder); the test runs in tmp_path (its own .reconciler/)."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        yaml.safe_dump(
            {
                "regions": ["cn-hangzhou"],
                "rds_instances": [
                    {
                        "id": i,
                        "region": "cn-hangzhou",
                        "class": "pg.x4.large.2c",
                        "encryption": "service",
                    }
                    for i in instance_ids()
                ],
            }
        )
    )
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "spec.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
                "instances": {i: {"encryption": "disabled"} for i in instance_ids()},
            }
        )
    )
    monkeypatch.chdir(tmp_path)
    settings = Settings(restart_seconds=RESTART_S)
    with Emulator(":memory:", settings=settings, seed=str(seed)) as emu:
        world.admin(emu.endpoint, "POST", "latency", {"ms": LATENCY_MS})
        yield emu.endpoint, str(spec)


def start_apply(
    endpoint: str, spec: str, *extra: str, env: dict[str, str | None] | None = None
) -> subprocess.Popen[str]:
    """`env`: what to set (None: unset) instead of the emulator's own credentials (ENV)."""
    environ = {**os.environ, **(ENV if env is None else env)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "--endpoint",
            endpoint,
            "apply",
            spec,
            "--auto-approve",
            "--allow-restart",
            "--allow-irreversible",
            "--parallelism",
            str(PARALLELISM),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in environ.items() if v is not None},
    )


def modifies(endpoint: str) -> int:
    return int(world.calls(endpoint).get(MODIFY, 0))


def wait_for_writes(endpoint: str, process: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 60
    while modifies(endpoint) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "apply never got going"
        time.sleep(0.02)


def journal() -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(".reconciler/journal.jsonl").read_text().splitlines()]


def runs(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The journal cut into runs (each begins with a `start` entry)."""
    found: list[list[dict[str, Any]]] = []
    for entry in entries:
        if entry["event"] == "start":
            found.append([])
        found[-1].append(entry)
    return found


def assert_converged(endpoint: str, spec: str) -> None:
    again = CliRunner().invoke(
        cli, ["--endpoint", endpoint, "plan", spec, "--detailed-exitcode"], env=ENV
    )
    assert again.exit_code == 0, again.stdout + again.stderr


def test_sigint_mid_apply_stops_new_writes_and_leaves_the_journal_consistent(
    busy_world: tuple[str, str],
) -> None:
    endpoint, spec = busy_world
    process = start_apply(endpoint, spec)
    wait_for_writes(endpoint, process, 2)
    at_signal = modifies(endpoint)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    after_exit = modifies(endpoint)
    assert process.returncode == 130, stdout + stderr
    assert "Interrupted by SIGINT" in stderr and "Apply stopped" in stderr
    assert "Traceback" not in stderr
    # Only writes already being sent (one per worker) may land after the signal.
    assert after_exit - at_signal <= PARALLELISM, (at_signal, after_exit)
    assert after_exit < INSTANCES, "apply went on writing"
    # The journal: whole lines, a start and an end, every write announced and answered.
    (run,) = runs(journal())
    assert run[0]["event"] == "start" and run[-1]["event"] == "end"
    before = [e for e in run if e["event"] == "before"]
    after = [e for e in run if e["event"] == "after"]
    assert sorted(e["address"] for e in before) == sorted(e["address"] for e in after)
    sent = [e for e in after if e["result"] == "ok"]
    assert len(sent) == after_exit, "every write that reached the cloud is in the journal"
    assert set(run[-1]["outcomes"].values()) <= {"done", "not_started", "failed"}
    # A rerun carries on and converges.
    rerun = start_apply(endpoint, spec)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out + err
    assert_converged(endpoint, spec)


def test_kill_9_mid_apply_then_the_same_saved_plan_converges_without_a_repeated_write(
    busy_world: tuple[str, str], tmp_path: Path
) -> None:
    endpoint, spec = busy_world
    plan_file = tmp_path / "plan.json"
    made = CliRunner().invoke(
        cli, ["--endpoint", endpoint, "plan", spec, "-o", str(plan_file)], env=ENV
    )
    assert made.exit_code == 0, made.stderr
    tokens = {
        c["address"]: op["params"]["ClientToken"]
        for c in json.loads(plan_file.read_text())["changes"]
        for op in c["operations"]
    }
    process = start_apply(endpoint, spec, "--plan", str(plan_file))
    wait_for_writes(endpoint, process, 3)
    process.kill()
    process.wait(timeout=30)
    first_run_writes = modifies(endpoint)
    assert first_run_writes < INSTANCES, "the kill came too late to test anything"

    rerun = start_apply(endpoint, spec, "--plan", str(plan_file))
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out + err
    assert "already made" in out
    first, second = runs(journal())
    written_first = {e["address"] for e in first if e["event"] == "before"}
    answered_first = {e["address"] for e in first if e["event"] == "after" and e["result"] == "ok"}
    written_second = {e["address"] for e in second if e["event"] == "before"}
    # Every write carries the saved plan's ClientToken, in both runs.
    for entry in first + second:
        if entry["event"] == "before":
            assert entry["client_token"] == tokens[entry["address"]]
    # Nothing the first run made is written again; a write whose answer the kill lost may be
    # sent again, with the same token, which the cloud answers without a second change.
    assert not (written_second & answered_first)
    assert written_first | written_second == set(tokens)
    assert modifies(endpoint) == first_run_writes + len(written_second)
    assert_converged(endpoint, spec)


def test_a_second_apply_fails_at_once_naming_the_holder(busy_world: tuple[str, str]) -> None:
    endpoint, spec = busy_world
    first = start_apply(endpoint, spec)
    wait_for_writes(endpoint, first, 1)
    started = time.monotonic()
    second = CliRunner().invoke(
        cli,
        [
            "--endpoint",
            endpoint,
            "apply",
            spec,
            "--auto-approve",
            "--allow-restart",
            "--allow-irreversible",
        ],
        env=ENV,
    )
    took = time.monotonic() - started
    assert second.exit_code == 1
    assert "another apply holds the lock" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert took < 5.0, f"the second apply waited {took:.1f} s"
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    assert_converged(endpoint, spec)
