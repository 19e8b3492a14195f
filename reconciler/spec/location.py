"""Where a node of a spec file starts (its own module so that both builders can make them)."""

from __future__ import annotations

from typing import NamedTuple


class Location(NamedTuple):
    """Where a node starts: 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"
