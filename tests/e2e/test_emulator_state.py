"""`--emulator` state files: parallel first runs share one seeded world; a file that is not
the emulator's is never deleted nor suggested for deletion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ENV

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")


def start(state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "--emulator",
            "--emulator-state",
            str(state),
            "plan",
            SPECS,
            "--format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )


def test_parallel_first_runs_all_succeed_with_the_same_plan(tmp_path: Path) -> None:
    state = tmp_path / "new" / "emulator.sqlite"
    runs = [start(state) for _ in range(4)]
    results = [(*p.communicate(timeout=120), p.returncode) for p in runs]
    for _stdout, stderr, code in results:
        assert code == 0, stderr
    plans = [json.loads(stdout) for stdout, _stderr, _code in results]
    for plan in plans:  # each plan has its stamp, its id, and its own tokens derived from it
        plan.pop("created_at")
        plan.pop("plan_id")
        for change in plan["changes"]:
            for op in change["operations"]:
                op["params"].pop("ClientToken", None)
    assert all(plan == plans[0] for plan in plans)
    assert plans[0]["changes"], "the demo world was seeded once and planned by every run"
    assert state.exists()


def test_a_file_that_is_not_a_database_is_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "fleet.yaml"
    text = "version: 1\ninstances: {}\n" * 20
    mine.write_text(text)
    process = start(mine)
    stdout, stderr = process.communicate(timeout=60)
    code = process.returncode
    assert code == 1
    assert mine.read_text() == text
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert str(mine) in lines[0] and "delete" not in lines[0].lower()
    assert "Traceback" not in stderr
