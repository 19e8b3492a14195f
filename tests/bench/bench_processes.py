"""observe + plan of N instances over R regions x A accounts in worker processes (issue 21,
items 3 and 6; docs/architecture.md, "Processes"): calls within the bound, wall within 1.2x of
max(latency bound, calls x c / cores), peak memory (parent, fork server and workers) under
500 MB; and a plot of calls and wall against N for the tool, a serial script and the bound.

    python -m tests.bench.bench_processes [--sizes 100,1000,3000,10000] [--regions 4]
        [--accounts 2] [--latency-ms 20] [--processes P] [--parallelism 16]

With two accounts the spec declares `accounts:` with a role_arn each, the emulator's seed two
accounts, and the base credentials are a RAM user's that may assume both roles (as
tests/e2e/test_accounts.py): the plan is the CLI's (app/accounts.py: AssumeRole, then every
account-region in one pool of workers).

The emulator runs in its own process (tests/bench/_support.py) on the same cores; one emulator
process serves about 1,000-1,400 signed requests/s here (bench_emulator), which caps any
caller. So beside the issue's bound (unchanged, judged) the bench reports a machine bound that
counts the CPU this run actually spent: the tool's own per call t (parent, fork server and
workers, over the timed reading) and the emulator's per request e (from /proc/<pid>/stat):
max(latency bound, calls x t / min(processes, cores), calls x (t + e) / cores); no target: it
says how close the run came to what this machine allows at the tool's present CPU cost.
Each point is measured in a new process, as a run of the CLI is one (measure_as_a_run): it
starts its own fork server for the workers (reconciler/worker_start.py) when and as the CLI
does, before the spec's load; the load and this process's imports and first uses are not
timed (the point is measured on a second reading, as when every size ran in one process). Memory is
the summed PSS of the run's processes (the workers share the fork server's pages).
Beside them, the bare SDK: the same number of calls made by the official SDK alone, no tool,
in as many processes of as many threads as the run used (bare_sdk_wall): what this machine and
emulator allow before the tool adds anything.
The serial script (one call at a time) is measured at each N and scaled by its calls (at 10,000
instances it would take minutes per point); the plot says so.
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

from tests.bench._support import (
    EMULATOR_PIDS,
    RESULTS,
    Report,
    admin,
    cpu_seconds,
    emulator_process,
)

REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-qingdao")
ACCOUNTS = ("1234567890123456", "2234567890123456")
"""The seed's default account (where the base user lives) and a second one."""
ACCOUNT_NAMES = ("alpha", "beta")
USER_KEY, USER_SECRET = "bench-deployer", "bench-deployer-secret"
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


def machine_bound(
    tool: dict[str, Any], latency_s: float, threads: int, tool_cores: int, cores: int
) -> float:
    """What this machine allows at the CPU the run spent: the latency bound, the tool's CPU
    over the cores its processes can use, and the tool's and the emulator's CPU together over
    every core."""
    calls, t = tool["calls"], tool["tool_cpu_per_call_s"]
    e = tool["emulator_cpu_per_request_s"]
    return max(calls * latency_s / threads, calls * t / tool_cores, calls * (t + e) / cores)


def spread_ids(count: int, regions: int) -> dict[str, list[str]]:
    names = REGIONS[:regions]
    return {
        region: [f"pgm-{region[3:5]}bench{n:07d}" for n in range(index, count, regions)]
        for index, region in enumerate(names)
    }


def spread_accounts(count: int, regions: int, accounts: int) -> dict[str, dict[str, list[str]]]:
    """The N ids, spread evenly over the accounts, then over the regions of each."""
    return {
        ACCOUNTS[a]: {
            region: [i.replace("bench", f"b{a}nch") for i in ids]
            for region, ids in spread_ids(len(range(a, count, accounts)), regions).items()
        }
        for a in range(accounts)
    }


def _trust() -> dict[str, Any]:
    principal = {"RAM": [f"acs:ram::{ACCOUNTS[0]}:root"]}
    statement = {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}
    return {"Version": "1", "Statement": [statement]}


def _account_world(ids: dict[str, list[str]]) -> dict[str, Any]:
    role = {"name": "reconciler", "trust": _trust(), "policies": ["AdministratorAccess"]}
    return {
        "regions": list(ids),
        "rds_instances": [
            {"id": i, "region": r, "class": "pg.n2.2c.2m", "encryption": "service"}
            for r, region_ids in ids.items()
            for i in region_ids
        ],
        "ram": {"roles": [role]},
    }


def seed_of(worlds: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    """The default account's world (with the deployer user when there are several accounts)
    and every further account's under `accounts:`."""
    first, *others = worlds
    seed = _account_world(worlds[first])
    if not others:
        return {k: v for k, v in seed.items() if k != "ram"}
    policies = ["AliyunSTSAssumeRoleAccess"]
    user = {"name": "deployer", "access_keys": [{"id": USER_KEY, "secret": USER_SECRET}]}
    seed["users"] = [{**user, "policies": policies}]
    seed["accounts"] = {account: _account_world(worlds[account]) for account in others}
    return seed


def spec_of(worlds: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    several = len(worlds) > 1
    names = dict(zip(worlds, ACCOUNT_NAMES, strict=False))
    doc: dict[str, Any] = {
        "version": 1,
        "defaults": {"region": next(iter(next(iter(worlds.values()))))},
        "instances": {
            i: {
                "region": r,
                "encryption": {"key": "service"},
                **({"account": names[account]} if several else {}),
            }
            for account, ids in worlds.items()
            for r, region_ids in ids.items()
            for i in region_ids
        },
    }
    if several:
        doc["accounts"] = {
            names[a]: {"role_arn": f"acs:ram::{a}:role/reconciler", "account_id": a} for a in worlds
        }
    return doc


def write_world(folder: Path, worlds: dict[str, dict[str, list[str]]]) -> tuple[str, Any]:
    """The emulator's seed file and the loaded spec (app/plan.load) of `worlds`."""
    from reconciler.app.plan import load

    seed = folder / "seed.yaml"
    seed.write_text(yaml.safe_dump(seed_of(worlds)))
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump(spec_of(worlds), sort_keys=False))
    return str(seed), load([str(spec)])


class MemorySampler:
    """Peak of the summed PSS of the run's processes (run_processes), every INTERVAL_S and once
    more at the end (the parent's plan is still alive then). PSS, not RSS: the workers are
    forks of one fork server (reconciler/worker_start.py) and share its pages, which a sum of
    RSS would count once per process.

    A sample is not free: reading smaps_rollup walks each process's page tables under its
    memory-map lock, about 9 ms of CPU per sample of the run's processes here. At every 100 ms
    that was 9% of a core charged to the tool (and its workers' allocations waiting on the
    lock), so the sampler reads twice a second and its own CPU (`cpu_s`) is not the tool's."""

    INTERVAL_S = 0.5

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self.cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        started = time.thread_time()
        while not self._stop.wait(self.INTERVAL_S):
            self._sample()
        self._sample()
        self.cpu_s = time.thread_time() - started

    def _sample(self) -> None:
        self.peak_mb = max(self.peak_mb, sum(_pss_mb(p) for p in run_processes()))


def run_processes() -> list[int]:
    """This process, its live workers and their fork server."""
    workers = [c.pid for c in multiprocessing.active_children() if c.pid]
    return [os.getpid(), *workers, *fork_servers()]


def fork_servers() -> list[int]:
    """This process's fork servers (a child started by any of its threads)."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                if b"forkserver" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except OSError:
                continue
    return found


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure_as_a_run(
    endpoint: str, spec: str, processes: int | None, parallelism: int
) -> dict[str, Any]:
    """measure() in a new process, as a run of the CLI is one: it starts its own fork server
    (none carried over from an earlier point), when and as the CLI does (cli/run.warm_workers,
    then the spec's load; neither is timed, as before)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    run = context.Process(
        target=_run_point,
        args=(answer, endpoint, EMULATOR_PIDS[endpoint], spec, processes, parallelism),
    )
    run.start()
    try:
        found = answer.get(timeout=900)
    finally:
        run.join(60)
    if isinstance(found, str):
        raise RuntimeError(f"the measured run failed: {found}")
    return found


def _run_point(
    answer: Any, endpoint: str, emulator: int, spec: str, processes: int | None, parallelism: int
) -> None:
    import importlib
    import traceback

    from reconciler.app.plan import load
    from reconciler.cli.options import GlobalOptions
    from reconciler.cli.run import warm_workers
    from reconciler.worker_start import WORKER_MODULES

    try:
        EMULATOR_PIDS[endpoint] = emulator
        warm_workers(GlobalOptions(processes=0 if processes is None else processes), [spec])
        loaded = load([spec])
        for module in WORKER_MODULES:
            importlib.import_module(module)
        measure(endpoint, loaded, processes, parallelism)  # imports and first uses: untimed
        answer.put(measure(endpoint, loaded, processes, parallelism))
    except BaseException:
        answer.put(traceback.format_exc())


def measure(endpoint: str, loaded: Any, processes: int | None, parallelism: int) -> dict[str, Any]:
    """observe + plan as the CLI's plan does it (several accounts: AssumeRole each, then one
    pool of workers), with the emulator's CPU over the same span."""
    from reconciler.app.accounts import connect_accounts, has_accounts, plan_accounts
    from reconciler.app.plan import observe_and_plan
    from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials

    several = has_accounts(loaded)
    key = (USER_KEY, USER_SECRET) if several else ("emulator", "emulator-secret")
    cloud = CloudClients(
        CloudSettings(
            endpoint=endpoint,
            credentials=StaticCredentials(*key),
            parallelism=parallelism,
            processes=processes,
        )
    )
    admin(endpoint, "DELETE", "calls")
    emulator = EMULATOR_PIDS[endpoint]
    with MemorySampler() as memory:
        started, emulator_cpu, tool_cpu = time.perf_counter(), cpu_seconds(emulator), _tool_cpu()
        if several:
            plan = plan_accounts(loaded, connect_accounts(loaded, cloud), parallelism=parallelism)
            plan = plan[1]
        else:
            plan = observe_and_plan(loaded, cloud, parallelism=parallelism)[1]
        wall = time.perf_counter() - started
        emulator_cpu = cpu_seconds(emulator) - emulator_cpu
    tool_cpu = _tool_cpu() - tool_cpu - memory.cpu_s
    assert not plan.refusals and not plan.changes, "the bench world must plan to no changes"
    served = admin(endpoint, "GET", "calls")["total"]
    return {
        "wall_s": wall,
        "calls": cloud.counter.total,
        "peak_mb": memory.peak_mb,
        "emulator_cpu_s": emulator_cpu,
        "emulator_requests": served,
        "emulator_cpu_per_request_s": emulator_cpu / max(1, served),
        "tool_cpu_s": tool_cpu,
        "tool_cpu_per_call_s": tool_cpu / max(1, cloud.counter.total),
    }


def _tool_cpu() -> float:
    """CPU seconds of this process, of its ended (waited-for) children, and of its fork server
    with the workers it forked and reaped (they are its children, not ours); the emulator
    process is still running, so it is not counted."""
    import resource

    usages = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    own = sum(usage.ru_utime + usage.ru_stime for usage in usages)
    return own + sum(cpu_seconds(server, children=True) for server in fork_servers())


def serial_per_call(endpoint: str, ids: dict[str, list[str]], samples: int = 100) -> float:
    """Seconds per call of a serial script reading instance by instance with the bare SDK
    (the default account's first region: its own AccessKey)."""
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


def bare_sdk_wall(
    endpoint: str, ids: dict[str, list[str]], calls: int, processes: int, threads: int
) -> float:
    """The official SDK alone, no tool: `calls` DescribeDBInstanceEncryptionKey spread over
    `processes` spawned processes of `threads` threads each (the run's own layout), timed from
    when every process has imported the SDK and made a first call until the last answer: what
    this machine and emulator allow before the tool adds anything."""
    context = multiprocessing.get_context("spawn")
    pipes, readers = [], []
    regions = list(ids.items())
    for n in range(processes):
        region, region_ids = regions[n % len(regions)]
        ours, theirs = context.Pipe()
        share = calls // processes + (1 if n < calls % processes else 0)
        readers.append(
            context.Process(
                target=_bare_reader, args=(endpoint, region, region_ids, share, threads, theirs)
            )
        )
        pipes.append(ours)
    for reader in readers:
        reader.start()
    try:
        for pipe in pipes:
            pipe.recv()  # ready
        started = time.perf_counter()
        for pipe in pipes:
            pipe.send("go")
        for pipe in pipes:
            pipe.recv()  # done
        return time.perf_counter() - started
    finally:
        for reader in readers:
            reader.join(30)


def _bare_reader(
    endpoint: str, region: str, ids: list[str], calls: int, threads: int, pipe: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from alibabacloud_rds20140815 import models

    from tests.e2e.world import rds

    client = rds(endpoint, region)

    def read(n: int) -> None:
        client.describe_dbinstance_encryption_key(
            models.DescribeDBInstanceEncryptionKeyRequest(
                dbinstance_id=ids[n % len(ids)], region_id=region
            )
        )

    read(0)
    pipe.send("ready")
    pipe.recv()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(read, range(calls)))
    pipe.send("done")


def run_size(count: int, args: argparse.Namespace, c: float | None) -> dict[str, Any]:
    from tests.bench.bench_plan import sdk_cpu_per_call

    worlds = spread_accounts(count, args.regions, args.accounts)
    first = next(iter(worlds.values()))
    with tempfile.TemporaryDirectory(prefix="bench-proc-") as folder:
        seed, loaded = write_world(Path(folder), worlds)
        with emulator_process(seed=seed) as endpoint:
            if c is None:  # the SDK's CPU per call, at 0 ms latency (bench_plan's way)
                c = sdk_cpu_per_call(endpoint, next(iter(first.values())))[0]
            admin(endpoint, "POST", "latency", {"ms": args.latency_ms})
            serial = serial_per_call(endpoint, first)
            spec = str(Path(folder) / "spec.yaml")
            tool = measure_as_a_run(endpoint, spec, requested(args), args.parallelism)
            used = processes_used(loaded, requested(args), args.regions * args.accounts)
            bare = bare_sdk_wall(endpoint, first, tool["calls"], used, args.parallelism)
    cores = os.cpu_count() or 1
    threads = used * args.parallelism
    latency = args.latency_ms / 1000
    per_region = [len(v) for ids in worlds.values() for v in ids.values()]
    return {
        "n": count,
        "processes": used,
        "per_region": per_region,
        "call_bound": sum(call_bound([len(v) for v in ids.values()]) for ids in worlds.values()),
        "sdk_cpu_per_call_s": c,
        "wall_bound_s": wall_bound(tool["calls"], latency, threads, c, cores),
        "machine_bound_s": machine_bound(tool, latency, threads, min(used, cores), cores),
        "serial_per_call_s": serial,
        "serial_wall_s": serial * count,
        "bare_sdk_wall_s": bare,
        **tool,
    }


def requested(args: argparse.Namespace) -> int | None:
    """--processes as the CLI takes it: 0 is auto (None: state/processes.worker_count)."""
    return args.processes or None


def processes_used(loaded: Any, processes: int | None, units: int) -> int:
    """How many processes observe reads in (1: in this one), for the bound's thread count."""
    from reconciler.state.processes import worker_count
    from reconciler.state.reads import ReadScope

    return worker_count(processes, [ReadScope.of(loaded.spec)], units)


def plot(points: list[dict[str, Any]], path: Path, world: str) -> None:
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
    wall.plot(n, [p["bare_sdk_wall_s"] for p in points], "^-.", label="bare SDK, same processes")
    wall.plot(n, [p["wall_bound_s"] for p in points], "k:", label="bound")
    wall.set(xlabel="instances N", ylabel="wall seconds", xscale="log", yscale="log")
    wall.legend()
    fig.suptitle(f"observe + plan, {world}, emulator in its own process")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,3000,10000")
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--accounts", type=int, choices=(1, 2), default=2)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--processes", type=int, default=0, help="0: auto, as the CLI's")
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
            f"(c = {c * 1000:.2f} ms, {point['processes']} processes)",
            f"<= {WALL_TARGET}x",
            ratio <= WALL_TARGET,
        )
        machine = point["wall_s"] / point["machine_bound_s"]
        report.note(
            f"{label}: machine bound",
            f"{point['wall_s']:.2f} s = {machine:.2f}x max(latency bound, calls x t / "
            f"min(processes, cores), calls x (t + e) / cores) = {point['machine_bound_s']:.2f} s, "
            "e = the emulator's CPU per request "
            f"{point['emulator_cpu_per_request_s'] * 1000:.2f} ms "
            f"({point['emulator_cpu_s']:.1f} s for {point['emulator_requests']} requests); "
            f"t = the tool's own CPU {point['tool_cpu_per_call_s'] * 1000:.2f} ms a call "
            "(parent, fork server and workers)",
        )
        report.note(
            f"{label}: bare SDK",
            f"the same {point['calls']} calls with the official SDK alone in "
            f"{point['processes']} process(es) x {args.parallelism} threads: "
            f"{point['bare_sdk_wall_s']:.2f} s = "
            f"{point['bare_sdk_wall_s'] / point['wall_bound_s']:.2f}x the bound; the tool took "
            f"{point['wall_s'] / point['bare_sdk_wall_s']:.2f}x that",
        )
        report.target(
            f"{label}: peak memory",
            f"{point['peak_mb']:.0f} MB PSS (parent, fork server and workers)",
            f"< {MEMORY_TARGET_MB:.0f} MB",
            point["peak_mb"] < MEMORY_TARGET_MB,
        )
    report.figures = {"args": vars(args), "points": points}
    RESULTS.mkdir(exist_ok=True)
    world = f"{args.latency_ms} ms a call, {args.regions} regions x {args.accounts} accounts"
    plot(points, RESULTS / "bench_processes.png", world)
    report.note("plot", str(RESULTS / "bench_processes.png"))
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
