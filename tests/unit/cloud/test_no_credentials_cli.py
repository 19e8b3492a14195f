"""Without credentials, `plan` says what to set in one line: no library traceback, no log noise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_plan_without_credentials_is_one_clear_line(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "RECONCILER_"))
    }
    env["HOME"] = str(tmp_path)  # no ~/.aliyun or ~/.alibabacloud profiles
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(REPO / "specs")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: no Alibaba Cloud credentials found")
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in lines[0] and "--emulator" in lines[0]
