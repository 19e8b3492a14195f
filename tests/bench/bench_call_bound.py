"""The observe call bound N + ceil(N/100) + K + 10 in every configuration (README, "Measured").

One region of N instances (default 1,000) on the service key, emulator in another process, no
latency (only calls are counted). Each configuration plans real work, so nothing is skipped:
- immediate: every instance moves to encryption off (restart: immediate);
- maintenance-window: the same moves, submitted for the window (the window is not read);
- disable-a-key: the spec disables a KMS key no instance uses, beside the N service-key
  instances: its users come from one DescribeKmsAssociateResources, not from reading every
  instance of the region; but its backup sets do need every instance's (DescribeBackups takes
  one instance): ceil(N/100) DescribeDBInstances of every engine and N DescribeBackups more
  (each instance has under 100 sets), the bound of kinds/kms_key/backups.py (issue 18);
- tde: the immediate moves, and `defaults.tde` on the service key (TDE off everywhere): one
  DescribeDBInstanceTDE per instance and, as each is to be enabled, one
  DescribeDBInstanceAttribute (kinds/rds_tde/read.py): 2N more (issue 19).
Writes bench-results/bench_call_bound.json. Exit 3 when a configuration breaks the bound.

    python -m tests.bench.bench_call_bound [--instances 1000]
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from tests.bench._support import Report, admin, build_world, clients, emulator_process

PARALLELISM = 16


def _specs(ids: list[str]) -> dict[str, tuple[Any, int, bool]]:
    """Configuration -> (spec, K keys, whether the region's backup sets are read)."""
    from reconciler.spec.models import Spec

    off = {i: {"encryption": "disabled"} for i in ids}
    service = {i: {"encryption": {"key": "service"}} for i in ids}
    retired = {"alias": "alias/bench-retired", "state": "disabled"}
    return {
        "immediate": (
            Spec.model_validate({"defaults": {"restart": "immediate"}, "instances": off}),
            0,
            False,
        ),
        "maintenance-window": (
            Spec.model_validate({"defaults": {"restart": "maintenance-window"}, "instances": off}),
            0,
            False,
        ),
        "disable-a-key": (
            Spec.model_validate({"kms_keys": {"retired": retired}, "instances": service}),
            1,
            True,
        ),
        "tde": (
            Spec.model_validate(
                {"defaults": {"restart": "immediate", "tde": {"key": "service"}}, "instances": off}
            ),
            0,
            False,
        ),
    }


def _count(spec: Any, endpoint: str) -> dict[str, Any]:
    from reconciler.plan.planner import build_plan
    from reconciler.state.observe import observe

    cloud = clients(endpoint, PARALLELISM)
    observed = observe(spec, cloud, parallelism=PARALLELISM)
    plan = build_plan(spec, observed)
    return {
        "calls": cloud.counter.total,
        "by_action": cloud.counter.by_action(),
        "changes": len(plan.changes),
        "refusals": len(plan.refusals),
    }


def _retired_key(endpoint: str) -> None:
    from tests.e2e.world import create_key

    create_key(endpoint, alias="alias/bench-retired", tags={"acs:rds:instance-encryption": "true"})


def run(count: int) -> dict[str, Any]:
    with emulator_process() as endpoint:
        ids = build_world(endpoint, count)
        _retired_key(endpoint)
        admin(endpoint, "POST", "latency", {"ms": 0})
        results = {}
        for name, (spec, keys, backups) in _specs(ids).items():
            counted = _count(spec, endpoint)
            bound = count + math.ceil(count / 100) + keys + 10
            if backups:
                bound += count + math.ceil(count / 100)
            if name == "tde":  # a DescribeDBInstanceTDE each, and the attribute of each to enable
                bound += 2 * count
            results[name] = {**counted, "keys": keys, "bound": bound}
    return {"instances": count, "configurations": results}


def report(result: dict[str, Any]) -> int:
    out = Report("bench_call_bound", result)
    n = result["instances"]
    out.note("setup", f"{n} service-key instances in one region, parallelism {PARALLELISM}")
    for name, r in result["configurations"].items():
        worked = r["changes"] > 0 and r["refusals"] == 0
        out.target(
            f"calls, {name}",
            f"{r['calls']} calls, {r['changes']} changes, {r['refusals']} refused",
            f"<= {r['bound']} (N + ceil(N/100) + {r['keys']} + 10, and N + ceil(N/100) backup "
            "reads where a key retires, 2N TDE reads where TDE is to be enabled) with changes "
            "planned",
            r["calls"] <= r["bound"] and worked,
        )
        top = sorted(r["by_action"].items(), key=lambda kv: -kv[1])[:4]
        out.note("", ", ".join(f"{a} {c}" for a, c in top))
    return out.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    args = parser.parse_args(argv)
    return report(run(args.instances))


if __name__ == "__main__":
    sys.exit(main())
