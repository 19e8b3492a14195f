"""drift under SIGINT / SIGTERM in a real process: no cloud call after the signal, exit
130 / 143 with one line saying so, and every -o file of an earlier run removed."""

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

INSTANCES = 300
PARALLELISM = 8


@pytest.fixture(scope="module")
def slow_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    folder = tmp_path_factory.mktemp("drift-interrupt")
    ids = [f"pgm-bp1dri{n:010d}" for n in range(INSTANCES)]
    seed = folder / "seed.yaml"
    seed.write_text(
        yaml.safe_dump(
            {
                "regions": ["cn-hangzhou"],
                "rds_instances": [
                    {"id": i, "region": "cn-hangzhou", "class": "pg.x4.large.2c"} for i in ids
                ],
            }
        )
    )
    spec = folder / "spec"
    spec.mkdir()
    (spec / "spec.yaml").write_text(
        yaml.safe_dump({"version": 1, "instances": {ids[0]: {"encryption": "disabled"}}})
    )
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        world.admin(emu.endpoint, "POST", "latency", {"ms": 200})
        yield emu, str(spec)


def total(endpoint: str) -> int:
    return int(world.admin(endpoint, "GET", "calls")["total"])


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_drift_and_removes_old_reports(
    slow_world: tuple[Emulator, str], tmp_path: Path, signum: int, code: int
) -> None:
    emu, spec = slow_world
    world.reset_calls(emu.endpoint)
    outs = [tmp_path / "drift.sarif", tmp_path / "drift.xml"]
    for out in outs:
        out.write_text("from an earlier run")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "--endpoint",
            emu.endpoint,
            "drift",
            spec,
            "--parallelism",
            str(PARALLELISM),
            "-o",
            str(outs[0]),
            "-o",
            str(outs[1]),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )
    deadline = time.monotonic() + 30
    while total(emu.endpoint) < 3 * PARALLELISM:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "drift never got going"
        time.sleep(0.05)
    at_signal = total(emu.endpoint)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=30)
    after_exit = total(emu.endpoint)
    assert process.returncode == code, stderr
    assert after_exit - at_signal <= 2 * PARALLELISM, (at_signal, after_exit)
    assert after_exit < INSTANCES
    assert stdout == "" and "Traceback" not in stderr
    assert f"Interrupted by {signal.Signals(signum).name}" in stderr
    for out in outs:
        assert not out.exists(), f"{out} must not survive an interrupted drift report"
