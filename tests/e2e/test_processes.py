"""Observe in worker processes, one region each (state/processes.py; docs/architecture.md,
"Processes"), through the emulator with the real SDK: the same facts and plan as one process;
a failed read in one worker stops the plan; a killed worker is an error naming its region; a
signal to the CLI stops every worker (no call after it) and exits 130/143."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from reconciler.app.plan import load, make_plan
from reconciler.cloud.clients import (
    EMULATOR_ACCESS_KEY_ID,
    EMULATOR_ACCESS_KEY_SECRET,
    CloudClients,
    CloudSettings,
    StaticCredentials,
)
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.errors import ObserveError
from reconciler.render.json import render_json
from reconciler.state.observe import observe
from reconciler.state.reads import ReadScope
from tests.e2e import world
from tests.e2e.conftest import ENV, run_cli
from tests.e2e.run_processes import alive, run_workers

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing")


def clients(endpoint: str, processes: int) -> CloudClients:
    credentials = StaticCredentials(EMULATOR_ACCESS_KEY_ID, EMULATOR_ACCESS_KEY_SECRET)
    return CloudClients(
        CloudSettings(endpoint=endpoint, credentials=credentials, processes=processes)
    )


def test_processes_read_the_same_facts_and_plan_as_one_process(demo: Emulator) -> None:
    """The demo world (two regions, CMKs in KMS instances, RAM): the spec's reading, drift's
    wider one and import's every-region one are identical, and so is the plan JSON."""
    loaded = load(["specs"])
    wide = ReadScope(
        spec=loaded.spec,
        all_instances=True,
        keys_in_use=True,
        all_engines=True,
        tde_of_every_instance=True,
    )
    for scope in (loaded.spec, wide):
        one, many = clients(demo.endpoint, 1), clients(demo.endpoint, 2)
        alone = observe(scope, one, now=NOW)
        split = observe(scope, many, now=NOW)
        assert split == alone
        assert split.model_dump_json() == alone.model_dump_json()
        assert many.counter.by_action() == one.counter.by_action()  # the workers' calls counted
    plans = [
        render_json(
            make_plan(
                loaded,
                observe(loaded.spec, clients(demo.endpoint, p), now=NOW),
                now=NOW,
                plan_id="0" * 32,
            )
        )
        for p in (1, 2)
    ]
    assert plans[0] == plans[1]
    assert json.loads(plans[0])["changes"], "the demo plan has changes to compare"


def test_workers_reading_two_regions_at_once_read_the_same_facts(demo: Emulator) -> None:
    """Every region listed (drift's and import's wider reading): four units for two workers,
    so each worker reads two at once on its one `--parallelism`; the facts, and the calls
    made, are those of one process."""
    from reconciler.state.processes import units_at_once
    from reconciler.state.units import read_units

    regions = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen")
    scope = ReadScope(spec=load(["specs"]).spec, all_instances=True, regions=regions)
    assert units_at_once(len(read_units(scope)), 2) == 2, "the reading must exercise two at once"
    one, many = clients(demo.endpoint, 1), clients(demo.endpoint, 2)
    alone = observe(scope, one, now=NOW)
    split = observe(scope, many, now=NOW)
    assert split.model_dump_json() == alone.model_dump_json()
    assert alone.instances, "the demo world has instances to compare"
    assert many.counter.by_action() == one.counter.by_action()


def test_the_parent_collects_the_facts_with_the_cyclic_collector_paused(demo: Emulator) -> None:
    """Unpickled parts make no cycle, and each batch of them started a full collection of all
    that is alive (docs/architecture.md, "The parent's own work"); it is back on after."""
    import gc

    collecting: list[bool] = []
    scope = ReadScope(spec=load(["specs"]).spec, all_instances=True)
    observe(
        scope,
        clients(demo.endpoint, 2),
        now=NOW,
        progress=lambda *_: collecting.append(gc.isenabled()),
    )
    assert collecting and not any(collecting), "a collection could run mid-reading"
    assert gc.isenabled()


def test_the_cli_plans_the_same_with_processes(demo: Emulator) -> None:
    runs = [
        run_cli("--endpoint", demo.endpoint, "--processes", p, "plan", "specs", "--format", "json")
        for p in ("1", "2")
    ]
    assert [r.exit_code for r in runs] == [0, 0], runs[1].stderr
    # plan_id and created_at are per run, and ClientTokens derive from plan_id
    bare = [re.sub(r'"(plan_id|created_at|ClientToken)": "[^"]*"', "", r.stdout) for r in runs]
    assert bare[0] == bare[1]
    assert runs[0].plan["fingerprint"] == runs[1].plan["fingerprint"]


def test_a_failed_read_in_one_worker_stops_the_plan(demo: Emulator) -> None:
    """GetRole is read by the default region's worker only: its failure stops the whole plan
    with that read's error (fail closed), no plan printed."""
    world.admin(
        demo.endpoint,
        "POST",
        "faults",
        {"action": "ram:GetRole", "code": "NoPermission", "status": 403, "rate": 1.0},
    )
    run = run_cli("--endpoint", demo.endpoint, "--processes", "2", "plan", "specs")
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.stdout == ""
    assert "GetRole" in run.stderr and "NoPermission" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_a_killed_worker_is_an_error_naming_its_region(demo: Emulator) -> None:
    """A worker that dies never becomes a region with nothing in it."""
    import multiprocessing

    # A region's reading is a few round trips deep: at 1 s each, both workers are still at
    # work 1.5 s after they start (forked ready, they read at once: at 300 ms one could be done)
    world.admin(demo.endpoint, "POST", "latency", {"ms": 1000})
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(multiprocessing.active_children()) < 2:
            time.sleep(0.05)
        time.sleep(1.5)  # both at work
        victim = multiprocessing.active_children()[0]
        killed.append(victim.pid or 0)
        os.kill(victim.pid or 0, signal.SIGKILL)

    killer = threading.Thread(target=kill_one)
    killer.start()
    with pytest.raises(ObserveError, match=r"worker process reading cn-\w+ ended \(exit code -9\)"):
        observe(load(["specs"]).spec, clients(demo.endpoint, 2), now=NOW)
    killer.join()
    assert killed


# --- signals ---------------------------------------------------------------------------------

INSTANCES_PER_REGION = 150
LATENCY_MS = 200


@pytest.fixture(scope="module")
def slow_regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str]]:
    folder = tmp_path_factory.mktemp("processes")
    ids = {r: [f"pgm-{r[3:5]}proc{n:06d}" for n in range(INSTANCES_PER_REGION)] for r in REGIONS}
    seed = folder / "seed.yaml"
    seed.write_text(
        yaml.safe_dump(
            {
                "regions": list(REGIONS),
                "rds_instances": [
                    {"id": i, "region": r, "class": "pg.x4.large.2c"}
                    for r in REGIONS
                    for i in ids[r]
                ],
            }
        )
    )
    spec = folder / "spec"
    spec.mkdir()
    instances = {
        i: {"region": r, "encryption": {"key": "service"}} for r in REGIONS for i in ids[r]
    }
    (spec / "spec.yaml").write_text(
        yaml.safe_dump({"version": 1, "defaults": {"region": REGIONS[0]}, "instances": instances})
    )
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        world.admin(emu.endpoint, "POST", "latency", {"ms": LATENCY_MS})
        yield emu, str(spec)


PLAN_COMMAND = (sys.executable, "-m", "reconciler")


def start_slow_plan(endpoint: str, spec: str) -> subprocess.Popen[str]:
    """`plan --processes 3` in a session of its own, once every worker is under way and far
    from done."""
    process = subprocess.Popen(
        [
            *PLAN_COMMAND,
            "--endpoint",
            endpoint,
            "--processes",
            "3",
            "plan",
            spec,
            "--parallelism",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while total(endpoint) < 40:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the plan never got going"
        time.sleep(0.05)
    return process


def total(endpoint: str) -> int:
    return int(world.admin(endpoint, "GET", "calls")["total"])


@pytest.mark.parametrize(
    ("signum", "code", "group"),
    [(signal.SIGINT, 130, False), (signal.SIGTERM, 143, False), (signal.SIGINT, 130, True)],
)
def test_a_signal_stops_every_worker(
    slow_regions: tuple[Emulator, str], tmp_path: Path, signum: int, code: int, group: bool
) -> None:
    """To the CLI process alone (a CI runner's kill) or to its whole group (Ctrl-C in a
    terminal): every worker stops, no call is made after the exit, one line, 130/143."""
    emu, spec = slow_regions
    world.reset_calls(emu.endpoint)
    process = start_slow_plan(emu.endpoint, spec)
    at_signal = total(emu.endpoint)
    signalled = time.monotonic()
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=30)
    took = time.monotonic() - signalled
    after_exit = total(emu.endpoint)
    time.sleep(1.0)
    assert total(emu.endpoint) == after_exit, "a worker went on calling after the exit"
    assert process.returncode == code, stderr
    assert took < 3.0, f"took {took:.2f} s to stop"
    assert after_exit - at_signal <= 3 * 4 * 2, (at_signal, after_exit)  # in flight only
    assert after_exit < INSTANCES_PER_REGION * len(REGIONS)
    assert stdout == ""
    assert "Traceback" not in stderr, stderr
    name = signal.Signals(signum).name
    assert stderr.count(f"Interrupted by {name}") == 1, stderr


# --- several accounts -------------------------------------------------------------------------


@pytest.fixture
def two_account_endpoint(tmp_path: Path) -> Iterator[str]:
    from tests.e2e.test_accounts import _two_account_world

    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(_two_account_world()), encoding="utf-8")
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        yield emu.endpoint


def test_two_accounts_plan_the_same_in_one_pool_of_workers(
    tmp_path: Path, two_account_endpoint: str
) -> None:
    """Both accounts' regions read in one pool of workers (each worker assumes its unit's
    account role): the same plan, with the account in every address, as one process."""
    from tests.e2e.test_accounts import _spec, run, two_accounts

    spec = _spec(tmp_path, two_accounts())
    runs = [
        run(tmp_path, two_account_endpoint, "--processes", p, "plan", "--format", "json", spec)
        for p in ("1", "2")
    ]
    assert [r.exit_code for r in runs] == [0, 0], runs[1].output
    # ClientTokens derive from the plan_id, which is per run
    plans = [json.loads(re.sub(r'"ClientToken": "[^"]*"', '"": ""', r.stdout)) for r in runs]
    assert plans[0]["changes"] and plans[1]["changes"] == plans[0]["changes"]
    assert plans[1]["fingerprint"] == plans[0]["fingerprint"]
    assert [c["address"].split("/")[0] for c in plans[1]["changes"]] == ["alpha", "beta"]


def test_a_refused_read_in_one_accounts_worker_stops_the_plan(
    tmp_path: Path, two_account_endpoint: str
) -> None:
    """Account beta's reads fail in its worker: no plan of alpha alone is printed."""
    from tests.e2e.test_accounts import _spec, run, two_accounts

    world.admin(
        two_account_endpoint,
        "POST",
        "faults",
        {"action": "rds:DescribeDBInstances", "code": "Forbidden.RAM", "status": 403, "rate": 1.0},
    )
    spec = _spec(tmp_path, two_accounts())
    result = run(tmp_path, two_account_endpoint, "--processes", "2", "plan", spec)
    assert result.exit_code == 1, result.output
    assert "DescribeDBInstances" in result.output and "Forbidden.RAM" in result.output
    assert "rds_encryption" not in result.output
    assert "Traceback" not in result.output


def test_a_worker_assumes_each_accounts_role_once(tmp_path: Path) -> None:
    """Four regions x two accounts (the bench's world, small): each worker assumes an
    account's role once for all its units there, not once per unit (an STS call and the
    credentials library's work per account-region); the plan is empty."""
    from tests.bench import bench_processes as bench

    seed, loaded = bench.write_world(tmp_path, bench.spread_accounts(16, 4, 2))
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=seed) as emu:
        from reconciler.app.accounts import connect_accounts, plan_accounts

        credentials = StaticCredentials(bench.USER_KEY, bench.USER_SECRET)
        base = CloudClients(
            CloudSettings(endpoint=emu.endpoint, credentials=credentials, processes=2)
        )
        parts = connect_accounts(loaded, base)
        world.reset_calls(emu.endpoint)
        plan = plan_accounts(loaded, parts, parallelism=4)[1]
        assumed = world.admin(emu.endpoint, "GET", "calls")["by_action"]["sts:AssumeRole"]
    assert not plan.changes and not plan.refusals
    assert base.counter.total > 16  # the workers' reads are counted
    assert assumed <= 2 * 2  # two workers, two accounts (was one per unit: 8)


# --- the fork server (reconciler/worker_start.py) ---------------------------------------------

LATE_CREDENTIALS = """
import os, sys, time
from datetime import UTC, datetime
from reconciler.app.plan import load
from reconciler.cloud.clients import CloudClients, CloudSettings
from reconciler.state.observe import observe
from reconciler.worker_start import warm_up

warm_up()
time.sleep(1.0)  # the fork server runs, with this environment: no credentials in it
key_id, secret = sys.stdin.read().split()
os.environ.update(ALIBABA_CLOUD_ACCESS_KEY_ID=key_id, ALIBABA_CLOUD_ACCESS_KEY_SECRET=secret)
clients = CloudClients(CloudSettings(endpoint=sys.argv[1], processes=2))
observed = observe(load(["specs"]).spec, clients, now=datetime(2026, 3, 4, tzinfo=UTC))
print(len(observed.instances))
"""


def test_workers_take_the_credentials_of_the_run_s_environment_not_the_fork_server_s(
    demo: Emulator,
) -> None:
    """A caller that sets its credentials after the fork server started (a long-lived process
    does): each worker resolves them from the run's environment at its start, as a spawned one
    would, never from the fork server's (which has none here: the read would fail)."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIBABA_CLOUD_")}
    env.update(
        ALIBABA_CLOUD_ECS_METADATA_DISABLED="true", ALIBABA_CLOUD_CLI_PROFILE_DISABLED="true"
    )
    run = subprocess.run(
        [sys.executable, "-c", LATE_CREDENTIALS, demo.endpoint],
        input=f"{EMULATOR_ACCESS_KEY_ID} {EMULATOR_ACCESS_KEY_SECRET}",
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    in_one_process = observe(load(["specs"]).spec, clients(demo.endpoint, 1), now=NOW)
    assert int(run.stdout) == len(in_one_process.instances)


def test_a_killed_run_leaves_no_worker_reading(slow_regions: tuple[Emulator, str]) -> None:
    """SIGKILL to the CLI alone (a CI runner's hard kill; nothing can be handled): its
    workers, forked by the fork server rather than by the run, notice and end, and no call
    reaches the cloud a moment later."""
    emu, spec = slow_regions
    world.reset_calls(emu.endpoint)
    process = start_slow_plan(emu.endpoint, spec)
    workers = run_workers(process.pid)
    assert len(workers) == 3, workers
    process.kill()
    process.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if alive(w)], "a worker outlived its run"
    settled = total(emu.endpoint)
    time.sleep(1.0)
    assert total(emu.endpoint) == settled, "calls went on after the run was killed"
    assert settled < INSTANCES_PER_REGION * len(REGIONS)
