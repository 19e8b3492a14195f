"""observe + plan of N instances over R regions in worker processes (issue 21, items 3 and 6;
docs/architecture.md, "Processes"): calls within the bound, wall within 1.2x of
max(latency bound, calls x c / cores), peak memory (parent + workers) under 500 MB; and a plot
of calls and wall against N for the tool, a serial script and the bound.

    python -m tests.bench.bench_processes [--sizes 100,1000,3000,10000] [--regions 4]
        [--latency-ms 20] [--processes P] [--parallelism 16]

The emulator runs in its own process (tests/bench/_support.py); one emulator process serves
about 1,000-1,400 signed requests/s here (bench_emulator), which caps any caller. The serial
script (one call at a time) is measured at the smallest N and scaled by its calls beyond it
(at 10,000 instances it would take minutes per point); the plot says so.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from tests.bench._support import RESULTS, Report, admin, emulator_process

REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-qingdao")
WALL_TARGET = 1.2
MEMORY_TARGET_MB = 500.0


def call_bound(per_region: list[int], keys: int = 0) -> int:
    """N + sum over regions of ceil(N_r/100) + K + 10, plus per region beyond the first its
    service key and its task center (2 (R - 1)): README, "Measured"."""
    n = sum(per_region)
    pages = sum(max(1, math.ceil(c / 100)) for c in per_region)
    return n + pages + keys + 10 + 2 * (len(per_region) - 1)


def wall_bound(
    calls: int, latency_s: float, threads: int, cpu_per_call: float, cores: int
) -> float:
    """max(latency bound, CPU bound): the calls spread over every thread of every process,
    and the SDK's CPU per call spread over the cores."""
    return max(calls * latency_s / threads, calls * cpu_per_call / cores)


def spread_ids(count: int, regions: int) -> dict[str, list[str]]:
    names = REGIONS[:regions]
    return {
        region: [f"pgm-{region[3:5]}bench{n:07d}" for n in range(index, count, regions)]
        for index, region in enumerate(names)
    }


def write_world(folder: Path, ids: dict[str, list[str]]) -> tuple[str, Any]:
    from reconciler.spec.models import Spec

    seed = folder / "seed.yaml"
    instances = [
        {"id": i, "region": r, "class": "pg.n2.2c.2m", "encryption": "service"}
        for r, region_ids in ids.items()
        for i in region_ids
    ]
    seed.write_text(yaml.safe_dump({"regions": list(ids), "rds_instances": instances}))
    spec = Spec.model_validate(
        {
            "version": 1,
            "defaults": {"region": next(iter(ids))},
            "instances": {
                i: {"region": r, "encryption": {"key": "service"}}
                for r, region_ids in ids.items()
                for i in region_ids
            },
        }
    )
    return str(seed), spec


class MemorySampler:
    """Peak of the summed RSS of this process and its live children, every 50 ms."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            pids = [os.getpid(), *(c.pid for c in multiprocessing.active_children() if c.pid)]
            self.peak_mb = max(self.peak_mb, sum(_rss_mb(p) for p in pids))


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(endpoint: str, spec: Any, processes: int, parallelism: int) -> dict[str, Any]:
    from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
    from reconciler.plan.planner import build_plan
    from reconciler.state.observe import observe

    cloud = CloudClients(
        CloudSettings(
            endpoint=endpoint,
            credentials=StaticCredentials("emulator", "emulator-secret"),
            parallelism=parallelism,
            processes=processes,
        )
    )
    admin(endpoint, "DELETE", "calls")
    with MemorySampler() as memory:
        started = time.perf_counter()
        plan = build_plan(spec, observe(spec, cloud, parallelism=parallelism))
        wall = time.perf_counter() - started
    assert not plan.refusals and not plan.changes, "the bench world must plan to no changes"
    return {"wall_s": wall, "calls": cloud.counter.total, "peak_mb": memory.peak_mb}


def serial_per_call(endpoint: str, ids: dict[str, list[str]], samples: int = 100) -> float:
    """Seconds per call of a serial script reading instance by instance with the bare SDK."""
    from alibabacloud_rds20140815 import models

    from tests.e2e.world import rds

    region, region_ids = next(iter(ids.items()))
    client = rds(endpoint, region)
    started = time.perf_counter()
    for n in range(samples):
        client.describe_dbinstance_encryption_key(
            models.DescribeDBInstanceEncryptionKeyRequest(
                dbinstance_id=region_ids[n % len(region_ids)], region_id=region
            )
        )
    return (time.perf_counter() - started) / samples


def run_size(count: int, args: argparse.Namespace, c: float | None) -> dict[str, Any]:
    from tests.bench.bench_plan import sdk_cpu_per_call

    ids = spread_ids(count, args.regions)
    with tempfile.TemporaryDirectory(prefix="bench-proc-") as folder:
        seed, spec = write_world(Path(folder), ids)
        with emulator_process(seed=seed) as endpoint:
            if c is None:  # the SDK's CPU per call, at 0 ms latency (bench_plan's way)
                c = sdk_cpu_per_call(endpoint, next(iter(ids.values())))[0]
            admin(endpoint, "POST", "latency", {"ms": args.latency_ms})
            serial = serial_per_call(endpoint, ids)
            tool = measure(endpoint, spec, args.processes, args.parallelism)
    cores = os.cpu_count() or 1
    processes = min(args.processes, args.regions)
    bound = wall_bound(
        tool["calls"], args.latency_ms / 1000, processes * args.parallelism, c, cores
    )
    return {
        "n": count,
        "per_region": [len(v) for v in ids.values()],
        "call_bound": call_bound([len(v) for v in ids.values()]),
        "sdk_cpu_per_call_s": c,
        "wall_bound_s": bound,
        "serial_per_call_s": serial,
        "serial_wall_s": serial * count,
        **tool,
    }


def plot(points: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [p["n"] for p in points]
    fig, (calls, wall) = plt.subplots(1, 2, figsize=(11, 4.2))
    calls.plot(n, [p["calls"] for p in points], "o-", label="reconciler (processes)")
    calls.plot(n, n, "s--", label="serial script (1 read / instance)")
    calls.plot(n, [p["call_bound"] for p in points], "k:", label="bound")
    calls.set(xlabel="instances N", ylabel="API calls", xscale="log", yscale="log")
    calls.legend()
    wall.plot(n, [p["wall_s"] for p in points], "o-", label="reconciler (processes)")
    wall.plot(n, [p["serial_wall_s"] for p in points], "s--", label="serial script (scaled)")
    wall.plot(n, [p["wall_bound_s"] for p in points], "k:", label="bound")
    wall.set(xlabel="instances N", ylabel="wall seconds", xscale="log", yscale="log")
    wall.legend()
    fig.suptitle("observe + plan, 20 ms a call, emulator in its own process")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,3000,10000")
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args(argv)
    report = Report("bench_processes")
    points: list[dict[str, Any]] = []
    c: float | None = None
    for count in sorted(int(s) for s in args.sizes.split(",")):
        point = run_size(count, args, c)
        c = point["sdk_cpu_per_call_s"]
        points.append(point)
        label = f"N={count}"
        report.target(
            f"{label}: API calls",
            str(point["calls"]),
            f"<= {point['call_bound']}",
            point["calls"] <= point["call_bound"],
        )
        ratio = point["wall_s"] / point["wall_bound_s"]
        report.target(
            f"{label}: wall",
            f"{point['wall_s']:.2f} s = {ratio:.2f}x the bound {point['wall_bound_s']:.2f} s "
            f"(c = {c * 1000:.2f} ms, {args.processes} processes)",
            f"<= {WALL_TARGET}x",
            ratio <= WALL_TARGET,
        )
        report.target(
            f"{label}: peak memory",
            f"{point['peak_mb']:.0f} MB (parent + workers)",
            f"< {MEMORY_TARGET_MB:.0f} MB",
            point["peak_mb"] < MEMORY_TARGET_MB,
        )
    report.figures = {"args": vars(args), "points": points}
    RESULTS.mkdir(exist_ok=True)
    plot(points, RESULTS / "bench_processes.png")
    report.note("plot", str(RESULTS / "bench_processes.png"))
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
