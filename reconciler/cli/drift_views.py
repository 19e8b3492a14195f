"""The drift report's formats and how a `-o` file's name picks one: shared by `drift` and
`merge` (a command never borrows from another command's module)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FORMATS = ("text", "json", "markdown", "junit", "sarif", "html")
_BY_SUFFIX = {
    ".txt": "text",
    ".json": "json",
    ".md": "markdown",
    ".xml": "junit",
    ".sarif": "sarif",
    ".html": "html",
    ".htm": "html",
}


def format_for(path: str, default: str) -> str:
    """The format a `-o` file is written in: by its name (`.sarif` or `.sarif.json` SARIF,
    `.xml` JUnit, `.html`, `.md`, `.json`, `.txt`), else --format."""
    name = path.lower()
    if name.endswith(".sarif.json"):
        return "sarif"
    return _BY_SUFFIX.get(Path(name).suffix, default)


def render(report: Any, fmt: str, *, strict: bool, color: bool = False, sarif: Any = None) -> str:
    """The report in one format (every renderer is pure); `sarif` is the SarifContext."""
    if fmt == "json":
        from reconciler.render.drift_json import render_drift_json

        return render_drift_json(report)
    if fmt == "markdown":
        from reconciler.render.drift_markdown import render_drift_markdown

        return render_drift_markdown(report)
    if fmt == "junit":
        from reconciler.render.junit import render_junit

        return render_junit(report, strict=strict)
    if fmt == "sarif":
        from reconciler.render.sarif import render_sarif

        return render_sarif(report, sarif)
    if fmt == "html":
        from reconciler.render.html import render_html

        return render_html(report)
    from reconciler.render.drift_text import render_drift_text

    return render_drift_text(report, color=color)
