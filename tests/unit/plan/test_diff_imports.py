"""plan/diff.py imports deepdiff without its optional numpy, pandas and polars (docs/
architecture.md, "Start-up"): a run does not pay their imports, and they stay importable."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

PROBE = """
import sys
import reconciler.plan.diff as diff
from reconciler.plan.diff import DeepDiff
print(sorted(m for m in diff.OPTIONAL_OF_DEEPDIFF if sys.modules.get(m) is not None))
print(sorted(m for m in diff.OPTIONAL_OF_DEEPDIFF if m in sys.modules))
print(bool(DeepDiff({"a": [1, 2]}, {"a": [1, 3]})))
"""


def run_probe(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_diff_imports_none_of_deepdiff_s_optional_modules() -> None:
    imported, blocked, diffs = run_probe(PROBE)
    assert imported == "[]"
    assert blocked == "[]", "the block is lifted after the import"
    assert diffs == "True"


def test_they_stay_importable_by_anyone_after_it() -> None:
    installed = [m for m in ("numpy",) if importlib.util.find_spec(m) is not None]
    code = "import reconciler.plan.diff\n" + "".join(f"import {m}\n" for m in installed)
    assert run_probe(code + "print('ok')") == ["ok"]


def test_a_module_imported_before_stays_in_use() -> None:
    if importlib.util.find_spec("numpy") is None:  # nothing to keep: the import fails alike
        code = "import reconciler.plan.diff; print('ok')"
    else:
        code = (
            "import numpy, sys\nimport reconciler.plan.diff\n"
            "assert sys.modules['numpy'] is numpy\nprint('ok')"
        )
    assert run_probe(code) == ["ok"]
