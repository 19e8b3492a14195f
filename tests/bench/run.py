"""`make bench`: run every tests/bench/bench_*.py in its own process, one after another.

Each benchmark prints its figures and writes JSON (and a plot where it has one) under
bench-results/. They are measurements with targets, not pass/fail tests: this runner exits
non-zero only when a benchmark crashes or reports a missed target with exit code 3.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if not scripts:
        print("no benchmarks found", file=sys.stderr)
        return 1
    failed: list[str] = []
    for script in scripts:
        module = f"tests.bench.{script.stem}"
        print(f"\n=== {module}", flush=True)
        if subprocess.call([sys.executable, "-m", module]) != 0:
            failed.append(module)
    if failed:
        print(f"\nfailed or missed a target: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\n{len(scripts)} benchmarks done; results in bench-results/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
