"""Architecture rules that keep the planner pure (README, "Layout")."""

from __future__ import annotations

import ast
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


def test_plan_and_render_import_no_sdk_http_clock_or_environment() -> None:
    forbidden = {
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
    for folder in ("plan", "render"):
        for path in (PACKAGE / folder).glob("*.py"):
            roots = {m.split(".")[0] for m in _imports(path)} | _imports(path)
            assert not roots & forbidden, f"{path.name} imports {roots & forbidden}"
            assert ".now(" not in path.read_text(), f"{path.name} reads the clock"
