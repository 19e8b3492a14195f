"""README's output blocks are what the commands print now (issue 20: the "captured from a real
run" blocks had drifted from real output).

Runs scripts/regenerate-readme.py's generation (the real CLI against emulators, < 30 s) and
compares each marked block, after normalising only what must vary between runs. When this
fails: `make readme`, review the diff of README.md, commit it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

VARYING = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"), "<time>"),
    (re.compile(r"/[^\s'\"]*reconciler-readme-[^\s/'\"]+"), "<tmp>"),
    (
        re.compile(
            r"\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b"
        ),
        "<request-id>",
    ),
    (re.compile(r"\b\d+(\.\d+)?\s?(ms|s)\b"), "<duration>"),
]


def normalised(text: str) -> str:
    for pattern, placeholder in VARYING:
        text = pattern.sub(placeholder, text)
    return text


def script() -> ModuleType:
    path = ROOT / "scripts" / "regenerate-readme.py"
    spec = importlib.util.spec_from_file_location("regenerate_readme", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def blocks(module: ModuleType, text: str) -> dict[str, str]:
    found = {}
    for match in module.MARKER.finditer(text):
        start = match.end()
        found[match.group(1)] = text[start : text.index("\n```\n", start + 3)]
    return found


def test_readme_marks_every_captured_block() -> None:
    module = script()
    text = README.read_text()
    assert set(blocks(module, text)) == set(module.SCENES), "a scene is run but not shown"
    assert "<!-- output:" in text


def test_readme_output_blocks_match_a_real_run() -> None:
    module = script()
    now = README.read_text()
    regenerated = module.regenerate(now)
    stale = [
        name
        for name, block in blocks(module, regenerated).items()
        if normalised(block) != normalised(blocks(module, now)[name])
    ]
    assert stale == [], f"README output blocks differ from a real run: {stale}; run `make readme`"


def test_cuts_are_the_same_every_run() -> None:
    module = script()
    plan = "The plan:\n\n  + create a.x\n      why\n\n  ~ update b.y\n      why\n\nPlan: 2\n"
    assert module.keep_changes(plan, ["b.y"]) == (
        "The plan:\n  ...\n  ~ update b.y\n      why\nPlan: 2"
    )
    fields = "  HIGH x\n      a: 1 -> 2\n      b: 1 -> 2\n      c: 1 -> 2\n\nDone"
    assert module.limit_fields(fields, most=1) == "  HIGH x\n      a: 1 -> 2\n      ...\n\nDone"
