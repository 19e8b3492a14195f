"""Apply of N encryption changes with a 5 s restart, at apply's default parallelism P
(README, "Measured").

The world: N instances on the service key, built through the SDK in an emulator in ANOTHER
process started with restart_seconds=5. The emulated clock is real UTC plus an offset (only
`POST /_emulator/clock` moves it ahead), so a 5 s restart takes 5 s of real time: nothing has
to advance the clock. The spec turns encryption off on all of them (`restart: immediate`), so
each change is one ModifyDBInstanceConfig, a restart, and a wait for Running.

Measured, in one run: observe + plan (not timed against a target), then apply through
reconciler.workflow.apply (the journal in a temporary state folder, as the CLI does):
- wall time of apply vs ceil(N/P) x restart (target: at most 1.2x);
- status reads per instance per second: every poll of an instance's status while apply waits
  (DescribeDBInstanceAttribute, DescribeHistoryTasks: the waiter's reads, timed per instance in
  this process) -- the most polls of one instance in any 1 s window (target: at most 1), and
  the mean polling rate. For reference, all reads of the instances counted by the emulator
  (with the compare-and-set read before each write and the read confirming the new key) per
  instance-second of the changes.
Then a second plan must report no changes. Writes bench-results/bench_apply.json.

With `--processes W --regions R` (issue 21, item 6) the instances are spread over R regions
and apply runs each region's changes in up to W worker processes (app/apply_processes.py), so
P = W x parallelism changes run at once: the target is ceil(N/P) x restart. The workers are
spawned and import this module again (as `__mp_main__`), so they time their status reads too
(Polls, into one file per process under POLLS_ENV's folder, on the system-wide monotonic clock).

    python -m tests.bench.bench_apply [--instances 100] [--restart-seconds 5] [--parallelism P]
        [--processes W] [--regions R]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.bench._support import Report, admin, clients, emulator_process

WALL_TARGET = 1.2
READS_TARGET = 1.0
STATUS_READS = (
    "rds:DescribeDBInstanceAttribute",
    "rds:DescribeHistoryTasks",
    "rds:DescribeDBInstanceEncryptionKey",
)


POLLS_ENV = "BENCH_APPLY_POLLS"
"""A folder: set while apply runs, so that worker processes log their status reads there."""


def build_world(endpoint: str, count: int, regions: int = 1) -> dict[str, str]:
    """`count` dedicated instances on the service key over the first `regions` emulator
    regions, created through the SDK: instance id -> region."""
    from reconciler.emulator.regions import REGIONS
    from tests.e2e.world import create_instance

    names = [REGIONS[n % regions] for n in range(count)]
    with ThreadPoolExecutor(16) as pool:
        ids = pool.map(
            lambda region: create_instance(
                endpoint, region=region, class_code="pg.x4.large.2c", encryption_key="ServiceKey"
            ),
            names,
        )
        return dict(zip(ids, names, strict=True))


def disabling_spec(instances: dict[str, str]) -> Any:
    from reconciler.spec.loader import LoadedSpec
    from reconciler.spec.models import Spec

    spec = Spec.model_validate(
        {
            "defaults": {"restart": "immediate"},
            "instances": {
                i: {"encryption": "disabled", "region": region} for i, region in instances.items()
            },
        }
    )
    return LoadedSpec(spec=spec)


class Polls:
    """When the waiter read each instance's status (rds.instance_status / instance_tasks)."""

    def __init__(self, log_dir: str | None = None) -> None:
        self.times: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self.log_dir = log_dir
        """Set: each poll is a line in this process's file there (a worker process's)."""

    def install(self) -> None:
        from reconciler.cloud import rds

        for name in ("instance_status", "instance_tasks"):
            setattr(rds, name, self._timed(getattr(rds, name)))

    def _timed(self, read: Any) -> Any:
        def timed(clients: Any, region: str, instance_id: str, *rest: Any) -> Any:
            with self._lock:
                self.times.setdefault(instance_id, []).append(time.monotonic())
                if self.log_dir is not None:
                    log = os.path.join(self.log_dir, f"polls-{os.getpid()}.txt")
                    with open(log, "a", encoding="utf-8") as handle:
                        handle.write(f"{instance_id} {time.monotonic()}\n")
            return read(clients, region, instance_id, *rest)

        return timed

    def read_logs(self) -> None:
        """Add the polls the worker processes logged."""
        for name in os.listdir(self.log_dir or "."):
            if not name.startswith("polls-"):
                continue
            with open(os.path.join(str(self.log_dir), name), encoding="utf-8") as handle:
                for line in handle:
                    instance_id, moment = line.split()
                    self.times.setdefault(instance_id, []).append(float(moment))

    def most_in_one_second(self) -> int:
        """The most polls of one instance within any 1 s window."""
        most = 0
        for times in self.times.values():
            times.sort()
            first = 0
            for last, moment in enumerate(times):
                while moment - times[first] >= 1.0:
                    first += 1
                most = max(most, last - first + 1)
        return most

    def mean_rate(self) -> float:
        """Polls per second of polling, per instance: (polls - 1) / (last - first), averaged."""
        rates = [
            (len(t) - 1) / (t[-1] - t[0])
            for t in self.times.values()
            if len(t) > 1 and t[-1] > t[0]
        ]
        return sum(rates) / len(rates) if rates else 0.0


class Timeline:
    """When each change started and ended (from the executor's events)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        now = time.perf_counter()
        with self._lock:
            if event.kind == "started":
                self.started.setdefault(event.address, now)
            elif event.kind in ("done", "failed", "scheduled", "skipped"):
                self.ended[event.address] = now

    def instance_seconds(self) -> float:
        return sum(self.ended[a] - t for a, t in self.started.items() if a in self.ended)


def _wait_until_created(loaded: Any, cloud: Any, restart_s: float) -> None:
    """A new instance is Creating for restart_seconds: wait until every one is Running, so
    the apply measured starts on an idle fleet."""
    from reconciler import workflow

    deadline = time.monotonic() + 10 * restart_s + 30
    while True:
        observed = workflow.observe(loaded, cloud)
        if all(i.status == "Running" for i in observed.instances.values()):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the bench world's instances never became Running")
        time.sleep(max(0.5, restart_s / 4))


def _with_processes(cloud: Any, processes: int) -> Any:
    from reconciler.cloud.clients import CloudClients

    settings = dataclasses.replace(cloud.settings, processes=processes)
    return CloudClients(settings, limiter=cloud.limiter, counter=cloud.counter)


def run(
    count: int, restart_s: float, parallelism: int | None, processes: int = 1, regions: int = 1
) -> dict[str, Any]:
    from reconciler import workflow
    from reconciler.app.apply import fan_out_of
    from reconciler.apply.executor import ApplyOptions

    options = ApplyOptions(allow_restart=True)
    if parallelism is not None:
        options = ApplyOptions(allow_restart=True, parallelism=parallelism)
    with (
        emulator_process(restart_seconds=restart_s) as endpoint,
        tempfile.TemporaryDirectory(prefix="bench-apply-") as state_dir,
    ):
        # Before anything starts the workers' fork server: a worker imports this module with
        # the fork server's environment (reconciler/worker_start.py), which must name the log.
        os.environ[POLLS_ENV] = state_dir
        ids = build_world(endpoint, count, regions)
        loaded = disabling_spec(ids)
        cloud = _with_processes(clients(endpoint, max(16, options.parallelism)), processes)
        _wait_until_created(loaded, cloud, restart_s)
        plan_started = time.perf_counter()
        _observed, plan = workflow.observe_and_plan(loaded, cloud)
        plan_wall = time.perf_counter() - plan_started
        assert not plan.refusals and len(plan.changes) == count, "the bench plan is wrong"
        fanout = fan_out_of(plan, cloud)
        workers = fanout.processes if fanout is not None else 1
        admin(endpoint, "DELETE", "calls")
        timeline = Timeline()
        polls = Polls(log_dir=state_dir if fanout is not None else None)
        polls.install()
        started = time.perf_counter()
        result = workflow.apply(plan, cloud, options, timeline, state_dir=state_dir)
        wall = time.perf_counter() - started
        del os.environ[POLLS_ENV]
        if fanout is not None:
            polls = Polls(log_dir=state_dir)
            polls.read_logs()
        server = admin(endpoint, "GET", "calls")["by_action"]
        _observed, again = workflow.observe_and_plan(loaded, clients(endpoint, 16))
    reads = sum(server.get(name, 0) for name in STATUS_READS)
    instance_seconds = timeline.instance_seconds()
    concurrent = workers * options.parallelism
    floor = math.ceil(count / concurrent) * restart_s
    return {
        "instances": count,
        "regions": regions,
        "processes": workers,
        "concurrent_changes": concurrent,
        "restart_seconds": restart_s,
        "parallelism": options.parallelism,
        "poll_interval_s": options.poll_interval_s,
        "observe_plan_wall_s": plan_wall,
        "apply_wall_s": wall,
        "wall_floor_s": floor,
        "wall_ratio": wall / floor,
        "wall_ok": wall <= WALL_TARGET * floor,
        "outcomes_ok": result.ok,
        "writes": server.get("rds:ModifyDBInstanceConfig", 0),
        "status_reads": reads,
        "status_reads_by_action": {n: server.get(n, 0) for n in STATUS_READS},
        "instance_seconds": instance_seconds,
        "all_reads_per_instance_second": reads / instance_seconds if instance_seconds else None,
        "polls": sum(len(t) for t in polls.times.values()),
        "polls_most_in_one_second": polls.most_in_one_second(),
        "polls_mean_per_second": polls.mean_rate(),
        "reads_ok": polls.most_in_one_second() <= READS_TARGET,
        "second_plan_changes": len(again.changes),
        "server_by_action": server,
    }


def report(result: dict[str, Any]) -> int:
    out = Report("bench_apply", result)
    out.note(
        "setup",
        f"{result['instances']} instances service key -> off, restart "
        f"{result['restart_seconds']:g} s (emulated clock = real time), parallelism "
        f"{result['parallelism']} per process x {result['processes']} process(es) over "
        f"{result['regions']} region(s): P = {result['concurrent_changes']}, poll every "
        f"{result['poll_interval_s']:g} s, emulator in another process",
    )
    out.note("observe+plan", f"{result['observe_plan_wall_s']:.2f} s (no target here)")
    out.target(
        "apply wall",
        f"{result['apply_wall_s']:.1f} s = {result['wall_ratio']:.2f}x ceil(N/P) x restart "
        f"= {result['wall_floor_s']:.0f} s",
        f"<= {WALL_TARGET}x",
        result["wall_ok"],
    )
    out.target(
        "status reads",
        f"at most {result['polls_most_in_one_second']} poll(s) of one instance in any second "
        f"(mean {result['polls_mean_per_second']:.2f}/s; {result['polls']} polls)",
        f"<= {READS_TARGET:g} per instance per second",
        result["reads_ok"],
    )
    out.note(
        "all instance reads",
        f"{result['all_reads_per_instance_second']:.2f} per instance-second of the changes "
        f"({result['status_reads']} reads: the polls, plus one compare-and-set read before each "
        "write and one read confirming the new value)",
    )
    out.target(
        "converged",
        f"{result['writes']} writes, every change done: {result['outcomes_ok']}; a second plan "
        f"has {result['second_plan_changes']} changes",
        "all done, 0 changes",
        result["outcomes_ok"] and result["second_plan_changes"] == 0,
    )
    return out.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--restart-seconds", type=float, default=5.0)
    parser.add_argument("--parallelism", type=int, default=None, help="default: apply's own")
    parser.add_argument("--processes", type=int, default=1, help="apply's --processes")
    parser.add_argument("--regions", type=int, default=1, help="regions the world spreads over")
    args = parser.parse_args(argv)
    found = run(
        args.instances, args.restart_seconds, args.parallelism, args.processes, args.regions
    )
    return report(found)


if os.environ.get(POLLS_ENV):  # a worker process of the apply measured: time its polls too
    Polls(log_dir=os.environ[POLLS_ENV]).install()


if __name__ == "__main__":
    sys.exit(main())
