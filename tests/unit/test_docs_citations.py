"""Comments cite the repository's own documents (README.md and docs/), never notes a user of
the repository does not have: a citation must lead somewhere a reader can follow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("reconciler", "tests", "docs", "scripts", "README.md", "Makefile")
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}

# Spelled in pieces so that this file does not cite them itself.
FORBIDDEN = (
    "DESIGN" + ".md",
    "STYLE" + ".md",
    "DESIGN" + " section",
    "reference/ali" + "baba-api",
    "alibaba" + "-api",
    "reference" + "-details",
    "reference" + "/sources",
    ".." + "/shared",
)
DOC_PATH = re.compile(r"\bdocs/([A-Za-z0-9_.-]+\.md)")


def text_files(*roots: str) -> list[Path]:
    found: list[Path] = []
    for name in roots:
        top = ROOT / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        found += [p for p in paths if not SKIPPED_PARTS & set(p.parts) and _is_text(p)]
    return found


def _is_text(path: Path) -> bool:
    try:
        path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return False
    return True


def outside_citations(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line that cites a note outside the repository."""
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if any(pattern in line for pattern in FORBIDDEN)
    ]


def missing_docs(text: str) -> list[str]:
    """The `docs/<name>.md` paths the text cites that do not exist in the repository."""
    return sorted({m for m in DOC_PATH.findall(text) if not (ROOT / "docs" / m).is_file()})


def test_no_file_cites_notes_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line}"
        for path in text_files(*SCANNED)
        for number, line in outside_citations(path.read_text(encoding="utf-8"))
    ]
    assert not found, "cite README.md or docs/ instead:\n" + "\n".join(found)


@pytest.mark.parametrize("root", ["reconciler", "tests"])
def test_every_cited_doc_exists(root: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}: docs/{name}"
        for path in text_files(root)
        for name in missing_docs(path.read_text(encoding="utf-8"))
    ]
    assert not found, "cited documents that do not exist:\n" + "\n".join(found)


def test_the_scan_sees_what_it_must_refuse() -> None:
    """Self-check: each forbidden spelling is caught, in code and comments alike, and the
    repository's own documents are not."""
    for pattern in FORBIDDEN:
        assert outside_citations(f"x = 1\n# the rule ({pattern} 8) says so\n") == [
            (2, f"# the rule ({pattern} 8) says so")
        ]
    assert outside_citations('"""See docs/real-cloud.md, RDS; README, "Layout"."""') == []
    assert missing_docs("(docs/real-cloud.md, RDS) and docs/plan-format.md") == []
    absent = "no-such-" + "page.md"
    assert missing_docs(f"see docs/{absent}") == [absent]


def test_the_scan_reads_the_source_tree() -> None:
    """Self-check: the scan is not vacuous (it finds this file and the package's modules)."""
    scanned = set(text_files("reconciler", "tests"))
    assert Path(__file__).resolve() in scanned
    assert ROOT / "reconciler" / "cloud" / "rds.py" in scanned
