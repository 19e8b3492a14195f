"""Architecture rules that keep the planner pure (README, "Layout")."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "reconciler"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_deepdiff_is_imported_only_by_plan_diff() -> None:
    users = sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if any(m.split(".")[0] == "deepdiff" for m in _imports(p))
    )
    assert users == ["plan/diff.py"]


FORBIDDEN = {
    "alibabacloud",
    "requests",
    "urllib3",
    "http",
    "socket",
    "time",
    "os",
    "random",
    "reconciler.cloud",
    "reconciler.state.observe",
    "rich",
}


def test_plan_and_render_import_no_sdk_http_clock_or_environment() -> None:
    for folder in ("plan", "render"):
        for path in (PACKAGE / folder).glob("*.py"):
            _assert_pure(path)


KIND_PLAN_MODULES = ("plan.py", "desired.py", "guards.py", "verify.py", "attachments.py")
"""A kind's plan rules (kinds/<kind>/, issue 17): the planner runs them, so they are pure too."""


def test_the_kinds_plan_rules_import_no_sdk_http_clock_or_environment() -> None:
    paths = sorted(p for p in (PACKAGE / "kinds").glob("*/*.py") if p.name in KIND_PLAN_MODULES)
    names = {p.relative_to(PACKAGE / "kinds").as_posix() for p in paths}
    assert {"ram/plan.py", "kms_key/plan.py", "rds_encryption/plan.py"} <= names
    for path in paths:
        _assert_pure(path)


def test_building_a_plan_loads_no_sdk_cloud_or_observe() -> None:
    """What the kinds' plan rules import at run time (lazily too), not only at module level."""
    code = (
        "import sys; from reconciler.plan.planner import build_plan;"
        "from reconciler.spec.models import Spec;"
        "from reconciler.core.facts import ObservedState;"
        "spec = Spec.model_validate({'version': 1, 'defaults': {'region': 'cn-hangzhou'},"
        " 'instances': {'pgm-aaaa0001': {'encryption': {'key': 'app'}}},"
        " 'kms_keys': {'app': {'alias': 'alias/app'}}});"
        "plan = build_plan(spec, ObservedState(account_id='1')); assert plan.refusals;"
        "bad = [m for m in sys.modules if m.startswith(('reconciler.cloud', "
        "'reconciler.state.observe', 'reconciler.apply', 'alibabacloud', 'darabonba'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _assert_pure(path: Path) -> None:
    roots = {m.split(".")[0] for m in _imports(path)} | _imports(path)
    assert not roots & FORBIDDEN, f"{path.name} imports {roots & FORBIDDEN}"
    assert ".now(" not in path.read_text(), f"{path.name} reads the clock"
