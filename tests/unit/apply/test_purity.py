"""Apply interprets the plan and reads the cloud; it never re-plans (README, "Layout"): it
imports plan.model, cloud, errors, cancellation, core (the shared rules), the kinds (whose
apply side imports only cloud, core and plan.model; the rest they import lazily) and the pure
rules its guards re-check at the write (the instance guards of kinds/rds_encryption,
plan.ram_eval, the refusal codes, the fact models); never spec, the planner engine or observe."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "reconciler"
ALLOWED = (
    "reconciler.plan.model",
    "reconciler.plan.ram_eval",
    "reconciler.plan.actions",
    "reconciler.cloud",
    "reconciler.errors",
    "reconciler.cancellation",
    "reconciler.core",
    "reconciler.apply",
    "reconciler.kinds",
)


def _ours(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(
                f"{node.module}.{a.name}" for a in node.names if node.module == "reconciler"
            )
    return {m for m in found if m.split(".")[0] == "reconciler" and m != "reconciler"}


def _allowed(module: str) -> bool:
    return any(module == a or module.startswith(a + ".") for a in ALLOWED)


def test_apply_imports_only_the_plan_model_cloud_errors_and_cancellation() -> None:
    for path in sorted((PACKAGE / "apply").glob("*.py")):
        bad = sorted(m for m in _ours(path) if not _allowed(m))
        assert bad == [], f"apply/{path.name} imports {bad}"


def test_importing_apply_loads_no_spec_planner_observe_or_sdk() -> None:
    code = (
        "import sys, reconciler.apply.executor, reconciler.apply.lock;"
        "bad = [m for m in sys.modules if m.startswith(('reconciler.spec', "
        "'reconciler.plan.planner', 'reconciler.state.observe', 'alibabacloud', 'darabonba'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
