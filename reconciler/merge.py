"""The shards' JSON documents (plan or drift, `--shard I/N`) checked and combined: all of one
kind, shards 1..N of one N each once, then reconciler/combine.py (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from reconciler.combine import CombineError, combine_drift, combine_plans
from reconciler.drift.model import DriftReport
from reconciler.plan.model import Plan, ShardInfo


def kind_of(name: str, document: Any) -> str:
    """`plan` or `drift`, by the document's own fields (docs/plan-format.md, drift-format.md)."""
    if isinstance(document, dict):
        if "fingerprint" in document and "changes" in document:
            return "plan"
        if "run" in document and "coverage" in document:
            return "drift"
    raise CombineError(f"{name}: neither a plan nor a drift report in JSON")


def merge_documents(named: Sequence[tuple[str, Any]]) -> tuple[str, Plan | DriftReport]:
    """(kind, the combined document) of the files' documents, in shard order."""
    kinds = {name: kind_of(name, doc) for name, doc in named}
    if len(set(kinds.values())) > 1:
        listed = ", ".join(f"{n}: {k}" for n, k in kinds.items())
        raise CombineError(f"the files mix plans and drift reports ({listed})")
    kind = next(iter(kinds.values()))
    model: type[Plan] | type[DriftReport] = Plan if kind == "plan" else DriftReport
    parts = [(name, _parse(model, name, doc)) for name, doc in named]
    ordered = _in_shard_order([(name, part, part.shard) for name, part in parts])
    if kind == "plan":
        return kind, combine_plans([p for p in ordered if isinstance(p, Plan)])
    return kind, combine_drift([p for p in ordered if isinstance(p, DriftReport)])


def _parse(model: type[Plan] | type[DriftReport], name: str, document: Any) -> Any:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise CombineError(f"{name}: not a valid {model.__name__}: {error}") from error


def _in_shard_order(parts: Sequence[tuple[str, Any, ShardInfo | None]]) -> list[Any]:
    """The parts by shard index; every one a shard of the same N, each of 1..N once."""
    for name, _part, shard in parts:
        if shard is None:
            raise CombineError(f"{name}: not a shard (made without --shard I/N)")
    counts = {name: shard.count for name, _p, shard in parts if shard}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{n}: of {c}" for n, c in counts.items())
        raise CombineError(f"the files are shards of different counts ({listed})")
    count = next(iter(counts.values()))
    by_index: dict[int, str] = {}
    for name, _part, shard in parts:
        assert shard is not None
        if shard.index in by_index:
            raise CombineError(
                f"shard {shard.index}/{count} is given twice: {by_index[shard.index]} and {name}"
            )
        by_index[shard.index] = name
    missing = [str(i) for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise CombineError(f"shard {', '.join(missing)} of {count} is missing")
    return [part for _n, part, shard in sorted(parts, key=lambda p: p[2].index)]  # type: ignore[union-attr]
