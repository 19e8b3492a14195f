"""`plan --shard I/4` of 2 accounts x 4 regions against one unsharded plan (issue 21, items 4
and 6; README, "Sharding across CI runners"): the slowest shard within 1.3x of a quarter of
the unsharded wall, and `reconciler merge` of the four shards' JSON equal to the unsharded
plan (the same changes, ClientTokens aside; refusals, warnings, summary).

    python -m tests.bench.bench_shards [--instances 10000] [--latency-ms 20] [--shards 4]

The default is the issue's world (10,000 instances, issue 21 item 6). With fewer, each shard's
fixed start (about 0.7 s at 3,000 instances) weighs more than a quarter's reads can hide: at
3,000 the slowest shard is about 1.6x a quarter.

Each run is `python -m reconciler plan` in a process of its own, one after the other (so each
has the machine, as separate CI runners would), the base credentials a RAM user of account A
that assumes a role in each account (the emulator's STS). The emulator runs in its own
process (tests/bench/_support.py). A run's wall includes starting Python, importing the tool
and the SDKs and loading the spec: the cost every CI job pays once, printed as `start` (the
wall of a shard with no unit, which reads nothing); the note gives the walls without it too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from tests.bench._support import Report, admin, emulator_process

REGIONS = ("cn-beijing", "cn-hangzhou", "cn-qingdao", "cn-shanghai")
A, B = "1234567890123456", "2234567890123456"
USER_KEY, USER_SECRET = "bench-deployer", "bench-deployer-secret"
WALL_TARGET = 1.3
UNITS = 2 * len(REGIONS)
"""(account, region) units of the world: 2 accounts x REGIONS."""
OFF_EVERY = 10
"""One instance in OFF_EVERY is unencrypted: the plans have changes to compare."""


def _trusting_a() -> dict[str, Any]:
    statement = {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"RAM": [f"acs:ram::{A}:root"]},
    }
    return {"Version": "1", "Statement": [statement]}


def _instances(letter: str, count: int) -> dict[str, list[str]]:
    """`count` instance ids of one account dealt over REGIONS."""
    return {
        region: [f"pgm-{region[3:5]}{letter}bench{n:07d}" for n in range(k, count, len(REGIONS))]
        for k, region in enumerate(REGIONS)
    }


def _account(ids: dict[str, list[str]]) -> dict[str, Any]:
    rds = [
        {
            "id": instance_id,
            "region": region,
            "class": "pg.n2.2c.2m",
            "encryption": "off" if n % OFF_EVERY == 0 else "service",
        }
        for region, region_ids in ids.items()
        for n, instance_id in enumerate(region_ids)
    ]
    role = {"name": "reconciler", "trust": _trusting_a(), "policies": ["AdministratorAccess"]}
    return {"regions": list(REGIONS), "rds_instances": rds, "ram": {"roles": [role]}}


def write_world(folder: Path, count: int) -> tuple[str, str]:
    """The seed (account A with the deployer user, account B) and the spec: every instance
    listed under its account, on the service key. `count` instances in all."""
    alpha, beta = _instances("a", count // 2), _instances("b", count - count // 2)
    seed = _account(alpha)
    seed["users"] = [
        {
            "name": "deployer",
            "access_keys": [{"id": USER_KEY, "secret": USER_SECRET}],
            "policies": ["AliyunSTSAssumeRoleAccess"],
        }
    ]
    seed["accounts"] = {B: _account(beta)}
    listed = {
        instance_id: {"account": name, "region": region, "encryption": {"key": "service"}}
        for name, ids in (("alpha", alpha), ("beta", beta))
        for region, region_ids in ids.items()
        for instance_id in region_ids
    }
    spec = {
        "version": 1,
        "accounts": {
            "alpha": {"role_arn": f"acs:ram::{A}:role/reconciler", "regions": list(REGIONS)},
            "beta": {"role_arn": f"acs:ram::{B}:role/reconciler", "regions": list(REGIONS)},
        },
        "defaults": {"region": REGIONS[1], "restart": "immediate"},
        "instances": listed,
    }
    (folder / "seed.yaml").write_text(yaml.safe_dump(seed), encoding="utf-8")
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return str(folder / "seed.yaml"), str(folder / "spec.yaml")


def _env(folder: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ALIBABA_CLOUD_", "GITHUB_", "GITLAB_", "CI_"))
    }
    return {
        **env,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": USER_KEY,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": USER_SECRET,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
        "ALIBABA_CLOUD_CREDENTIALS_FILE": str(folder / "none.ini"),
        "RECONCILER_STATE_HOME": str(folder / "state"),
        "HOME": str(folder),
        "CI": "1",
    }


def run_cli(endpoint: str, folder: Path, *args: str) -> tuple[float, str]:
    """(wall seconds, stdout) of `python -m reconciler --endpoint E ARGS` in a new process;
    exit 0 or 2 (changes), anything else stops the bench."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "--endpoint", endpoint, *args],
        capture_output=True,
        text=True,
        env=_env(folder),
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise RuntimeError(f"reconciler {' '.join(args)} exit {done.returncode}: {done.stderr}")
    return wall, done.stdout


def comparable(plan: dict[str, Any]) -> dict[str, Any]:
    """What one plan must share with the other: changes (ClientTokens aside: they derive
    from each plan's own id), refusals, warnings, summary, spec digest."""
    changes = []
    for change in plan["changes"]:
        operations = [
            {**op, "params": {k: v for k, v in op["params"].items() if k != "ClientToken"}}
            for op in change["operations"]
        ]
        changes.append({**change, "operations": operations})
    fields = ("refusals", "warnings", "summary", "spec_digest")
    return {"changes": changes, **{f: plan[f] for f in fields}}


def measure(count: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as name:
        folder = Path(name)
        seed, spec = write_world(folder, count)
        with emulator_process(seed=seed) as endpoint:
            admin(endpoint, "POST", "latency", {"ms": args.latency_ms})
            empty = f"{UNITS + 1}/{UNITS + 1}"  # more shards than units: the last has none
            start, _ = run_cli(endpoint, folder, "plan", spec, "--shard", empty)
            whole_wall, whole = run_cli(endpoint, folder, "plan", spec, "--format", "json")
            shards, files = [], []
            for index in range(1, args.shards + 1):
                out = folder / f"plan-{index}.json"
                shard = f"{index}/{args.shards}"
                wall, _ = run_cli(endpoint, folder, "plan", spec, "--shard", shard, "-o", str(out))
                shards.append(wall)
                files.append(str(out))
            _, merged = run_cli(endpoint, folder, "merge", *files, "--format", "json")
    whole_plan, merged_plan = json.loads(whole), json.loads(merged)
    return {
        "n": count,
        "start_s": start,
        "unsharded_wall_s": whole_wall,
        "shard_walls_s": shards,
        "changes": len(whole_plan["changes"]),
        "merged_equals_unsharded": comparable(merged_plan) == comparable(whole_plan),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args(argv)
    report = Report("bench_shards")
    point = measure(args.instances, args)
    quarter = point["unsharded_wall_s"] / args.shards
    slowest = max(point["shard_walls_s"])
    walls = ", ".join(f"{w:.2f}" for w in point["shard_walls_s"])
    report.note(
        f"N={args.instances}",
        f"2 accounts x {len(REGIONS)} regions, {args.latency_ms} ms a call; unsharded "
        f"{point['unsharded_wall_s']:.2f} s; shards {walls} s; start {point['start_s']:.2f} s",
    )
    work = [w - point["start_s"] for w in (point["unsharded_wall_s"], slowest)]
    report.note(
        "without start",
        f"unsharded {work[0]:.2f} s, slowest shard {work[1]:.2f} s = "
        f"{work[1] * args.shards / max(work[0], 1e-9):.2f}x a 1/{args.shards}",
    )
    report.target(
        "slowest shard",
        f"{slowest:.2f} s = {slowest / quarter:.2f}x a 1/{args.shards} of the unsharded wall "
        f"({quarter:.2f} s)",
        f"<= {WALL_TARGET}x",
        slowest <= WALL_TARGET * quarter,
    )
    report.target(
        "merged == unsharded",
        f"{point['changes']} changes, "
        + ("identical" if point["merged_equals_unsharded"] else "DIFFERENT"),
        "identical",
        point["merged_equals_unsharded"],
    )
    report.figures = {"args": vars(args), "point": point}
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
