"""Plan operations -> cloud write functions, and the typed references between changes.

Apply interprets `Operation{op, params}` and re-derives nothing: each op name maps to the one
write rule a kind declares for it (`ResourceKind.writes()`, kinds/<kind>/writes.py), whose
function in cloud/{kms,ram,rds}.py sends it; a `{"ref": address, "attr": ...}` value is
replaced by what an earlier change produced (CreateKey's KeyId and Arn). This module knows no
kind: its tables are the union of the kinds'.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.core.ops import Op
from reconciler.errors import ApplyError
from reconciler.kinds import KINDS
from reconciler.kinds.base import ResourceKind
from reconciler.kinds.write_rule import WriteFn, WriteRule
from reconciler.plan.model import is_ref


def union(kinds: Iterable[ResourceKind]) -> dict[Op, WriteRule]:
    """Every kind's write rules; an op two kinds declare is a bug, refused."""
    rules: dict[Op, WriteRule] = {}
    for kind in kinds:
        for op, rule in kind.writes().items():
            if op in rules:
                raise ValueError(f"{op} is a write of two kinds (the second: {kind.name})")
            rules[op] = rule
    return rules


RULES: dict[Op, WriteRule] = union(KINDS)
"""Each op's write rule (what apply/change.py asks: read-back, waits)."""

WRITES: dict[Op, WriteFn] = {op: rule.send for op, rule in RULES.items()}
"""The function that sends each op: apply sends through this table (a test may replace one)."""

NOT_IDEMPOTENT: frozenset[Op] = frozenset(op for op, rule in RULES.items() if not rule.idempotent)
"""Writes without a ClientToken that fail when repeated or do it twice: never sent again after
a lost answer; the target is read instead to learn whether the call took effect."""

PRODUCES: dict[Op, tuple[str, ...]] = {op: r.produces for op, r in RULES.items() if r.produces}
"""Attributes an op's answer provides for references."""


def resolve(params: dict[str, Any], outputs: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The params with every reference replaced by the value its change produced."""
    resolved: dict[str, Any] = {}
    for name, value in params.items():
        if is_ref(value):
            produced = outputs.get(value["ref"], {})
            if value["attr"] not in produced:
                raise ApplyError(
                    f"{name} refers to {value['attr']} of {value['ref']}, which this run has "
                    "not produced; nothing more is written"
                )
            resolved[name] = produced[value["attr"]]
        else:
            resolved[name] = value
    return resolved
