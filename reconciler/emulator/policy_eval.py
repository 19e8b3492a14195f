"""Evaluate RAM policy documents the way the cloud documents it (docs/real-cloud.md, RAM: policy
evaluation; the emulator's choices where it is silent: docs/emulator.md, RAM policy evaluation).

Pure functions, no state and no HTTP. Used by the RDS emulator to decide whether the role
``AliyunRDSInstanceEncryptionDefaultRole`` really lets RDS use a customer master key, and
whether a trust policy lets a service assume a role.

Documented behaviour implemented here:
- ``Effect`` Allow|Deny; an explicit Deny in any statement of any document wins; no Allow means
  an implicit deny.
- ``Action`` or ``NotAction`` (one string or a list), ``<service>:<name>``, matched
  case-insensitively with ``*`` (any run, empty included) and ``?`` (exactly one character).
- ``Resource`` (one string or a list) with the same wildcards.
- ``Condition``: ``{operator: {key: value | [values]}}``; the values of one key are ORed, the
  keys under one operator ANDed, the operators ANDed. All operators the documentation lists.

Where the documentation is silent, the emulator chooses (and the reconciler must not depend on):
- ``NotResource`` is not documented: a document using it is malformed.
- Resource matching is case-sensitive (like IAM ARNs); Action matching is case-insensitive.
- Condition key *names* are matched case-insensitively (``kms:tag/acs:rds:instance-encryption``).
- A key missing from the request context makes every operator false except the negated ones
  (``StringNotEquals``, ``StringNotEqualsIgnoreCase``, ``StringNotLike``, ``NumericNotEquals``,
  ``DateNotEquals``, ``NotIpAddress``), which are true: the IAM rule.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any

ContextValue = str | list[str]


class MalformedPolicyError(ValueError):
    """The document is not a valid RAM policy (the cloud answers 400 MalformedPolicyDocument)."""


class Decision(Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    action_is_negated: bool
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]]
    principal: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# --- wildcard matching ------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """True when ``value`` matches ``pattern`` with ``*`` and ``?`` wildcards."""
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


# --- parsing ----------------------------------------------------------------------------------


def _as_strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MalformedPolicyError(f"{what} must be a string or a non-empty list of strings")


def _condition_values(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str | int | float | bool) for v in values):
        raise MalformedPolicyError("Condition values must be strings, numbers or booleans")
    return tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in values)


def _parse_conditions(raw: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MalformedPolicyError("Condition must be an object")
    parsed: dict[str, dict[str, tuple[str, ...]]] = {}
    for operator, block in raw.items():
        if operator not in _OPERATORS:
            raise MalformedPolicyError(f"unknown condition operator {operator}")
        if not isinstance(block, dict) or not block:
            raise MalformedPolicyError(f"Condition {operator} must be a non-empty object")
        parsed[operator] = {key: _condition_values(v) for key, v in block.items()}
    return parsed


def _parse_principal(raw: Any) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if raw == "*":
        return {"*": ("*",)}
    if not isinstance(raw, dict):
        raise MalformedPolicyError("Principal must be an object")
    return {kind: _as_strings(value, f"Principal.{kind}") for kind, value in raw.items()}


def _parse_statement(raw: Any, *, trust: bool) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicyError("each Statement must be an object")
    if "NotResource" in raw:
        raise MalformedPolicyError("NotResource is not supported")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicyError("Effect must be Allow or Deny")
    if ("Action" in raw) == ("NotAction" in raw):
        raise MalformedPolicyError("a Statement needs exactly one of Action and NotAction")
    negated = "NotAction" in raw
    actions = _as_strings(raw["NotAction" if negated else "Action"], "Action")
    if trust:
        resources: tuple[str, ...] = ("*",)
    else:
        if "Resource" not in raw:
            raise MalformedPolicyError("a Statement needs a Resource")
        resources = _as_strings(raw["Resource"], "Resource")
    return Statement(
        effect=effect,
        actions=actions,
        action_is_negated=negated,
        resources=resources,
        conditions=_parse_conditions(raw.get("Condition")),
        principal=_parse_principal(raw.get("Principal")),
    )


def parse_policy(document: str | Mapping[str, Any], *, trust: bool = False) -> list[Statement]:
    """Parse a policy (or, with ``trust=True``, a trust policy) document into statements."""
    if isinstance(document, str):
        try:
            data = json.loads(document)
        except ValueError as exc:
            raise MalformedPolicyError(f"not JSON: {exc}") from None
    else:
        data = document
    if not isinstance(data, dict):
        raise MalformedPolicyError("a policy document must be a JSON object")
    version = data.get("Version")
    if version is not None and str(version) != "1":
        raise MalformedPolicyError('Version must be "1"')
    raw_statements = data.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise MalformedPolicyError("Statement must be a non-empty list")
    return [_parse_statement(s, trust=trust) for s in raw_statements]


# --- conditions -------------------------------------------------------------------------------


def _parse_date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(convert: Callable[[str], Any], test: Callable[[Any, Any], bool]):
    def check(actual: str, expected: str) -> bool:
        left, right = convert(actual), convert(expected)
        return left is not None and right is not None and test(left, right)

    return check


def _ip_in(actual: str, expected: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
    except ValueError:
        return False


_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda a, e: a == e,
    "StringEqualsIgnoreCase": lambda a, e: a.lower() == e.lower(),
    "StringLike": lambda a, e: wildcard_match(e, a),
    "NumericEquals": _compare(_num, lambda a, e: a == e),
    "NumericLessThan": _compare(_num, lambda a, e: a < e),
    "NumericLessThanEquals": _compare(_num, lambda a, e: a <= e),
    "NumericGreaterThan": _compare(_num, lambda a, e: a > e),
    "NumericGreaterThanEquals": _compare(_num, lambda a, e: a >= e),
    "DateEquals": _compare(_parse_date, lambda a, e: a == e),
    "DateLessThan": _compare(_parse_date, lambda a, e: a < e),
    "DateLessThanEquals": _compare(_parse_date, lambda a, e: a <= e),
    "DateGreaterThan": _compare(_parse_date, lambda a, e: a > e),
    "DateGreaterThanEquals": _compare(_parse_date, lambda a, e: a >= e),
    "Bool": lambda a, e: a.lower() == e.lower(),
    "IpAddress": _ip_in,
}
# A negated operator is true when no value of the key matches its positive twin.
_NEGATED: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}
_OPERATORS = set(_POSITIVE) | set(_NEGATED)


def _lookup(context: Mapping[str, ContextValue], key: str) -> list[str] | None:
    wanted = key.lower()
    for name, value in context.items():
        if name.lower() == wanted:
            return [value] if isinstance(value, str) else list(value)
    return None


def _operator_holds(
    operator: str, block: Mapping[str, tuple[str, ...]], context: Mapping[str, ContextValue]
) -> bool:
    negated = operator in _NEGATED
    test = _POSITIVE[_NEGATED.get(operator, operator)]
    for key, expected_values in block.items():
        actual_values = _lookup(context, key)
        if actual_values is None:
            if negated:
                continue
            return False
        matched = any(test(a, e) for a in actual_values for e in expected_values)
        if matched == negated:
            return False
    return True


def conditions_hold(
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]], context: Mapping[str, ContextValue]
) -> bool:
    return all(_operator_holds(op, block, context) for op, block in conditions.items())


# --- evaluation -------------------------------------------------------------------------------


def _action_matches(statement: Statement, action: str) -> bool:
    listed = any(wildcard_match(p, action, ignore_case=True) for p in statement.actions)
    return listed != statement.action_is_negated


def _statement_applies(
    statement: Statement, action: str, resource: str, context: Mapping[str, ContextValue]
) -> bool:
    return (
        _action_matches(statement, action)
        and any(wildcard_match(p, resource) for p in statement.resources)
        and conditions_hold(statement.conditions, context)
    )


def evaluate(
    documents: Iterable[str | Mapping[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, ContextValue] | None = None,
) -> Decision:
    """Decide one request against all policies attached to a principal. Deny wins."""
    return evaluate_parsed(map(parsed_or_error, documents), action, resource, context)


ParsedDocument = tuple[Statement, ...] | MalformedPolicyError


def parsed_or_error(document: str | Mapping[str, Any]) -> ParsedDocument:
    """A document's statements, or the error its parse raised (raised again by
    `evaluate_parsed` at the point where `evaluate` would raise it): what a caller keeps to
    decide many requests without parsing the document again."""
    try:
        return tuple(parse_policy(document))
    except MalformedPolicyError as error:
        return error


def evaluate_parsed(
    documents: Iterable[ParsedDocument],
    action: str,
    resource: str,
    context: Mapping[str, ContextValue] | None = None,
) -> Decision:
    """`evaluate` over documents already parsed (`parsed_or_error`)."""
    context = context or {}
    allowed = False
    for document in documents:
        if isinstance(document, MalformedPolicyError):
            raise MalformedPolicyError(str(document))
        for statement in document:
            if not _statement_applies(statement, action, resource, context):
                continue
            if statement.effect == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def is_allowed(
    documents: Iterable[str | Mapping[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, ContextValue] | None = None,
) -> bool:
    return evaluate(documents, action, resource, context) is Decision.ALLOW


def kms_key_context(tags: Mapping[str, str], extra: Mapping[str, ContextValue] | None = None):
    """The condition keys a KMS cryptographic call carries: ``kms:tag/<key>`` per key tag."""
    context: dict[str, ContextValue] = {f"kms:tag/{k}": v for k, v in tags.items()}
    context.update(extra or {})
    return context


def trust_allows_service(trust_document: str | Mapping[str, Any], service: str) -> bool:
    """True when the trust policy lets ``service`` (e.g. ``rds.aliyuncs.com``) assume the role.

    The emulator evaluates the trust statements with an empty context, so a trust statement with
    a Condition on a key the service does not send does not apply (missing-key rule).
    """
    return _trust_allows(
        trust_document, "Service", lambda p: p == "*" or p.lower() == service.lower(), {}
    )


def trust_allows_ram(
    trust_document: str | Mapping[str, Any],
    principals: Iterable[str],
    context: Mapping[str, ContextValue] | None = None,
) -> bool:
    """True when the trust policy's ``"RAM"`` principals name one of ``principals`` (the
    caller's account root ``acs:ram::<uid>:root`` and its own user or role ARN; wildcards and
    case are as RAM matches ARNs) for ``sts:AssumeRole``, and no Deny statement does."""
    names = tuple(principals)

    def matches(pattern: str) -> bool:
        return pattern == "*" or any(wildcard_match(pattern, n, ignore_case=True) for n in names)

    return _trust_allows(trust_document, "RAM", matches, context or {})


def _trust_allows(
    trust_document: str | Mapping[str, Any],
    kind: str,
    matches: Callable[[str], bool],
    context: Mapping[str, ContextValue],
) -> bool:
    try:
        statements = parse_policy(trust_document, trust=True)
    except MalformedPolicyError:
        return False
    allowed = False
    for statement in statements:
        principals = statement.principal.get(kind, ()) + statement.principal.get("*", ())
        if not any(matches(p) for p in principals):
            continue
        if not _action_matches(statement, "sts:AssumeRole"):
            continue
        if not conditions_hold(statement.conditions, context):
            continue
        if statement.effect == "Deny":
            return False
        allowed = True
    return allowed
