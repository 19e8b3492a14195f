"""Desired vs observed, leaf by leaf. The only module that imports deepdiff:
everything else sees our own sorted FieldChange list.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

from reconciler.plan.model import FieldChange

OPTIONAL_OF_DEEPDIFF = ("numpy", "pandas", "polars")
"""What deepdiff imports when it can, to compare their values: our facts are plain JSON data,
and numpy alone took 0.4 s of every run's start where it was installed (docs/architecture.md,
"Start-up")."""


@contextlib.contextmanager
def _without(modules: tuple[str, ...]) -> Iterator[None]:
    """Imports of `modules` fail inside (those not imported yet: one imported by someone
    else stays as it is), as if they were not installed."""
    blocked = [name for name in modules if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


with _without(OPTIONAL_OF_DEEPDIFF):
    from deepdiff import DeepDiff
    from deepdiff.helper import NotPresent

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

PathSegment = str | int


def format_path(segments: list[PathSegment]) -> str:
    """`["tags", "team"]` -> `tags.team`; `["Statement", 0]` -> `Statement[0]`; a key that is
    not a plain identifier is quoted: `tags["acs:rds:instance-encryption"]`."""
    out = ""
    for segment in segments:
        if isinstance(segment, int):
            out += f"[{segment}]"
        elif _IDENTIFIER.match(segment):
            out += f".{segment}" if out else segment
        else:
            out += f"[{json.dumps(segment)}]"
    return out


def _sort_key(segments: list[PathSegment]) -> list[tuple[int, int | str]]:
    # Indexes sort numerically (Statement[2] before Statement[10]), keys alphabetically.
    return [(0, s) if isinstance(s, int) else (1, str(s)) for s in segments]


def _value(side: Any) -> Any:
    return None if isinstance(side, NotPresent) else side


def diff(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    prefix: list[PathSegment] | None = None,
) -> list[FieldChange]:
    """Every leaf that differs between two plain JSON-like dicts, sorted by path.

    A key present on one side only gives a change from/to null; a key that is null on one side
    and absent on the other is no change. `prefix` is prepended to every path.
    """
    found = DeepDiff(
        before or {}, after or {}, view="tree", threshold_to_diff_deeper=0, verbose_level=2
    )
    rows: list[tuple[list[PathSegment], Any, Any]] = []
    for levels in found.values():
        for level in levels:
            old, new = _value(level.t1), _value(level.t2)
            if old is None and new is None:
                continue
            rows.append(([*(prefix or []), *level.path(output_format="list")], old, new))
    rows.sort(key=lambda row: _sort_key(row[0]))
    return [FieldChange(path=format_path(p), before=old, after=new) for p, old, new in rows]
