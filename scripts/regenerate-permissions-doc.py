"""Rewrite the generated blocks of docs/permissions.md from `reconciler permissions`.

Each block follows a `<!-- generated: reconciler permissions ARGS -->` line: a fenced JSON block
or a Markdown table, replaced by what the command prints now. tests/unit/test_permissions.py
fails until the docs match the code; run `.venv/bin/python scripts/regenerate-permissions-doc.py`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "permissions.md"
MARKER = re.compile(r"<!-- generated: reconciler (permissions[^>]*?) -->\n")


def printed(args: str) -> str:
    result = CliRunner().invoke(cli, shlex.split(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def regenerate(text: str) -> str:
    out, rest = [], text
    while match := MARKER.search(rest):
        out.append(rest[: match.end()])
        rest = rest[match.end() :]
        body = printed(match.group(1))
        if rest.startswith("```"):
            end = rest.index("```\n", 3) + 4
            out.append(f"```json\n{body}```\n")
        else:
            end = next((m.start() for m in re.finditer(r"^(?!\|).*$", rest, re.M)), len(rest))
            out.append(body)
        rest = rest[end:]
    return "".join(out) + rest


if __name__ == "__main__":
    DOC.write_text(regenerate(DOC.read_text()))
