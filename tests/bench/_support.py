"""Shared pieces of the benchmarks: an emulator in another process, a world of service-key
instances built through the SDK, observe+plan timed, and the one-line-per-target report.

Every benchmark prints one line per target (`figure, target: OK|MISSED`), writes JSON under
bench-results/, and exits 3 when a target is missed (tests/bench/run.py then fails)."""

from __future__ import annotations

import json
import multiprocessing
import socket
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path("bench-results")
MISSED_EXIT = 3
EMULATOR_PIDS: dict[str, int] = {}
"""endpoint -> the pid of the emulator process serving it (emulator_process), for its CPU."""


def _serve(
    state_path: str,
    port: int,
    ready: Any,
    stop: Any,
    restart_seconds: float,
    seed: str | None = None,
) -> None:
    from reconciler.emulator.runtime import Settings
    from reconciler.emulator.server import Emulator

    settings = Settings(restart_seconds=restart_seconds)
    emulator = Emulator(state_path, port=port, settings=settings, seed=seed)
    emulator.start()
    ready.set()
    stop.wait()
    emulator.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def emulator_process(restart_seconds: float = 0, seed: str | None = None) -> Iterator[str]:
    """An emulator in ANOTHER process (so its CPU is not ours); yields its endpoint.
    `restart_seconds`: how long an encryption change keeps an instance busy (the emulated
    clock is real time plus an offset, so this is real time too)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    port = _free_port()
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    server = ctx.Process(
        target=_serve,
        args=(str(workdir / "world.sqlite"), port, ready, stop, restart_seconds, seed),
    )
    server.start()
    try:
        if not ready.wait(600):  # a seeded world of 10,000 instances takes a while
            raise RuntimeError("the emulator did not start")
        EMULATOR_PIDS[f"127.0.0.1:{port}"] = server.pid or 0
        yield f"127.0.0.1:{port}"
    finally:
        stop.set()
        server.join(10)


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU time of process `pid` so far (/proc/<pid>/stat, fields 14 and 15),
    and with `children` that of its ended and waited-for children (fields 16 and 17)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def admin(endpoint: str, method: str, name: str, body: dict | None = None) -> dict:
    from tests.e2e.world import admin as world_admin

    return world_admin(endpoint, method, name, body)


def build_world(endpoint: str, count: int) -> list[str]:
    """`count` general-purpose instances on the service key, created through the SDK."""
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


def service_key_spec(instance_ids: list[str]) -> Any:
    from reconciler.spec.models import Spec

    return Spec.model_validate(
        {"instances": {i: {"encryption": {"key": "service"}} for i in instance_ids}}
    )


def clients(endpoint: str, parallelism: int, limits: dict[str, float] | None = None) -> Any:
    from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
    from reconciler.cloud.ratelimit import DEFAULT_LIMITS, RateLimiter

    return CloudClients(
        CloudSettings(
            endpoint=endpoint,
            credentials=StaticCredentials("emulator", "emulator-secret"),
            parallelism=parallelism,
        ),
        limiter=RateLimiter({**DEFAULT_LIMITS, **(limits or {})}),
    )


def observe_and_plan(
    spec: Any, endpoint: str, parallelism: int, limits: dict[str, float] | None = None
) -> dict[str, Any]:
    """Time observe + build_plan (fresh clients, server call counts reset first)."""
    from reconciler.plan.planner import build_plan
    from reconciler.state.observe import observe

    cloud = clients(endpoint, parallelism, limits)
    admin(endpoint, "DELETE", "calls")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    observed = observe(spec, cloud, parallelism=parallelism)
    plan = build_plan(spec, observed)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    server = admin(endpoint, "GET", "calls")
    assert not plan.refusals and not plan.changes, "the bench world must plan to no changes"
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "calls": cloud.counter.total,
        "retries": sum(cloud.counter.retries().values()),
        "retries_by_action": cloud.counter.retries(),
        "server_calls": server["total"],
        "server_by_action": server["by_action"],
        "by_action": cloud.counter.by_action(),
    }


def spread(values: list[float]) -> dict[str, float]:
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "runs": len(values),
    }


@dataclass
class Report:
    """Target lines, printed as they come, and the JSON written at the end."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)

    def target(self, label: str, figure: str, target: str, ok: bool) -> None:
        self.targets.append({"target": label, "figure": figure, "wanted": target, "ok": ok})
        print(f"{label:<28} {figure}; target {target}: {'OK' if ok else 'MISSED'}", flush=True)

    def note(self, label: str, text: str) -> None:
        print(f"{label:<28} {text}", flush=True)

    def finish(self) -> int:
        RESULTS.mkdir(exist_ok=True)
        doc = {**self.figures, "targets": self.targets}
        path = RESULTS / f"{self.name}.json"
        path.write_text(json.dumps(doc, indent=2) + "\n")
        missed = [t["target"] for t in self.targets if not t["ok"]]
        print(f"results in {path}" + (f"; MISSED: {', '.join(missed)}" if missed else ""))
        return MISSED_EXIT if missed else 0
