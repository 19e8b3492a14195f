"""apply with --processes: each region's changes in a worker process (app/apply_processes.py;
docs/architecture.md, "Processes"), through the emulator with the real SDK. The same outcomes
and journal as one process; a failure in one region stops every region as in one process; a
signal exits 130 with every write announced and answered in the one journal; a worker that
dies is named with the changes whose outcome is unknown."""

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
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import ENV
from tests.e2e.run_processes import alive, run_workers

REGIONS = ("cn-beijing", "cn-hangzhou", "cn-shanghai", "cn-shenzhen")
PER_REGION = 2
MODIFY = "rds:ModifyDBInstanceConfig"
FANNED_OUT = "worker processes"


def instance_ids() -> dict[str, list[str]]:
    return {
        region: [f"pgm-{region.removeprefix('cn-')[:4]}{n:010d}" for n in range(PER_REGION)]
        for region in REGIONS
    }


def _seed(folder: Path) -> Path:
    seed = folder / "seed.yaml"
    instances = [
        {"id": i, "region": region, "class": "pg.x4.large.2c", "encryption": "service"}
        for region, ids in instance_ids().items()
        for i in ids
    ]
    seed.write_text(yaml.safe_dump({"regions": list(REGIONS), "rds_instances": instances}))
    return seed


def _spec(folder: Path) -> str:
    spec = folder / "spec"
    spec.mkdir(exist_ok=True)
    instances = {
        i: {"region": region, "encryption": "disabled"}
        for region, ids in instance_ids().items()
        for i in ids
    }
    doc = {
        "version": 1,
        "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
        "instances": instances,
    }
    (spec / "spec.yaml").write_text(yaml.safe_dump(doc))
    return str(spec)


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(endpoint, spec folder) of eight instances over four regions; the test runs in
    tmp_path (its own .reconciler/ journal)."""
    monkeypatch.chdir(tmp_path)
    with Emulator(
        ":memory:", settings=Settings(restart_seconds=0.3), seed=str(_seed(tmp_path))
    ) as emu:
        world.admin(emu.endpoint, "POST", "latency", {"ms": 20})
        yield emu.endpoint, _spec(tmp_path)


def apply_cli(endpoint: str, spec: str, processes: str, *extra: str) -> Result:
    return CliRunner().invoke(
        cli,
        [
            *("--processes", processes, "--endpoint", endpoint, "apply", spec),
            *("--auto-approve", "--allow-restart", *extra),
        ],
        env=ENV,
        catch_exceptions=False,
    )


def outcomes(result: Result) -> dict[str, dict[str, Any]]:
    return {o["address"]: o for o in json.loads(result.stdout)["outcomes"]}


def journal(folder: Path) -> list[dict[str, Any]]:
    text = (folder / ".reconciler" / "journal.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def entries(found: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The journal up to order and time: what was announced and answered, for what."""
    keep = ("event", "address", "op", "result", "client_token", "error_code")
    return sorted(tuple(str(e.get(k)) for k in keep) for e in found if e["event"] != "start")


def assert_converged(endpoint: str, spec: str) -> None:
    again = CliRunner().invoke(
        cli, ["--endpoint", endpoint, "plan", spec, "--detailed-exitcode"], env=ENV
    )
    assert again.exit_code == 0, again.stdout + again.stderr


def test_apply_in_processes_equals_apply_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, tuple[Any, ...]] = {}
    for processes in ("1", "2"):
        folder = tmp_path / f"p{processes}"
        folder.mkdir()
        monkeypatch.chdir(folder)
        with Emulator(
            ":memory:", settings=Settings(restart_seconds=0.2), seed=str(_seed(folder))
        ) as emu:
            spec = _spec(folder)
            applied = apply_cli(emu.endpoint, spec, processes, "--format", "json")
            assert applied.exit_code == 0, applied.stdout + applied.stderr
            assert (FANNED_OUT in applied.stderr) == (processes == "2"), applied.stderr
            assert_converged(emu.endpoint, spec)
            found = journal(folder)
        statuses = {a: o["status"] for a, o in outcomes(applied).items()}
        assert [e["event"] for e in found[:1] + found[-1:]] == ["start", "end"]
        assert found[0]["changes"] == list(statuses), "start lists every change, plan order"
        tokens = sorted(str(e["client_token"]) for e in found if e["event"] == "before")
        seen[processes] = (statuses, entries(found), len(tokens))
    assert set(seen["1"][0].values()) == {"done"} and len(seen["1"][0]) == 8
    assert seen["2"][0] == seen["1"][0]
    assert seen["2"][2] == seen["1"][2] == 8
    # ClientTokens derive from each run's plan id: compare the rest of every entry
    strip = [[e[:4] + e[5:] for e in seen[p][1]] for p in ("1", "2")]
    assert strip[0] == strip[1]


def test_a_failure_in_one_region_stops_every_region_as_one_process_does(
    fleet: tuple[str, str], tmp_path: Path
) -> None:
    endpoint, spec = fleet
    fault = {"action": MODIFY, "code": "InvalidParameter", "status": 400, "times": 1}
    world.admin(endpoint, "POST", "faults", fault)
    applied = apply_cli(endpoint, spec, "2", "--parallelism", "1", "--format", "json")
    assert applied.exit_code == 1, applied.stdout + applied.stderr
    found = outcomes(applied)
    assert len(found) == 8, "every change is in the result"
    by_status: dict[str, list[str]] = {}
    for address, outcome in found.items():
        by_status.setdefault(outcome["status"], []).append(address)
    (failed,) = by_status["failed"]
    assert "InvalidParameter" in found[failed]["detail"]
    # only the other worker's change in flight may finish; nothing new starts after it
    assert len(by_status.get("done", [])) <= 1, by_status
    assert len(by_status["not_started"]) >= 6, by_status
    for address in by_status["not_started"]:
        assert "an earlier change failed" in found[address]["detail"]
    assert world.calls(endpoint)[MODIFY] <= 2
    run = journal(tmp_path)
    assert run[-1]["event"] == "end" and run[-1]["outcomes"] == {
        a: o["status"] for a, o in found.items()
    }


def start_apply(endpoint: str, spec: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "--processes",
            "2",
            "--endpoint",
            endpoint,
            "apply",
            spec,
            "--auto-approve",
            "--allow-restart",
            "--parallelism",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )


def wait_for(endpoint: str, process: subprocess.Popen[str], writes: int) -> list[int]:
    """Wait until `writes` ModifyDBInstanceConfig reached the cloud; the workers then."""
    deadline = time.monotonic() + 60
    while int(world.calls(endpoint).get(MODIFY, 0)) < writes:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "apply never got going"
        time.sleep(0.02)
    return run_workers(process.pid)


@pytest.fixture
def slow_fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """The fleet with 1.5 s restarts and 50 ms calls: a signal finds apply mid-way."""
    monkeypatch.chdir(tmp_path)
    with Emulator(
        ":memory:", settings=Settings(restart_seconds=1.5), seed=str(_seed(tmp_path))
    ) as emu:
        world.admin(emu.endpoint, "POST", "latency", {"ms": 50})
        yield emu.endpoint, _spec(tmp_path)


def test_sigint_during_a_fanned_out_apply_exits_130_with_the_journal_consistent(
    slow_fleet: tuple[str, str], tmp_path: Path
) -> None:
    endpoint, spec = slow_fleet
    process = start_apply(endpoint, spec)
    workers = wait_for(endpoint, process, 2)
    assert len(workers) == 2, "apply runs in two worker processes"
    at_signal = int(world.calls(endpoint)[MODIFY])
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    after_exit = int(world.calls(endpoint)[MODIFY])
    assert process.returncode == 130, stdout + stderr
    assert "Interrupted by SIGINT" in stderr and "Apply stopped" in stderr
    assert "Traceback" not in stderr
    assert after_exit - at_signal <= 2, (at_signal, after_exit)  # one in flight per worker
    assert after_exit < 8, "apply went on writing"
    time.sleep(0.5)
    assert [w for w in workers if alive(w)] == [], "a worker outlived the apply"
    found = journal(tmp_path)
    assert [e["event"] for e in found].count("start") == 1
    assert found[0]["event"] == "start" and found[-1]["event"] == "end"
    before = sorted((e["address"], e["op"]) for e in found if e["event"] == "before")
    after = sorted((e["address"], e["op"]) for e in found if e["event"] == "after")
    assert before == after, "every write announced is answered"
    sent = [e for e in found if e["event"] == "after" and e["result"] == "ok"]
    assert len(sent) == after_exit, "every write that reached the cloud is in the journal"
    assert set(found[-1]["outcomes"].values()) <= {"done", "not_started", "failed"}
    assert len(found[-1]["outcomes"]) == 8
    rerun = start_apply(endpoint, spec)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out + err
    assert_converged(endpoint, spec)


def test_a_worker_that_dies_is_named_with_the_changes_whose_outcome_is_unknown(
    slow_fleet: tuple[str, str], tmp_path: Path
) -> None:
    endpoint, spec = slow_fleet
    process = start_apply(endpoint, spec)
    workers = wait_for(endpoint, process, 2)
    assert workers, "apply runs in worker processes"
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stdout + stderr
    assert "Traceback" not in stderr
    assert "worker process applying" in stdout, stdout
    assert "outcome is unknown" in stdout, stdout
    unknown = [line for line in stdout.splitlines() if "outcome is unknown" in line]
    assert all("done" not in line.split(":")[0] for line in unknown)
    found = journal(tmp_path)
    assert found[-1]["event"] == "end" and len(found[-1]["outcomes"]) == 8
    assert "done" not in {found[-1]["outcomes"][a] for a in _unknown_addresses(unknown)}


def _unknown_addresses(lines: list[str]) -> list[str]:
    return [
        "rds_encryption." + line.split("rds_encryption.", 1)[1].split(":")[0]
        for line in lines
        if "rds_encryption." in line
    ]


def test_the_demo_applies_in_processes_account_wide_changes_first(
    demo: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RAM and the keys are made here first; the instances, which use the new keys (their ids
    carried to the workers), in a worker per region; then the plan is empty."""
    specs = str(Path("specs").resolve())
    monkeypatch.chdir(tmp_path)
    applied = apply_cli(demo.endpoint, specs, "2", "--allow-irreversible")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert FANNED_OUT in applied.stdout
    assert_converged(demo.endpoint, specs)
    found = journal(tmp_path)
    writes = [e for e in found if e["event"] in ("before", "after")]
    regional = [i for i, e in enumerate(writes) if e["address"].startswith("rds_")]
    account_wide = [i for i, e in enumerate(writes) if not e["address"].startswith("rds_")]
    assert regional and account_wide, "the demo plan has both"
    assert max(account_wide) < min(regional), "every account-wide write came first"
