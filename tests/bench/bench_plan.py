"""Observe + plan of N service-key instances at 20 ms per call (DESIGN section 10).

Measured in one run, against an emulator in ANOTHER process (so its CPU is not ours):
- calls of observe+plan vs the bound N + ceil(N/100) + K + 10;
- c, the official SDK's own CPU time per call, from a serial loop of raw SDK calls against the
  zero-latency emulator;
- wall time of observe+plan at 20 ms vs the limit max(calls x 20 ms / parallelism, calls x c)
  (target: at most 1.3x);
- the same observe run serially (parallelism 1: instance by instance), the baseline
  (target: at least 10x slower).
Writes bench-results/bench_plan.json and bench_plan.png; prints the figures. Exit 3 when a
target is missed.

    python -m tests.bench.bench_plan [--instances 1000] [--latency-ms 20] [--parallelism 16]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

RESULTS = Path("bench-results")
KEYS = 0  # the spec names no KMS key: all instances on the service key


def _serve(state_path: str, port: int, ready: Any, stop: Any) -> None:
    from reconciler.emulator.runtime import Settings
    from reconciler.emulator.server import Emulator

    emulator = Emulator(state_path, port=port, settings=Settings(restart_seconds=0))
    emulator.start()
    ready.set()
    stop.wait()
    emulator.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin(endpoint: str, method: str, name: str, body: dict | None = None) -> dict:
    from tests.e2e.world import admin

    return admin(endpoint, method, name, body)


def _build_world(endpoint: str, count: int) -> list[str]:
    from tests.e2e.world import create_instance

    with ThreadPoolExecutor(16) as pool:
        return list(
            pool.map(
                lambda _: create_instance(
                    endpoint, class_code="pg.n2.2c.2m", encryption_key="ServiceKey"
                ),
                range(count),
            )
        )


def _clients(endpoint: str, parallelism: int) -> Any:
    from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials

    return CloudClients(
        CloudSettings(
            endpoint=endpoint,
            credentials=StaticCredentials("emulator", "emulator-secret"),
            parallelism=parallelism,
        )
    )


def _observe_and_plan(spec: Any, endpoint: str, parallelism: int) -> dict[str, Any]:
    from reconciler.plan.planner import build_plan
    from reconciler.state.observe import observe

    clients = _clients(endpoint, parallelism)
    _admin(endpoint, "DELETE", "calls")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    observed = observe(spec, clients, parallelism=parallelism)
    plan = build_plan(spec, observed)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    server_calls = _admin(endpoint, "GET", "calls")["total"]
    assert not plan.refusals and not plan.changes, "the bench world must plan to no changes"
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "calls": clients.counter.total,
        "server_calls": server_calls,
        "by_action": clients.counter.by_action(),
    }


def _sdk_cpu_per_call(
    endpoint: str, instance_ids: list[str], samples: int = 400
) -> tuple[float, float]:
    """c: CPU seconds per raw SDK call (DescribeDBInstanceEncryptionKey), serial, 0 latency;
    and the wall seconds per call of that loop (c plus the emulator's own time per answer)."""
    from alibabacloud_rds20140815 import models

    from tests.e2e.world import rds

    client = rds(endpoint)
    for instance_id in instance_ids[:20]:  # warm up: imports, connection pool
        client.describe_dbinstance_encryption_key(
            models.DescribeDBInstanceEncryptionKeyRequest(
                dbinstance_id=instance_id, region_id="cn-hangzhou"
            )
        )
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(samples):
        client.describe_dbinstance_encryption_key(
            models.DescribeDBInstanceEncryptionKeyRequest(
                dbinstance_id=instance_ids[i % len(instance_ids)], region_id="cn-hangzhou"
            )
        )
    return (time.process_time() - cpu0) / samples, (time.perf_counter() - wall0) / samples


def _raw_sdk_wall(endpoint: str, instance_ids: list[str], calls: int, parallelism: int) -> float:
    """The SDK's own ceiling: `calls` bare encryption reads on `parallelism` threads, no
    observer around them (same endpoint, same latency)."""
    from alibabacloud_rds20140815 import models

    from tests.e2e.world import rds

    client = rds(endpoint)

    def one(i: int) -> None:
        client.describe_dbinstance_encryption_key(
            models.DescribeDBInstanceEncryptionKeyRequest(
                dbinstance_id=instance_ids[i % len(instance_ids)], region_id="cn-hangzhou"
            )
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        list(pool.map(one, range(calls)))
    return time.perf_counter() - started


def run(count: int, latency_ms: int, parallelism: int) -> dict[str, Any]:
    from reconciler.spec.models import Spec

    workdir = Path(tempfile.mkdtemp(prefix="bench-plan-"))
    port = _free_port()
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    server = ctx.Process(target=_serve, args=(str(workdir / "world.sqlite"), port, ready, stop))
    server.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the emulator did not start")
        endpoint = f"127.0.0.1:{port}"
        ids = _build_world(endpoint, count)
        spec = Spec.model_validate(
            {"instances": {i: {"encryption": {"key": "service"}} for i in ids}}
        )
        _admin(endpoint, "POST", "latency", {"ms": 0})
        c, serial_call_wall = _sdk_cpu_per_call(endpoint, ids)
        zero = _observe_and_plan(spec, endpoint, parallelism)
        _admin(endpoint, "POST", "latency", {"ms": latency_ms})
        fast = _observe_and_plan(spec, endpoint, parallelism)
        raw_wall = _raw_sdk_wall(endpoint, ids, fast["calls"], parallelism)
        serial = _observe_and_plan(spec, endpoint, 1)
    finally:
        stop.set()
        server.join(10)
    bound = count + math.ceil(count / 100) + KEYS + 10
    calls = fast["calls"]
    limit = max(calls * latency_ms / 1000 / parallelism, calls * c)
    return {
        "instances": count,
        "latency_ms": latency_ms,
        "parallelism": parallelism,
        "calls": calls,
        "calls_bound": bound,
        "calls_ok": calls <= bound,
        "sdk_cpu_per_call_ms": c * 1000,
        "emulator_ms_per_call": (serial_call_wall - c) * 1000,
        "observe_cpu_per_call_ms_zero_latency": zero["cpu_s"] / zero["calls"] * 1000,
        "zero_latency_calls_per_s": zero["calls"] / zero["wall_s"],
        "wall_zero_latency_s": zero["wall_s"],
        "wall_s": fast["wall_s"],
        "wall_limit_s": limit,
        "wall_ratio": fast["wall_s"] / limit,
        "wall_ok": fast["wall_s"] <= 1.3 * limit,
        "raw_sdk_same_calls_wall_s": raw_wall,
        "raw_sdk_ratio": raw_wall / limit,
        "serial_wall_s": serial["wall_s"],
        "speedup_vs_serial": serial["wall_s"] / fast["wall_s"],
        "speedup_ok": serial["wall_s"] / fast["wall_s"] >= 10,
        "by_action": fast["by_action"],
    }


def _plot(result: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    labels = ["parallel\n(measured)", "limit", "1.3x limit", "serial\n(measured)"]
    values = [
        result["wall_s"],
        result["wall_limit_s"],
        1.3 * result["wall_limit_s"],
        result["serial_wall_s"],
    ]
    fig, ax = plt.subplots(figsize=(7, 4))
    bars = ax.bar(labels, values, color=["tab:blue", "tab:gray", "tab:gray", "tab:red"])
    ax.bar_label(bars, fmt="%.2f s")
    ax.set_yscale("log")
    ax.set_ylabel("wall time (s, log)")
    ax.set_title(
        f"observe+plan of {result['instances']} instances at "
        f"{result['latency_ms']} ms/call: {result['calls']} calls "
        f"(bound {result['calls_bound']})",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args(argv)
    result = run(args.instances, args.latency_ms, args.parallelism)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_plan.json").write_text(json.dumps(result, indent=2) + "\n")
    _plot(result, RESULTS / "bench_plan.png")
    print(
        f"instances {result['instances']}, latency {result['latency_ms']} ms, "
        f"parallelism {result['parallelism']}"
    )
    print(
        f"API calls        {result['calls']} (bound {result['calls_bound']}): "
        f"{'OK' if result['calls_ok'] else 'MISSED'}"
    )
    print(
        f"SDK CPU per call {result['sdk_cpu_per_call_ms']:.2f} ms "
        f"(observe at 0 ms: {result['observe_cpu_per_call_ms_zero_latency']:.2f} ms/call, "
        f"{result['wall_zero_latency_s']:.2f} s)"
    )
    print(
        f"emulator         {result['emulator_ms_per_call']:.2f} ms per answer (serial); "
        f"observe at 0 ms latency: {result['zero_latency_calls_per_s']:.0f} calls/s"
    )
    print(
        f"wall time        {result['wall_s']:.2f} s vs limit {result['wall_limit_s']:.2f} s "
        f"= {result['wall_ratio']:.2f}x (target <= 1.3x): "
        f"{'OK' if result['wall_ok'] else 'MISSED'}"
    )
    print(
        f"raw SDK ceiling  {result['raw_sdk_same_calls_wall_s']:.2f} s for the same calls on the "
        f"same threads without the observer = {result['raw_sdk_ratio']:.2f}x the limit"
    )
    print(
        f"serial baseline  {result['serial_wall_s']:.2f} s = "
        f"{result['speedup_vs_serial']:.1f}x slower (target >= 10x): "
        f"{'OK' if result['speedup_ok'] else 'MISSED'}"
    )
    print(f"results in {RESULTS}/bench_plan.json")
    return 0 if result["calls_ok"] and result["wall_ok"] and result["speedup_ok"] else 3


if __name__ == "__main__":
    sys.exit(main())
