"""Ctrl-C and job cancellation (SIGINT, SIGTERM) in a real process: no cloud call is started
after the signal, the exit is prompt, with 130 / 143 and one line saying so (docs/exit-codes.md,
Signals).

The emulator answers every call after 200 ms and holds 400 instances, so a whole plan takes
several seconds; the signal comes once the plan is well under way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import ENV

INSTANCES = 400
PARALLELISM = 8
LATENCY_MS = 200


def instance_ids() -> list[str]:
    return [f"pgm-bp1int{n:010d}" for n in range(INSTANCES)]


@pytest.fixture(scope="module")
def slow_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    folder = tmp_path_factory.mktemp("interrupt")
    seed = folder / "seed.yaml"
    seed.write_text(
        yaml.safe_dump(
            {
                "regions": ["cn-hangzhou"],
                "rds_instances": [
                    {"id": i, "region": "cn-hangzhou", "class": "pg.x4.large.2c"}
                    for i in instance_ids()
                ],
            }
        )
    )
    spec = folder / "spec"
    spec.mkdir()
    (spec / "spec.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "defaults": {"region": "cn-hangzhou"},
                "instances": {i: {"encryption": {"key": "service"}} for i in instance_ids()},
            }
        )
    )
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        world.admin(emu.endpoint, "POST", "latency", {"ms": LATENCY_MS})
        yield emu, str(spec)


def total(endpoint: str) -> int:
    return int(world.admin(endpoint, "GET", "calls")["total"])


def start_plan(endpoint: str, spec: str, tmp_path: Path) -> subprocess.Popen[str]:
    out = tmp_path / "plan.json"
    out.write_text('{"format_version": "1", "old": true}')  # from an earlier run
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "--endpoint",
            endpoint,
            "plan",
            spec,
            "--format",
            "json",
            "--parallelism",
            str(PARALLELISM),
            "-o",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_new_calls_and_exits_promptly(
    slow_world: tuple[Emulator, str], tmp_path: Path, signum: int, code: int
) -> None:
    emu, spec = slow_world
    world.reset_calls(emu.endpoint)
    process = start_plan(emu.endpoint, spec, tmp_path)
    deadline = time.monotonic() + 30
    while total(emu.endpoint) < 3 * PARALLELISM:  # well under way, far from done
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the plan never got going"
        time.sleep(0.05)
    at_signal = total(emu.endpoint)
    signalled = time.monotonic()
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=30)
    took = time.monotonic() - signalled
    after_exit = total(emu.endpoint)
    time.sleep(0.5)
    assert total(emu.endpoint) == after_exit, "calls went on after the process ended"
    assert process.returncode == code, stderr
    assert took < 2.0, f"took {took:.2f} s to stop"
    # Only calls already in flight (one per worker, plus one sent while we read the count)
    # may arrive after the signal: no new ones.
    assert after_exit - at_signal <= 2 * PARALLELISM, (at_signal, after_exit)
    assert after_exit < INSTANCES, "the plan went on reading the cloud"
    assert stdout == ""
    assert "Traceback" not in stderr and "Aborted" not in stderr
    name = signal.Signals(signum).name
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert any(line.startswith(f"Interrupted by {name}") for line in lines), stderr
    assert not (tmp_path / "plan.json").exists(), "an interrupted plan leaves no plan file"
    assert f"Removed the old {tmp_path / 'plan.json'}" in stderr


@pytest.fixture
def very_slow(slow_world: tuple[Emulator, str]) -> Iterator[tuple[Emulator, str]]:
    """Every call takes 3 s: a signal always finds calls in flight that answer late."""
    emu, spec = slow_world
    world.admin(emu.endpoint, "POST", "latency", {"ms": 3000})
    try:
        yield emu, spec
    finally:
        world.admin(emu.endpoint, "POST", "latency", {"ms": LATENCY_MS})


def wait_for_first_calls(endpoint: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while total(endpoint) < 1:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the plan never got going"
        time.sleep(0.05)


def test_calls_in_flight_do_not_hold_the_exit(
    very_slow: tuple[Emulator, str], tmp_path: Path
) -> None:
    from reconciler.cli.interrupt import GRACE_SECONDS

    emu, spec = very_slow
    world.reset_calls(emu.endpoint)
    process = start_plan(emu.endpoint, spec, tmp_path)
    wait_for_first_calls(emu.endpoint, process)
    signalled = time.monotonic()
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=30)
    took = time.monotonic() - signalled
    assert process.returncode == 130, stderr
    assert took < GRACE_SECONDS + 1.0, f"took {took:.2f} s"
    assert stderr.count("Interrupted by SIGINT") == 1, stderr
    assert not (tmp_path / "plan.json").exists()


def test_a_second_signal_leaves_at_once(very_slow: tuple[Emulator, str], tmp_path: Path) -> None:
    emu, spec = very_slow
    world.reset_calls(emu.endpoint)
    process = start_plan(emu.endpoint, spec, tmp_path)
    wait_for_first_calls(emu.endpoint, process)
    process.send_signal(signal.SIGINT)
    time.sleep(0.1)
    signalled = time.monotonic()
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert time.monotonic() - signalled < 1.0
    assert stderr.count("Interrupted by SIGINT") == 1, stderr
