"""Observe + plan under a server quota (README, "Measured"): zero throttled calls reach the
user, and the wall time stays within 1.1x of calls / quota.

The emulator (another process, no injected latency) throttles DescribeDBInstanceEncryptionKey
at QUOTA calls a second with its real answer (400 Throttling.User, x-acs-retry-after), set by
POST /_emulator/quota. Two runs of observe+plan over N service-key instances:
- "declared": the user gives the reconciler the quota (`--rate-limit
  DescribeDBInstanceEncryptionKey=QUOTA`), so its token bucket stays under it;
- "undeclared": no client limit; throttled answers are retried (retry-after honoured).
Targets, for each run: observe+plan succeeds (no throttling error reaches the user) and its
wall time <= 1.1 x (calls of the throttled action) / QUOTA. The server's count of answers
to that action shows how many were throttled (and retried). Writes
bench-results/bench_quota.json; exit 3 when a target is missed.

    python -m tests.bench.bench_quota [--instances 1000] [--quota 200]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tests.bench._support import (
    Report,
    admin,
    build_world,
    emulator_process,
    observe_and_plan,
    service_key_spec,
)

ACTION = "DescribeDBInstanceEncryptionKey"
PARALLELISM = 16


def _one(spec: Any, endpoint: str, quota: int, limits: dict[str, float] | None) -> dict[str, Any]:
    admin(endpoint, "DELETE", "quota", {})
    admin(endpoint, "POST", "quota", {"action": ACTION, "per_second": quota})
    try:
        result = observe_and_plan(spec, endpoint, PARALLELISM, limits)
        result["error"] = None
    except Exception as error:  # a throttling error that reached the user: the target failed
        result = {"error": f"{type(error).__name__}: {error}"}
    admin(endpoint, "DELETE", "quota", {})
    if result["error"] is None:
        # The client counts every request it sends, retries included: the calls the quota
        # admitted are those minus the retries.
        sent = result["by_action"].get(f"rds:{ACTION}", 0)
        retried = result["retries_by_action"].get(f"rds:{ACTION}", 0)
        answered = result["server_by_action"].get(f"rds:{ACTION}", 0)
        result["quota_calls"] = sent - retried
        result["ideal_s"] = result["quota_calls"] / quota
        result["ratio"] = result["wall_s"] / result["ideal_s"]
        result["throttled_at_server"] = answered - result["quota_calls"]
    return result


def run(count: int, quota: int) -> dict[str, Any]:
    with emulator_process() as endpoint:
        spec = service_key_spec(build_world(endpoint, count))
        admin(endpoint, "POST", "latency", {"ms": 0})
        declared = _one(spec, endpoint, quota, {ACTION: float(quota)})
        undeclared = _one(spec, endpoint, quota, None)
    return {
        "instances": count,
        "quota_per_s": quota,
        "declared": declared,
        "undeclared": undeclared,
    }


def report(result: dict[str, Any]) -> int:
    out = Report("bench_quota", result)
    out.note(
        "setup",
        f"{result['instances']} instances, server quota {result['quota_per_s']}/s on {ACTION}, "
        f"parallelism {PARALLELISM}, no injected latency",
    )
    for name in ("declared", "undeclared"):
        run_ = result[name]
        ok = run_["error"] is None
        out.target(
            f"{name}: reaches the user",
            "no error" if ok else run_["error"],
            "zero throttled calls",
            ok,
        )
        if not ok:
            continue
        out.target(
            f"{name}: wall time",
            f"{run_['wall_s']:.2f} s for {run_['quota_calls']} calls = {run_['ratio']:.3f}x "
            f"calls / quota ({run_['ideal_s']:.2f} s); {run_['throttled_at_server']} throttled "
            "answers retried",
            "<= 1.1x",
            run_["ratio"] <= 1.1,
        )
    return out.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--quota", type=int, default=200)
    args = parser.parse_args(argv)
    return report(run(args.instances, args.quota))


if __name__ == "__main__":
    sys.exit(main())
