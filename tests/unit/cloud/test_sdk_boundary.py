"""The SDKs are imported lazily, and only by reconciler/cloud/ (README, "Layout")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "reconciler"
SDK_IMPORT = re.compile(r"^\s*(from|import)\s+(alibabacloud_|Tea\b|darabonba)", re.MULTILINE)


def test_only_cloud_modules_import_the_sdk() -> None:
    offenders = [
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if SDK_IMPORT.search(path.read_text(encoding="utf-8"))
        and PACKAGE / "cloud" not in path.parents
    ]
    assert offenders == []


def test_importing_the_cli_and_observer_loads_no_sdk() -> None:
    code = (
        "import sys, reconciler.cli, reconciler.state.observe, reconciler.cloud.session;"
        "loaded = [m for m in sys.modules if m.startswith(('alibabacloud', 'darabonba'))];"
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
