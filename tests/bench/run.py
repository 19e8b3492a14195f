"""`make bench`: run every tests/bench/bench_*.py in its own process, one after another.

Each benchmark prints one line per target (figure; target: OK or MISSED) and writes JSON
(and a plot where it has one) under bench-results/. They are measurements with targets, not
pass/fail tests: this runner exits non-zero when a benchmark crashes or reports a missed
target (exit code 3), and ends with a summary of every target line.

The machine matters: on a shared 2-core machine the wall-time figures move with the
neighbours' load; run `make bench` on a quiet machine for figures to compare.
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
    summary: list[str] = []
    for script in scripts:
        module = f"tests.bench.{script.stem}"
        print(f"\n=== {module}", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", module], stdout=subprocess.PIPE, text=True, check=False
        )
        print(done.stdout, end="", flush=True)
        summary += [f"{script.stem}: {line}" for line in done.stdout.splitlines() if _judged(line)]
        if done.returncode != 0:
            failed.append(f"{module} (exit {done.returncode})")
    print("\n=== targets")
    print("\n".join(summary))
    if failed:
        print(f"\nfailed or missed a target: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\n{len(scripts)} benchmarks done; results in bench-results/")
    return 0


def _judged(line: str) -> bool:
    return line.endswith(": OK") or line.endswith(": MISSED")


if __name__ == "__main__":
    sys.exit(main())
