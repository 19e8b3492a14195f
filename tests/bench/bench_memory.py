"""Peak memory of observe + plan at 5,000 instances (README, "Measured": under 200 MB).

An emulator (another process) holds 5,000 service-key instances built through the SDK; a
FRESH Python process then runs observe + build_plan of a spec naming all of them and reports
its own peak resident set (ru_maxrss: interpreter, SDKs, spec, observed state and plan).
Writes bench-results/bench_memory.json; exit 3 when the target is missed.

    python -m tests.bench.bench_memory [--instances 5000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench._support import (
    Report,
    admin,
    build_world,
    emulator_process,
    observe_and_plan,
    service_key_spec,
)

TARGET_MB = 200.0
PARALLELISM = 16


def probe(endpoint: str, ids_file: str) -> None:
    """In the fresh process: observe + plan, then print the figures as JSON."""
    spec = service_key_spec(json.loads(Path(ids_file).read_text()))
    result = observe_and_plan(spec, endpoint, PARALLELISM)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"peak_mb": peak_mb, "calls": result["calls"], "wall_s": result["wall_s"]}))


def run(count: int) -> dict[str, Any]:
    with emulator_process() as endpoint:
        ids = build_world(endpoint, count)
        admin(endpoint, "POST", "latency", {"ms": 0})
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as ids_file:
            json.dump(ids, ids_file)
        done = subprocess.run(
            [sys.executable, "-m", "tests.bench.bench_memory", "--probe", endpoint, ids_file.name],
            capture_output=True,
            text=True,
            check=False,
        )
        Path(ids_file.name).unlink()
    if done.returncode != 0:
        raise SystemExit(f"the probe failed:\n{done.stdout}{done.stderr}")
    return {"instances": count, **json.loads(done.stdout.strip().splitlines()[-1])}


def report(result: dict[str, Any]) -> int:
    out = Report("bench_memory", result)
    out.note(
        "setup",
        f"observe+plan of {result['instances']} instances in a fresh process: "
        f"{result['calls']} calls in {result['wall_s']:.2f} s (no injected latency)",
    )
    out.target(
        "peak memory",
        f"{result['peak_mb']:.1f} MB (ru_maxrss)",
        f"< {TARGET_MB:.0f} MB",
        result["peak_mb"] < TARGET_MB,
    )
    return out.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--probe", nargs=2, metavar=("ENDPOINT", "IDS_FILE"))
    args = parser.parse_args(argv)
    if args.probe:
        probe(*args.probe)
        return 0
    return report(run(args.instances))


if __name__ == "__main__":
    sys.exit(main())
