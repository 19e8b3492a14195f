"""Benchmark: `reconciler validate` of a generated 5,000-instance spec, and `--help` start-up.

Targets (README, "Measured"): validate under 1 s wall, --help under 0.3 s, peak memory under
200 MB. Each figure is the median of several runs of the real console script in a fresh
process, so interpreter start-up and imports are included, as a user sees them.
Prints the figures, writes bench-results/validate.json, exits 3 when a target is missed.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench._support import Report

INSTANCES = 5_000
KEYS = 20
RUNS = 5
TARGETS = {"validate_s": 1.0, "help_s": 0.3, "validate_peak_mb": 200.0}


def write_spec(folder: Path, instances: int = INSTANCES, keys: int = KEYS) -> None:
    """A fleet like a big company's: defaults, keys in two regions, instances over four files."""
    (folder / "00-defaults.yaml").write_text(
        'version: 1\ndefaults:\n  region: cn-hangzhou\n  account: "1234567890123456"\n'
        "  restart: maintenance-window\n"
    )
    lines = ["kms_keys:"]
    for k in range(keys):
        region = "cn-shanghai" if k % 2 else "cn-hangzhou"
        lines += [
            f"  key-{k}:",
            f"    alias: alias/rds-{k}",
            f"    region: {region}",
            "    description: RDS disk encryption",
            "    rotation: {enabled: true, interval_days: 365}",
            "    deletion_protection: true",
            "    tags: {team: dba}",
        ]
    (folder / "keys.yaml").write_text("\n".join(lines) + "\n")
    per_file = instances // 4
    for part in range(4):
        lines = ["instances:"]
        for i in range(part * per_file, (part + 1) * per_file):
            k = i % keys
            region = "cn-shanghai" if k % 2 else "cn-hangzhou"
            lines.append(f"  pgm-bp1{i:013d}:")
            lines.append(f"    region: {region}")
            lines.append(f"    encryption: {{key: {'service' if i % 3 == 0 else f'key-{k}'}}}")
            if i % 10 == 0:
                lines.append("    restart: immediate")
        (folder / f"instances-{part}.yaml").write_text("\n".join(lines) + "\n")


def timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def median_run(argv: list[str]) -> tuple[float, str]:
    times, output = [], ""
    for _ in range(RUNS):
        seconds, done = timed(argv)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
        times.append(seconds)
        output = done.stdout
    return statistics.median(times), output


def peak_memory_mb(argv: list[str]) -> float:
    """Max RSS of one run, in a child of a fresh helper process so earlier runs do not count."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True)
    return int(done.stdout.strip()) / 1024  # ru_maxrss is in KiB on Linux


def main() -> int:
    reconciler = shutil.which("reconciler", path=str(Path(sys.executable).parent)) or "reconciler"
    folder = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    try:
        write_spec(folder)
        size = sum(p.stat().st_size for p in folder.iterdir())
        validate_s, summary = median_run([reconciler, "validate", str(folder)])
        help_s, _ = median_run([reconciler, "--help"])
        python_s, _ = median_run([sys.executable, "-c", "pass"])
        peak_mb = peak_memory_mb([reconciler, "validate", str(folder)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures = {
        "instances": INSTANCES,
        "keys": KEYS,
        "spec_bytes": size,
        "runs": RUNS,
        "validate_s": round(validate_s, 3),
        "help_s": round(help_s, 3),
        "bare_python_start_s": round(python_s, 3),
        "validate_peak_mb": round(peak_mb, 1),
        "targets": TARGETS,
        "validate_output": summary.strip(),
    }
    out = Report("validate", figures)
    out.target(
        "validate 5,000 instances",
        f"{validate_s:.3f} s median of {RUNS} ({size / 1e6:.2f} MB in 6 files; "
        f"{figures['validate_output']})",
        f"< {TARGETS['validate_s']} s",
        validate_s < TARGETS["validate_s"],
    )
    out.target(
        "validate peak memory",
        f"{peak_mb:.1f} MB (ru_maxrss)",
        f"< {TARGETS['validate_peak_mb']:.0f} MB",
        peak_mb < TARGETS["validate_peak_mb"],
    )
    out.target(
        "reconciler --help",
        f"{help_s:.3f} s median of {RUNS} (bare python start {python_s:.3f} s)",
        f"< {TARGETS['help_s']} s",
        help_s < TARGETS["help_s"],
    )
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
