"""drift/ is pure like plan/ (README, "Layout"): no SDK, HTTP, clock or environment; the
drift renderers compute nothing from the cloud either."""

from __future__ import annotations

from pathlib import Path

from tests.unit.plan.test_purity import PACKAGE, _imports

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


def _checked() -> list[Path]:
    render = [p for p in (PACKAGE / "render").glob("*.py")]
    return sorted((PACKAGE / "drift").glob("*.py")) + sorted(render)


def test_drift_and_its_renderers_import_no_sdk_http_clock_or_environment() -> None:
    for path in _checked():
        roots = {m.split(".")[0] for m in _imports(path)} | _imports(path)
        assert not roots & FORBIDDEN, f"{path.name} imports {roots & FORBIDDEN}"
        text = path.read_text()
        assert ".now(" not in text and "datetime" not in text, f"{path.name} reads the clock"
