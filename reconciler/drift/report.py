"""build_drift(spec, observed) -> DriftReport: pure, like build_plan (no SDK, clock or I/O).

Findings (drift/findings.py) are merged into one item per address (kind and severity of the
most severe finding, every message), `defaults.ignore` globs silence the items they match
(counted, never shown as drift), and the coverage is counted from every PostgreSQL instance
read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from reconciler.core.facts import ObservedInstance, ObservedState
from reconciler.drift import findings
from reconciler.drift.findings import Finding
from reconciler.drift.model import (
    Control,
    Coverage,
    DriftItem,
    DriftReport,
    IgnoredItem,
    Kind,
    RegionCoverage,
    RunContext,
    RunInfo,
    Severity,
    Summary,
    UnencryptedInstance,
)
from reconciler.errors import ReconcilerError
from reconciler.kinds import find_kind
from reconciler.plan.actions import RefusalCode, WarningCode
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.spec.models import Spec


class DriftError(ReconcilerError):
    """No drift report can be made (the credentials belong to another account)."""


def build_drift(
    spec: Spec,
    observed: ObservedState,
    *,
    locations: Mapping[str, Any] | None = None,
    spec_files: Sequence[str] = (),
    context: RunContext | None = None,
) -> DriftReport:
    """What differs between the spec and the cloud, what is at risk, what is unmanaged.

    `locations` is the loader's LoadedSpec.locations (address -> file:line:col), used to
    place each item in the spec; `spec_files` the files it was loaded from; `context` what the
    caller knows of the run (tool version, spec digest, which regions were asked for)."""
    plan = build_plan(spec, observed, for_report=True)
    mismatch = next((r for r in plan.refusals if r.code is RefusalCode.ACCOUNT_MISMATCH), None)
    if mismatch is not None:
        raise DriftError(f"no drift report for another account: {mismatch.message}")
    regions = _regions(spec)
    found: list[Finding] = [findings.from_change(c, observed) for c in plan.changes]
    for refusal in plan.refusals:
        one = findings.from_refusal(refusal, regions.get(refusal.address), observed)
        if one is not None:
            found.append(one)
    found += findings.from_kinds(spec, plan, observed)
    merged = [_merge(group, locations) for group in _by_address(found)]
    shown, ignored = _apply_ignore(merged, spec.defaults.ignore)
    ignored += _left_alone(plan, spec.defaults.ignore, {i.address for i in ignored})
    shown.sort(key=lambda i: (i.severity.rank, i.address, i.kind.value))
    return DriftReport(
        run=run_info(observed, context or RunContext()),
        summary=summarise(shown, len(ignored)),
        items=shown,
        coverage=coverage(observed),
        checked=findings.checked_addresses(spec),
        ignored=sorted(ignored, key=lambda i: i.address),
        spec_files=list(spec_files),
    )


def run_info(observed: ObservedState, context: RunContext) -> RunInfo:
    """When and where from the observation itself (never the clock), with the caller's context."""
    return RunInfo(
        **context.model_dump(),
        read_at=observed.read_at,
        account_id=observed.account_id or "unknown",
        regions_read=sorted(observed.regions_listed),
    )


def _regions(spec: Spec) -> dict[str, str]:
    """Address -> region, for refusals (which carry none)."""
    found = {f"kms_key.{n}": spec.key_region(n) for n in spec.kms_keys}
    found.update({f"rds_encryption.{i}": spec.instance_region(i) for i in spec.instances})
    return found


def _by_address(found: Iterable[Finding]) -> list[list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for one in found:
        groups.setdefault(one.address, []).append(one)
    return [groups[a] for a in sorted(groups)]


def _location(address: str, locations: Mapping[str, Any] | None) -> str | None:
    if not locations:
        return None
    kind = find_kind(address)
    where = kind.spec_location(address, locations) if kind else locations.get(address)
    return str(where) if where is not None else None


def _merge(group: list[Finding], locations: Mapping[str, Any] | None) -> DriftItem:
    """One item per address: the most severe finding's kind and severity, every message (each
    once), every field change (each path once)."""
    ordered = sorted(group, key=lambda f: f.severity.rank)
    first = ordered[0]
    messages: list[str] = []
    changes: dict[str, Any] = {}
    for one in ordered:
        if one.message not in messages:
            messages.append(one.message)
        for fc in one.field_changes:
            changes.setdefault(fc.path, fc)
    return DriftItem(
        address=first.address,
        kind=first.kind,
        severity=first.severity,
        field_changes=[changes[p] for p in sorted(changes)],
        message=" | ".join(messages),
        region=next((f.region for f in ordered if f.region), None),
        location=_location(first.address, locations),
        controls=_controls(first.address, sorted(changes)),
    )


def _controls(address: str, paths: list[str]) -> list[Control]:
    kind = find_kind(address)
    return list(kind.controls(address, paths)) if kind else []


def _left_alone(plan: Plan, globs: Sequence[str], already: set[str]) -> list[IgnoredItem]:
    """The differences the plan left alone (IgnoredByLifecycle: lifecycle.ignore, or
    defaults.ignore on an ignorable setting), counted as ignored as plan shows them; `glob`
    is the defaults.ignore pattern when one matched, else `lifecycle.ignore`."""
    found: dict[str, IgnoredItem] = {}
    for warning in plan.warnings:
        if warning.code is not WarningCode.IGNORED_BY_LIFECYCLE or warning.address in already:
            continue
        glob = next((g for g in globs if fnmatchcase(warning.address, g)), "lifecycle.ignore")
        found[warning.address] = IgnoredItem(
            address=warning.address, kind=Kind.CHANGED, severity=Severity.LOW, glob=glob
        )
    return list(found.values())


def _apply_ignore(
    items: list[DriftItem], globs: Sequence[str]
) -> tuple[list[DriftItem], list[IgnoredItem]]:
    shown: list[DriftItem] = []
    ignored: list[IgnoredItem] = []
    for item in items:
        glob = next((g for g in globs if fnmatchcase(item.address, g)), None)
        if glob is None:
            shown.append(item)
        else:
            ignored.append(
                IgnoredItem(address=item.address, kind=item.kind, severity=item.severity, glob=glob)
            )
    return shown, ignored


def summarise(items: list[DriftItem], ignored: int) -> Summary:
    """The counts of the report's `summary` (docs/drift-format.md)."""
    by_severity = {s: sum(i.severity is s for i in items) for s in Severity}
    by_kind = {k: sum(i.kind is k for i in items) for k in Kind}
    return Summary(
        items=len(items),
        critical=by_severity[Severity.CRITICAL],
        high=by_severity[Severity.HIGH],
        medium=by_severity[Severity.MEDIUM],
        low=by_severity[Severity.LOW],
        info=by_severity[Severity.INFO],
        changed=by_kind[Kind.CHANGED],
        missing=by_kind[Kind.MISSING],
        unmanaged=by_kind[Kind.UNMANAGED],
        at_risk=by_kind[Kind.AT_RISK],
        ignored=ignored,
        drift=any(i.kind is not Kind.UNMANAGED for i in items),
    )


def encryption_class(instance: ObservedInstance, observed: ObservedState) -> str:
    """`service_key`, `cmk`, `not_encrypted` or `not_read`."""
    enc = instance.encryption
    if enc is None:
        return "not_read"
    if not enc.enabled:
        return "not_encrypted"
    if observed.on_service_key(instance):
        return "service_key"
    return "cmk"


def disk_and_tde_class(instance: ObservedInstance, disk: str) -> str:
    """`disk_only`, `tde_only`, `disk_and_tde`, `neither` or `tde_not_read`, from the disk's
    class (`encryption_class`) and the TDE read (only where the spec sets tde, or by import)."""
    if instance.tde is None or disk == "not_read":
        return "tde_not_read"
    encrypted = disk != "not_encrypted"
    if instance.tde.enabled:
        return "disk_and_tde" if encrypted else "tde_only"
    return "disk_only" if encrypted else "neither"


def coverage(observed: ObservedState) -> Coverage:
    """Counts over the PostgreSQL instances read, per region and in total."""
    counts: dict[str, dict[str, int]] = {r: {} for r in observed.regions_listed}
    unencrypted: list[UnencryptedInstance] = []
    for instance in observed.instances.values():
        if instance.engine.lower() != "postgresql":
            continue
        region = counts.setdefault(instance.region, {})
        what = encryption_class(instance, observed)
        both = disk_and_tde_class(instance, what)
        for name in ("instances", what, "managed" if instance.managed else "", both):
            if name:
                region[name] = region.get(name, 0) + 1
        if what == "not_encrypted":
            unencrypted.append(
                UnencryptedInstance(
                    instance_id=instance.instance_id,
                    region=instance.region,
                    managed=instance.managed,
                )
            )
    per_region = {r: _region(c) for r, c in sorted(counts.items())}
    return coverage_of(per_region, unencrypted)


def coverage_of(
    per_region: Mapping[str, RegionCoverage], unencrypted: Iterable[UnencryptedInstance]
) -> Coverage:
    """The coverage of these regions: their counts summed, regions and instances sorted."""
    total = _region(
        {
            name: sum(getattr(c, name) for c in per_region.values())
            for name in RegionCoverage.model_fields
        }
    )
    return Coverage(
        **total.model_dump(),
        regions=dict(sorted(per_region.items())),
        unencrypted=sorted(unencrypted, key=lambda u: (u.region, u.instance_id)),
    )


def _region(counts: dict[str, int]) -> RegionCoverage:
    service, cmk = counts.get("service_key", 0), counts.get("cmk", 0)
    return RegionCoverage(
        instances=counts.get("instances", 0),
        encrypted=service + cmk,
        service_key=service,
        cmk=cmk,
        not_encrypted=counts.get("not_encrypted", 0),
        not_read=counts.get("not_read", 0),
        managed=counts.get("managed", 0),
        **{name: counts.get(name, 0) for name in TDE_CLASSES},
    )


TDE_CLASSES = ("disk_only", "tde_only", "disk_and_tde", "neither", "tde_not_read")
