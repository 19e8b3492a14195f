"""YAML scalars -> Python values, with the checks PyYAML's constructor leaves out.

PyYAML's SafeConstructor raises ValueError, KeyError or IndexError on `!!int abc`,
`!!bool maybe` or `!!float ""`; Python refuses to turn a decimal of more than 4,300 digits into an
int (and to print one); and a YAML 1.1 sexagesimal such as `1:59:59:...` is multiplied out group
by group, which is quadratic in its length. Here each of these comes back as a problem to report
at the scalar, never as an exception, and long numbers are refused before they are computed.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode

TAG_PREFIX = "tag:yaml.org,2002:"
MAX_NUMBER_CHARS = 100
"""Longer numbers are refused unread; the numbers of the language are 1 and 7 to 730."""
MAX_INT = 2**63 - 1
"""Larger integers are refused: no field takes them, and messages can still print the value."""

TEXT_TAGS = frozenset(f"{TAG_PREFIX}{t}" for t in ("str", "timestamp", "merge", "value"))
"""Kept as text: YAML 1.2 has no timestamp type, and merge keys and `=` mean nothing here."""
SCALAR_TAGS = TEXT_TAGS | {f"{TAG_PREFIX}{t}" for t in ("int", "float", "bool", "null")}

_CONSTRUCTOR = SafeConstructor()
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_WHAT = {"int": "a whole number", "float": "a number", "bool": "true or false", "null": "empty"}
_HINTS = {
    ("version",): "the only version is 1",
    ("kms_keys", "*", "rotation", "interval_days"): "KMS accepts 7 to 730 days",
}


class Scalar(NamedTuple):
    """A converted scalar: its value, or the raw text and why it could not be used."""

    value: Any
    problem: str | None = None


def convert(node: ScalarNode, path: tuple[Any, ...] | None) -> Scalar:
    """The Python value of a resolved scalar node of one of SCALAR_TAGS.

    `path` (None for a mapping key) only words the message of a number that is too large.
    """
    tag, text = node.tag, node.value
    if tag in TEXT_TAGS:
        return Scalar(text)
    kind = tag.removeprefix(TAG_PREFIX)
    if kind in ("int", "float") and len(text) > MAX_NUMBER_CHARS:
        return Scalar(text, _too_large(f"a number of {len(text)} characters", path, "too long"))
    try:
        value = _construct(kind, node)
    except (ValueError, KeyError, IndexError, TypeError, OverflowError):
        what = f"`{shown(text)}`" if text else "an empty value"
        return Scalar(
            text,
            f"{what} is tagged !!{kind} but is not {_WHAT[kind]}: remove the tag or fix the value",
        )
    if kind == "int" and abs(value) > MAX_INT:
        return Scalar(text, _too_large(f"the number {text}", path))
    return Scalar(value)


def _construct(kind: str, node: ScalarNode) -> Any:
    if kind == "null":
        if node.value not in _NULLS:
            raise ValueError(node.value)
        return None
    if kind == "bool":
        return _CONSTRUCTOR.construct_yaml_bool(node)
    if kind == "int":
        return _CONSTRUCTOR.construct_yaml_int(node)
    return _CONSTRUCTOR.construct_yaml_float(node)


def _too_large(what: str, path: tuple[Any, ...] | None, too: str = "too large") -> str:
    if not path:
        return f"{what} is {too}"
    parts = [shown(p) for p in path]
    if len(parts) >= 2 and parts[0] in ("kms_keys", "instances"):
        pattern = (parts[0], "*", *parts[2:])
    else:
        pattern = tuple(parts)
    hint = _HINTS.get(pattern)
    return f"`{'.'.join(parts)}`: {what} is {too}" + (f": {hint}" if hint else "")


def shown(text: Any, limit: int = 60) -> str:
    """A value for a one-line message: control characters escaped, long text cut."""
    out = str(text)
    if not out.isprintable():
        out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in out)
    return out if len(out) <= limit else out[:limit] + "..."


def shown_tag(tag: str) -> str:
    """A tag as it is written in YAML: `!!int`, `!Ref`."""
    return shown("!!" + tag.removeprefix(TAG_PREFIX) if tag.startswith(TAG_PREFIX) else tag)


def unsupported_tag(tag: str) -> str:
    return f"YAML tag `{shown_tag(tag)}` is not supported: write a plain value"


def describe(value: Any) -> str:
    if value is None:
        return "null (no value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"the number {value}"


def describe_plain_scalar(text: str, value: Any) -> str:
    """How YAML read an unquoted scalar, for messages: "`no` is read by YAML 1.1 as false"."""
    if text in ("", "~"):
        return "the value is empty"
    return f"`{shown(text)}` is read by YAML 1.1 as {describe(value)}"
