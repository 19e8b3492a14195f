"""Evaluate RAM policy documents as RAM does, to tell whether a role lets RDS use a key.

Pure: documents in, a verdict out. The rules are those RAM documents
(docs/real-cloud.md, RAM: policy evaluation):
- `Effect` Allow | Deny; an explicit Deny in any statement of any attached policy wins; with no
  Allow the request is denied (implicitly).
- `Action` or `NotAction` (a string or a list), `<service>:<name>`, matched ignoring case, with
  `*` (any run, empty included) and `?` (one character).
- `Resource` (a string or a list) with the same wildcards, matched case-sensitively.
- `Condition` `{operator: {key: value | [values]}}`: values ORed, keys ANDed, operators ANDed.
  Condition key names are compared ignoring case. A key the request does not carry makes an
  operator false, except a negated one (`StringNotEquals`, `...NotEqualsIgnoreCase`,
  `StringNotLike`, `NumericNotEquals`, `DateNotEquals`, `NotIpAddress`), which is true.

Where the documents are silent or the planner cannot know the request, the answer is "cannot
tell" (Verdict.UNKNOWN), never a guess in either direction (fail closed):
- `NotResource` is undocumented; an operator RAM does not list (`...IfExists`, `Null`), a
  statement or document that does not read as RAM's grammar: unknown.
- A resource that matches a pattern only when case is ignored: unknown (the case rule is not
  documented).
- A condition key whose value the planner cannot know (`acs:CurrentTime`, `acs:SourceIp`, ...):
  unknown. What a request carries is stated by `Request.context`/`Request.complete`.

A statement's applicability is three-valued (True, False, None = cannot tell). An Allow that
cannot be read does not spoil an Allow that can (only a Deny overrides an Allow); a Deny, or a
statement whose Effect cannot be read, that may apply makes the verdict unknown.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

Tri = bool | None
"""True, False, or None when the planner cannot tell."""

KMS_CRYPTO_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
"""The calls RDS makes with a CMK; KMS documents `kms:tag/<key>` condition keys for these."""

KEY_USE_ACTIONS = (*KMS_CRYPTO_ACTIONS, "kms:DescribeKey")
"""What the role must be allowed on a key for RDS to use it: the three cryptographic calls, and
DescribeKey (RDS reads the key's state). The fixed policy also grants kms:List*, TagResource and
UntagResource; RDS needs none of them to encrypt a disk, so they are not required."""

RDS_SERVICE = "rds.aliyuncs.com"

_TAG_KEY_PREFIX = "kms:tag/"


class Verdict(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    """An explicit Deny applies."""
    NOT_ALLOWED = "not allowed"
    """No Allow applies (implicit deny)."""
    UNKNOWN = "cannot tell"
    """A statement that may decide it cannot be evaluated."""


@dataclass(frozen=True)
class Request:
    """One call as RAM would see it."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Condition keys the call is known to carry, with their values."""
    complete: tuple[str, ...] = ()
    """Key-name prefixes (lower case) that `context` lists in full: a key with such a prefix
    that is not in `context` is known to be absent. Any other key not in `context` is
    unknown."""

    def lookup(self, key: str) -> tuple[str, ...] | bool | None:
        """The key's values; False when known absent; None when unknown."""
        wanted = key.lower()
        for name, values in self.context.items():
            if name.lower() == wanted:
                return values
        return False if wanted.startswith(self.complete) and self.complete else None


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    policies: tuple[str, ...] = ()
    """For DENIED, the policies whose Deny applies; for UNKNOWN, those holding a statement that
    could not be evaluated. Sorted, for messages."""


def key_use_request(action: str, key_arn: str, tags: Mapping[str, str]) -> Request:
    """The request RDS makes to KMS with a key: `kms:tag/<key>` for every tag of the key on the
    cryptographic calls (all of them, so a tag not listed is absent), and
    `acs:SecureTransport` true (a service-to-service call over TLS). Nothing else is known."""
    context: dict[str, tuple[str, ...]] = {"acs:SecureTransport": ("true",)}
    complete: tuple[str, ...] = ()
    if action in KMS_CRYPTO_ACTIONS:
        context.update({f"{_TAG_KEY_PREFIX}{k}": (v,) for k, v in tags.items()})
        complete = (_TAG_KEY_PREFIX,)
    return Request(action=action, resource=key_arn, context=context, complete=complete)


# --- matching ---------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """True when `value` matches `pattern` with `*` and `?` wildcards."""
    return _pattern(pattern, ignore_case).fullmatch(value) is not None


def _resource_match(patterns: tuple[str, ...], resource: str) -> Tri:
    if any(wildcard_match(p, resource) for p in patterns):
        return True
    if any(wildcard_match(p, resource, ignore_case=True) for p in patterns):
        return None
    return False


def _all(values: Sequence[Tri]) -> Tri:
    """Three-valued AND."""
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


# --- conditions -------------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ordered(convert: Callable[[str], Any], test: Callable[[Any, Any], bool]):  # type: ignore[no-untyped-def]
    def check(actual: str, expected: str) -> bool:
        a, e = convert(actual), convert(expected)
        return a is not None and e is not None and test(a, e)

    return check


def _ip_in(actual: str, expected: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
    except ValueError:
        return False


_COMPARISONS = {
    "Equals": lambda a, e: a == e,
    "LessThan": lambda a, e: a < e,
    "LessThanEquals": lambda a, e: a <= e,
    "GreaterThan": lambda a, e: a > e,
    "GreaterThanEquals": lambda a, e: a >= e,
}
_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda a, e: a == e,
    "StringEqualsIgnoreCase": lambda a, e: a.lower() == e.lower(),
    "StringLike": lambda a, e: wildcard_match(e, a),
    "Bool": lambda a, e: a.lower() == e.lower(),
    "IpAddress": _ip_in,
    **{f"Numeric{n}": _ordered(_number, t) for n, t in _COMPARISONS.items()},
    **{f"Date{n}": _ordered(_date, t) for n, t in _COMPARISONS.items()},
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def _condition_values(value: Any) -> tuple[str, ...] | None:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str | int | float | bool) for v in values):
        return None
    return tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in values)


def _operator_holds(operator: str, block: Any, request: Request) -> Tri:
    if operator not in _POSITIVE and operator not in _NEGATED:
        return None
    if not isinstance(block, dict) or not block:
        return None
    negated = operator in _NEGATED
    test = _POSITIVE[_NEGATED.get(operator, operator)]
    results: list[Tri] = []
    for key, raw in block.items():
        expected = _condition_values(raw)
        actual = request.lookup(str(key))
        if expected is None or actual is None:
            results.append(None)
        elif actual is False:
            results.append(negated)
        else:
            matched = any(test(a, e) for a in actual for e in expected)
            results.append(matched != negated)
    return _all(results)


def _conditions_hold(condition: Any, request: Request) -> Tri:
    if condition is None:
        return True
    if not isinstance(condition, dict):
        return None
    return _all([_operator_holds(str(op), block, request) for op, block in condition.items()])


# --- statements -------------------------------------------------------------------------------


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _effect(statement: Any) -> str | None:
    effect = statement.get("Effect") if isinstance(statement, dict) else None
    if isinstance(effect, str) and effect.lower() in ("allow", "deny"):
        return effect.capitalize()
    return None


def _action_matches(statement: dict, action: str) -> Tri:
    if ("Action" in statement) == ("NotAction" in statement):
        return None
    negated = "NotAction" in statement
    patterns = _strings(statement["NotAction" if negated else "Action"])
    if patterns is None:
        return None
    listed = any(wildcard_match(p, action, ignore_case=True) for p in patterns)
    return listed != negated


def _permission_applies(statement: dict, request: Request) -> Tri:
    if "NotResource" in statement or "Principal" in statement or "NotPrincipal" in statement:
        return None
    resources = _strings(statement.get("Resource"))
    resource = None if resources is None else _resource_match(resources, request.resource)
    return _all(
        [
            _action_matches(statement, request.action),
            resource,
            _conditions_hold(statement.get("Condition"), request),
        ]
    )


def _statements(document: Any) -> list[Any] | None:
    """The statements of a document, or None when it does not read as a RAM document."""
    if not isinstance(document, dict) or str(document.get("Version", "1")) != "1":
        return None
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    return statements if isinstance(statements, list) else None


def _decide(
    documents: Sequence[tuple[str, Any]],
    applies: Callable[[dict, Request], Tri],
    request: Request,
) -> Evaluation:
    allowed = False
    denied: set[str] = set()
    may_deny: set[str] = set()
    may_allow: set[str] = set()
    for name, document in documents:
        statements = _statements(document)
        if statements is None:
            may_deny.add(name)
            continue
        for statement in statements:
            effect = _effect(statement)
            hit = applies(statement, request) if effect is not None else None
            if hit is False:
                continue
            if effect is None:
                may_deny.add(name)
            elif effect == "Deny":
                (denied if hit else may_deny).add(name)
            elif hit:
                allowed = True
            else:
                may_allow.add(name)
    if denied:
        return Evaluation(Verdict.DENIED, tuple(sorted(denied)))
    if may_deny:
        return Evaluation(Verdict.UNKNOWN, tuple(sorted(may_deny)))
    if allowed:
        return Evaluation(Verdict.ALLOWED)
    if may_allow:
        return Evaluation(Verdict.UNKNOWN, tuple(sorted(may_allow)))
    return Evaluation(Verdict.NOT_ALLOWED)


def evaluate(documents: Sequence[tuple[str, Any]], request: Request) -> Evaluation:
    """Decide one request against every policy attached to the role, as (name, document)."""
    return _decide(documents, _permission_applies, request)


# --- trust ------------------------------------------------------------------------------------


def _names_service(principal: Any, service: str) -> Tri:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return None
    found: Tri = False
    for kind, value in principal.items():
        names = _strings(value)
        if names is None:
            found = None if found is False else found
        elif kind == "Service" and any(n == "*" or n.lower() == service for n in names):
            return True
    return found


def _trust_applies(statement: dict, request: Request) -> Tri:
    if "NotPrincipal" in statement or "Principal" not in statement:
        return None
    return _all(
        [
            _names_service(statement["Principal"], request.resource),
            _action_matches(statement, request.action),
            _conditions_hold(statement.get("Condition"), request),
        ]
    )


def trust_lets_service_assume(document: Any, service: str = RDS_SERVICE) -> Evaluation:
    """Whether a role's trust policy lets `service` call sts:AssumeRole. The planner knows no
    condition key such a call carries, so a statement with a Condition is unknown."""
    request = Request(action="sts:AssumeRole", resource=service.lower())
    return _decide([("trust policy", document)], _trust_applies, request)
