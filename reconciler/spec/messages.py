"""pydantic errors -> one plain sentence each, located at the offending node.

pydantic says where (a `loc` tuple of keys) and what (an error type); this module turns the loc
back into the YAML node's file:line:col and the type into words an operator recognises, with a
did-you-mean for misspelt fields and a "quote it" for YAML 1.1 surprises.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from reconciler.errors import Diagnostic
from reconciler.spec import models
from reconciler.spec.scalars import describe_plain_scalar, shown
from reconciler.spec.source import Location, ParsedFile, Path_

_PATTERN_HINTS = {
    models.INSTANCE_ID_PATTERN: "an instance id is `pgm-` then lowercase letters and digits, "
    "e.g. pgm-bp1abc123def456",
    models.REGION_PATTERN: "a region id looks like cn-hangzhou or ap-southeast-1",
    models.ALIAS_PATTERN: "an alias is `alias/` then letters, digits, _, / or -, "
    "e.g. alias/rds-prod",
    models.ACCOUNT_PATTERN: 'an account id is 16 digits, quoted: "1234567890123456"',
    models.KEY_NAME_PATTERN: "a key name is 1-64 letters, digits, _, . or -",
    models.ACCOUNT_NAME_PATTERN: "an account name is a lowercase letter, then up to 31 "
    "lowercase letters, digits, _ or -, e.g. prod",
    models.ACCOUNT_OR_NAME_PATTERN: 'a 16-digit account id, quoted ("1234567890123456"), or '
    "the name of an `accounts:` entry",
    models.ROLE_ARN_PATTERN: f"a role ARN is {models.ROLE_ARN_SHAPE}, e.g. "
    "acs:ram::1234567890123456:role/reconciler",
}

# Errors where a string (or a word from a list) was expected: an unquoted YAML 1.1 bool or
# number there is almost always a string the author meant.
_TEXT_EXPECTED = {"string_type", "enum", "literal_error"}

_FRIENDLY = {
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "dict_type": "must be a mapping (name: value lines)",
    "model_type": "must be a mapping (name: value lines)",
}

# Where a mapping's keys are field names, the model that owns them (for did-you-mean).
_MODEL_AT: dict[tuple[str, ...], type[BaseModel]] = {
    (): models.Spec,
    ("defaults",): models.Defaults,
    ("ram",): models.RamSpec,
    ("kms_keys", "*"): models.KmsKeySpec,
    ("kms_keys", "*", "rotation"): models.Rotation,
    ("instances", "*"): models.InstanceSpec,
    ("instances", "*", "encryption"): models.KeyRef,
    ("instances", "*", "tde"): models.KeyRef,
    ("defaults", "tde"): models.KeyRef,
    ("accounts", "*"): models.AccountSpec,
}


def diagnostics_for(parsed: ParsedFile, errors: list[ErrorDetails]) -> list[Diagnostic]:
    """One Diagnostic per pydantic error, at the node the error is about.

    Skips errors about a value already reported as unreadable, and, in a view of an earlier
    definition of a duplicate key (`parsed.under`), errors about anything outside it.
    """
    found = []
    under = parsed.under
    for error in errors:
        path, exact = _resolve(parsed.data, error["loc"])
        if path in parsed.reported or path[: len(under)] != under:
            continue
        on_key = error["type"] in ("missing", "extra_forbidden") or error["loc"][-1:] == ("[key]",)
        if error.get("input", "") is None or (error["type"] == "missing" and not exact):
            on_key = True  # point at the mapping's own key, e.g. the instance id line
        where: Location = parsed.at(path, key=on_key)
        message = _message(error, path, parsed)
        found.append(Diagnostic(where.file, where.line, where.col, message))
    return found


def _resolve(data: Any, loc: tuple[int | str, ...]) -> tuple[Path_, bool]:
    """The deepest path into `data` that `loc` names, skipping union tags and `[key]`.

    Returns the path and whether every segment matched (False for a missing field).
    """
    path: list[Any] = []
    current = data
    exact = True
    for segment in loc:
        if _has_child(current, segment):
            path.append(segment)
            current = current[segment]
        elif segment in ("[key]", "reference", "disabled"):
            continue
        else:
            exact = False
    return tuple(path), exact


def _has_child(value: Any, segment: int | str) -> bool:
    if isinstance(value, dict):
        return segment in value
    return isinstance(value, list) and isinstance(segment, int) and 0 <= segment < len(value)


def _message(error: ErrorDetails, path: Path_, parsed: ParsedFile) -> str:
    kind = error["type"]
    field = _dotted(path)
    value = error.get("input")
    if kind == "extra_forbidden":
        return _unknown_field(path)
    if kind == "missing":
        name = error["loc"][-1]
        return f"`{field}` needs `{name}`" if field else f"`{name}` is required"
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern"))
        hint = _PATTERN_HINTS.get(pattern, f"it must match {pattern}")
        return f"`{shown(value)}` is not valid here: {hint}"
    if kind in ("less_than_equal", "greater_than_equal") and field.endswith("interval_days"):
        return f"`{field}` must be 7 to 730 days (what KMS accepts), not {value}"
    if kind == "literal_error" and path[-1:] == ("encryption",):
        return f"`encryption` must be `disabled` or {{key: NAME}}, not {_show(value, path, parsed)}"
    if kind == "literal_error" and path[-1:] == ("tde",):
        return (
            f"`tde` must be {{key: NAME}} (TDE is one-way: RDS cannot turn it off; `disabled` "
            f"only says it must stay off), not {_show(value, path, parsed)}"
        )
    if kind in ("enum", "literal_error"):
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "`")
        text = f"must be {expected}"
    elif kind == "string_too_short":
        text = "must not be empty"
    elif kind == "string_too_long":
        text = f"must be at most {error.get('ctx', {}).get('max_length')} characters long"
    else:
        text = _FRIENDLY.get(kind) or error["msg"][0].lower() + error["msg"][1:]
    if kind == "value_error":
        text = text.removeprefix("value error, ")
    base = f"`{field}`: {text}" if field else text
    if kind in ("int_type", "bool_type") and isinstance(value, str):
        return f"{base}, not {_text_as_written(value, path, parsed)}"
    source = parsed.plain_scalars.get(path)
    expects_text = kind == "string_type" or "'" in str(error.get("ctx", {}).get("expected", ""))
    if source is not None and kind in _TEXT_EXPECTED and expects_text:
        if value is None:
            return f"`{field}` is empty: give it a value or remove it"
        if kind != "string_type" and f"'{source}'" not in str(error["ctx"]["expected"]):
            return f"{base}, not `{shown(source)}`"  # quoting it would not help
        read_as = describe_plain_scalar(source, value)
        return f'{base}, but {read_as}: quote it ("{shown(source)}")'
    if value is None and kind.endswith("_type"):
        return f"`{field}` is empty: give it a value or remove it"
    return base


def _unknown_field(path: Path_) -> str:
    name = shown(path[-1])
    model = _MODEL_AT.get(_pattern(path[:-1]))
    allowed = list(model.model_fields) if model else []
    close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
    where = f" in `{_dotted(path[:-1])}`" if path[:-1] else ""
    if close:
        return f"unknown field `{name}`{where}: did you mean `{close[0]}`?"
    return f"unknown field `{name}`{where}; allowed: {', '.join(allowed)}"


def _pattern(path: Path_) -> tuple[str, ...]:
    """("instances", "pgm-x", "encryption") -> ("instances", "*", "encryption")."""
    parts = [str(part) for part in path]
    if len(parts) >= 2 and parts[0] in ("kms_keys", "instances", "accounts"):
        parts[1] = "*"
    return tuple(parts)


def _dotted(path: Path_) -> str:
    return ".".join(shown(part) for part in path)


def _show(value: Any, path: Path_, parsed: ParsedFile) -> str:
    if value is None:
        return "an empty value"
    if path in parsed.plain_scalars:
        return f"`{shown(parsed.plain_scalars[path])}`"
    return (
        f"`{shown(value)}`" if not isinstance(value, dict | list) else "a " + type(value).__name__
    )


def _text_as_written(value: str, path: Path_, parsed: ParsedFile) -> str:
    """A text where a number or boolean was expected, as the author wrote it."""
    how, value = parsed.written.get(path), shown(value)
    if how == "quoted":
        return f'the quoted text "{value}": remove the quotes'
    if how is not None and how.startswith("tagged "):
        return f"the text `{value}` ({how}): remove the tag"
    if how == "block":
        return f"the text `{value}`"
    return f"`{value}`"
