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

    python -m tests.bench.bench_apply [--instances 100] [--restart-seconds 5] [--parallelism P]
"""

from __future__ import annotations

import argparse
import math
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


def build_world(endpoint: str, count: int) -> list[str]:
    """`count` dedicated instances on the service key, created through the SDK."""
    from tests.e2e.world import create_instance

    with ThreadPoolExecutor(16) as pool:
        return list(
            pool.map(
                lambda _: create_instance(
                    endpoint, class_code="pg.x4.large.2c", encryption_key="ServiceKey"
                ),
                range(count),
            )
        )


def disabling_spec(instance_ids: list[str]) -> Any:
    from reconciler.spec.loader import LoadedSpec
    from reconciler.spec.models import Spec

    spec = Spec.model_validate(
        {
            "defaults": {"restart": "immediate"},
            "instances": {i: {"encryption": "disabled"} for i in instance_ids},
        }
    )
    return LoadedSpec(spec=spec)


class Polls:
    """When the waiter read each instance's status (rds.instance_status / instance_tasks)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def install(self) -> None:
        from reconciler.cloud import rds

        for name in ("instance_status", "instance_tasks"):
            setattr(rds, name, self._timed(getattr(rds, name)))

    def _timed(self, read: Any) -> Any:
        def timed(clients: Any, region: str, instance_id: str, *rest: Any) -> Any:
            with self._lock:
                self.times.setdefault(instance_id, []).append(time.perf_counter())
            return read(clients, region, instance_id, *rest)

        return timed

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


def run(count: int, restart_s: float, parallelism: int | None) -> dict[str, Any]:
    from reconciler import workflow
    from reconciler.apply.executor import ApplyOptions

    options = ApplyOptions(allow_restart=True)
    if parallelism is not None:
        options = ApplyOptions(allow_restart=True, parallelism=parallelism)
    with emulator_process(restart_seconds=restart_s) as endpoint:
        ids = build_world(endpoint, count)
        loaded = disabling_spec(ids)
        cloud = clients(endpoint, max(16, options.parallelism))
        _wait_until_created(loaded, cloud, restart_s)
        plan_started = time.perf_counter()
        _observed, plan = workflow.observe_and_plan(loaded, cloud)
        plan_wall = time.perf_counter() - plan_started
        assert not plan.refusals and len(plan.changes) == count, "the bench plan is wrong"
        admin(endpoint, "DELETE", "calls")
        timeline, polls = Timeline(), Polls()
        polls.install()
        with tempfile.TemporaryDirectory(prefix="bench-apply-") as state_dir:
            started = time.perf_counter()
            result = workflow.apply(plan, cloud, options, timeline, state_dir=state_dir)
            wall = time.perf_counter() - started
        server = admin(endpoint, "GET", "calls")["by_action"]
        _observed, again = workflow.observe_and_plan(loaded, clients(endpoint, 16))
    reads = sum(server.get(name, 0) for name in STATUS_READS)
    instance_seconds = timeline.instance_seconds()
    floor = math.ceil(count / options.parallelism) * restart_s
    return {
        "instances": count,
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
        f"{result['parallelism']} (apply's default), poll every {result['poll_interval_s']:g} s, "
        "emulator in another process",
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
    args = parser.parse_args(argv)
    return report(run(args.instances, args.restart_seconds, args.parallelism))


if __name__ == "__main__":
    sys.exit(main())
