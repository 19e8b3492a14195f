"""`reconciler validate --format json|github`: the problems as a machine document, or as
GitHub workflow commands (annotations on the pull request's files). Pure text; the command
prints it. docs/ci/README.md shows both."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.errors import Diagnostic

PROBLEM_CODE = "InvalidSpec"
"""Every spec problem's code today (the message says which rule)."""
WARNING_CODE = "ImplicitRegion"


def json_document(
    files: Sequence[str],
    problems: Sequence[Diagnostic],
    warnings: Sequence[str],
    exit_code: int,
) -> str:
    """files checked, problems with file/line/col/message/code, warnings, the exit code (0
    valid, 1 problems: as the text format's)."""
    document: dict[str, Any] = {
        "format_version": 1,
        "valid": not problems,
        "exit_code": exit_code,
        "files": list(files),
        "problems": [
            {
                "file": d.file,
                "line": d.line,
                "col": d.col,
                "message": d.message,
                "code": PROBLEM_CODE,
            }
            for d in problems
        ],
        "warnings": [{"code": WARNING_CODE, "message": w} for w in warnings],
    }
    return json.dumps(document, indent=2) + "\n"


def _data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value: the message's escapes, and `:` and `,`."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(problems: Sequence[Diagnostic], warnings: Sequence[str]) -> str:
    """One `::error file=...,line=...,col=...,title=...::message` per problem (a whole-file
    problem has no line), one `::warning` per warning."""
    lines = []
    for d in problems:
        props = [f"file={_property(d.file)}"]
        if d.line > 0:
            props += [f"line={d.line}", f"col={d.col}"]
        props.append(f"title={_property('reconciler validate')}")
        lines.append(f"::error {','.join(props)}::{_data(d.message)}")
    for warning in warnings:
        lines.append(f"::warning title={_property('reconciler validate')}::{_data(warning)}")
    return "".join(line + "\n" for line in lines)
