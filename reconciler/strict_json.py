"""JSON as a file we did not write may hold it, read strictly: what Python's json module
accepts but no document of ours contains is an error with a sentence, never a crash later.

    document = strict_loads(text)   # StrictJsonError (a ValueError) says what is wrong

Refused: NaN, Infinity and -Infinity (not JSON, though json.loads takes them); a number of more
than MAX_DIGITS digits or one too large for a float (json.loads raises a bare ValueError past
4300 digits and turns 1e999 into infinity); a key set twice in one object (json.loads keeps
the last one silently, so the file would mean something else to another reader); nesting
deeper than MAX_DEPTH (json.loads raises RecursionError at about a thousand levels); a string
that is not Unicode text (a lone surrogate such as \\ud800 cannot be printed or written as
UTF-8). Syntax errors stay json.JSONDecodeError, with their line and column.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting accepted; our documents nest about ten levels."""
MAX_DIGITS = 18
"""Longest integer accepted; our documents hold counts and days."""


class StrictJsonError(ValueError):
    """JSON that json.loads would take but that no document of ours can be."""


def strict_loads(text: str) -> Any:
    """`text` as JSON, refusing what the module docstring lists."""
    try:
        document = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise StrictJsonError(f"it is nested more than {MAX_DEPTH} levels deep") from None
    _check_tree(document)
    return document


def _refuse_constant(name: str) -> Any:
    raise StrictJsonError(f"it holds {name}, which is not a JSON number")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise StrictJsonError(f"it holds a number of {len(digits)} digits, too large to be ours")
    return int(digits)


def _finite_float(text: str) -> float:
    value = float(text[:64]) if len(text) <= 64 else math.inf
    if not math.isfinite(value):
        raise StrictJsonError(f"it holds the number {text[:20]}, too large to be ours")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise StrictJsonError(f"it sets `{_printable(key)}` twice in one object")
        found[key] = value
    return found


def _check_tree(document: Any) -> None:
    """Depth and text of every value, without recursion (the tree may be deep)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise StrictJsonError(f"it is nested more than {MAX_DEPTH} levels deep")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
        elif isinstance(value, str) and not _is_text(value):
            raise StrictJsonError(f"it holds a string that is not Unicode text: {value[:40]!r}")


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(key: str) -> str:
    return key[:40] if _is_text(key) else repr(key[:40])
