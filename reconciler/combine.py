"""One plan, or one drift report, out of the plans or reports of disjoint parts (shards).

Pure functions (no I/O, no clock): `reconciler merge` reads the shards' JSON and calls them
(README, "Sharding across CI runners"; docs/plan-format.md and docs/drift-format.md, `shard`).
The parts must cover disjoint units (account, region): an address, or a region's coverage,
found in two parts is an error, never silently kept twice or dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from reconciler.drift.model import Coverage, DriftReport, RegionCoverage, RunInfo
from reconciler.drift.report import coverage_of
from reconciler.drift.report import summarise as summarise_drift
from reconciler.errors import ReconcilerError
from reconciler.kinds.rds_encryption.fleets import join_left_out
from reconciler.plan.actions import WarningCode
from reconciler.plan.model import Plan, PlanWarning, summarise
from reconciler.plan.order import order_changes

T = TypeVar("T")
_JOINED: dict[WarningCode, Callable[[list[str]], str]] = {
    WarningCode.FLEET_MEMBERS_UNENCRYPTABLE: join_left_out,
}
"""The warnings one part per shard may give at one address (a fleet's, over the shards'
regions), and how their messages join; any other address in two parts is an overlap."""
UNKNOWN = RunInfo().account_id


class CombineError(ReconcilerError, ValueError):
    """The parts cannot be one document (different specs or formats, overlapping units)."""


def combine_plans(parts: Sequence[Plan]) -> Plan:
    """One plan of every part's changes, in the planner's apply order.

    The result is a report of the whole, not a plan to apply: its parts' plan ids differ (the
    ClientTokens derive from them), so it has none and each shard applies its own plan."""
    _require_parts(parts)
    _same("plan format version", [p.format_version for p in parts])
    _same("spec digest", [p.spec_digest for p in parts])
    _disjoint([_plan_addresses(p) for p in parts])
    joined = _joined_warnings(parts)
    # The planner's apply order over all parts (reconciler/plan/order.py), so the merged plan
    # lists its changes as one unsharded plan would; each part's own edges are kept.
    changes = order_changes(
        {c.address: c for p in parts for c in p.changes},
        {(first, c.address) for p in parts for c in p.changes for first in c.depends_on},
    )
    refusals = sorted(
        (r for p in parts for r in p.refusals), key=lambda r: (r.address, r.code.value)
    )
    warnings = sorted(joined, key=lambda w: (w.address, w.code.value))
    return Plan(
        fingerprint=_fingerprint([p.fingerprint for p in parts]),
        spec_digest=parts[0].spec_digest,
        created_at=_earliest(p.created_at for p in parts),
        summary=summarise(changes, refusals),
        changes=changes,
        refusals=refusals,
        warnings=warnings,
    )


def combine_drift(parts: Sequence[DriftReport]) -> DriftReport:
    """One drift report of every part's items, coverage and run (docs/drift-format.md)."""
    _require_parts(parts)
    _same("drift format version", [p.format_version for p in parts])
    _same("spec digest", [p.run.spec_digest for p in parts])
    _same("tool version", [p.run.tool_version for p in parts])
    _disjoint([_drift_addresses(p) for p in parts])
    items = sorted(
        (i for p in parts for i in p.items),
        key=lambda i: (i.severity.rank, i.address, i.kind.value),
    )
    ignored = sorted((i for p in parts for i in p.ignored), key=lambda i: i.address)
    return DriftReport(
        run=_run(parts),
        summary=summarise_drift(items, len(ignored)),
        items=items,
        coverage=_coverage([p.coverage for p in parts]),
        checked=sorted(a for p in parts for a in p.checked),
        ignored=ignored,
        spec_files=_union(f for p in parts for f in p.spec_files),
    )


def _require_parts(parts: Sequence[object]) -> None:
    if not parts:
        raise CombineError("nothing to combine: no part given")


def _same(what: str, values: Sequence[T]) -> T:
    """The one value every part has; an error naming each part's value otherwise."""
    if len(set(values)) > 1:
        listed = ", ".join(f"part {n}: {v}" for n, v in enumerate(values, 1))
        raise CombineError(f"the parts have different {what}s ({listed})")
    return values[0]


def _disjoint(addresses: Sequence[set[str]]) -> None:
    """Every address in one part only (parts are disjoint units)."""
    seen: dict[str, int] = {}
    for number, found in enumerate(addresses, 1):
        for address in sorted(found):
            if address in seen:
                raise CombineError(
                    f"{address} is in part {seen[address]} and part {number}: the parts "
                    "overlap (each must cover different accounts and regions)"
                )
            seen[address] = number


def _plan_addresses(plan: Plan) -> set[str]:
    found = {c.address for c in plan.changes}
    found.update(r.address for r in plan.refusals)
    found.update(w.address for w in plan.warnings if w.code not in _JOINED)
    return found


def _joined_warnings(parts: Sequence[Plan]) -> list[PlanWarning]:
    """Every part's warnings, those of one address and code in several parts (a fleet's over
    several shards' regions) joined into one as an unsharded plan writes it."""
    found: dict[tuple[str, str], list[PlanWarning]] = {}
    for part in parts:
        for warning in part.warnings:
            found.setdefault((warning.address, warning.code.value), []).append(warning)
    joined = []
    for (address, _code), same in found.items():
        if len(same) == 1:
            joined.append(same[0])
            continue
        try:
            message = _JOINED[same[0].code]([w.message for w in same])
        except ValueError as error:
            raise CombineError(
                f"the parts' warnings of {address} cannot be joined: {error}"
            ) from error
        joined.append(same[0].model_copy(update={"message": message}))
    return joined


def _drift_addresses(report: DriftReport) -> set[str]:
    found = {i.address for i in report.items}
    found.update(report.checked)
    found.update(i.address for i in report.ignored)
    return found


def _fingerprint(fingerprints: Iterable[str]) -> str:
    """sha256 over the parts' fingerprints, in the parts' order (one per line)."""
    return hashlib.sha256("\n".join(fingerprints).encode()).hexdigest()


def _earliest(times: Iterable[str | None]) -> str | None:
    # ISO 8601 UTC strings of one format sort as the times they spell.
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _union(values: Iterable[str]) -> list[str]:
    """Each value once, in first-seen order."""
    return list(dict.fromkeys(values))


def _run(parts: Sequence[DriftReport]) -> RunInfo:
    """regions_read: the union; read_at: the earliest; account_id: the one account, or every
    account listed (comma-separated, sorted) when the parts read several."""
    runs = [p.run for p in parts]
    # a part of several accounts lists them all; an empty shard read no account
    known = {a for r in runs for a in r.account_id.split(",")} - {UNKNOWN}
    accounts = sorted(known) or [UNKNOWN]
    return RunInfo(
        tool_version=runs[0].tool_version,
        spec_digest=runs[0].spec_digest,
        regions_scope=_same("regions scope", [r.regions_scope for r in runs]),
        read_at=_earliest(r.read_at for r in runs),
        account_id=",".join(accounts),
        regions_read=sorted({region for r in runs for region in r.regions_read}),
    )


def _coverage(parts: Sequence[Coverage]) -> Coverage:
    """Per region from the one part that read it; totals summed again."""
    regions: dict[str, RegionCoverage] = {}
    owner: dict[str, int] = {}
    for number, part in enumerate(parts, 1):
        for region, counts in part.regions.items():
            if region in regions:
                raise CombineError(
                    f"the coverage of region {region} is in part {owner[region]} and part "
                    f"{number}: the parts overlap (each must read different regions)"
                )
            regions[region], owner[region] = counts, number
    return coverage_of(regions, [u for p in parts for u in p.unencrypted])
