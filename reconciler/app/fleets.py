"""Fleets between observe and plan (issue 21; README, "Fleets (selectors)").

    loaded = with_fleets(loaded, clients)   # reads the fleets' instances; ObserveError
    plan = with_fleet_notes(loaded, plan)   # names each change's fleet, adds its findings

`with_fleets` returns the LoadedSpec whose spec manages every instance a fleet selects (an
`instances:` entry wins), so observe, the planner and apply see ordinary instances; the spec as
written stays the plan's `spec_digest`, so a new matching instance is a new change of the next
plan, not another spec. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.cloud.clients import CloudClients
    from reconciler.drift.model import DriftItem, DriftReport
    from reconciler.kinds.rds_encryption.fleets import Expansion
    from reconciler.plan.model import Plan
    from reconciler.spec.loader import LoadedSpec


def with_fleets(loaded: LoadedSpec, clients: CloudClients, *, parallelism: int = 16) -> LoadedSpec:
    """`loaded` with its fleets expanded (unchanged without fleets, or when already done)."""
    if not loaded.spec.fleets or loaded.fleets is not None:
        return loaded
    from reconciler.spec.key_refs import with_spec_aliases
    from reconciler.state.fleets import expand_fleets

    expansion = expand_fleets(loaded.spec, clients, parallelism=parallelism)
    locations = dict(loaded.locations)
    for instance_id, fleet in expansion.origins.items():
        for field in ("encryption", "tde"):
            where = locations.get(f"{fleet}.{field}.key") or locations.get(f"{fleet}.{field}")
            if where is not None:
                locations[f"instances.{instance_id}.{field}.key"] = where
        locations[f"rds_encryption.{instance_id}"] = locations[fleet]
    return replace(
        loaded,
        spec=with_spec_aliases(expansion.spec),
        locations=locations,
        fleets=expansion,
        written=loaded.spec,
    )


def with_fleet_notes(loaded: LoadedSpec, plan: Plan, *, with_spec_digest: bool = True) -> Plan:
    """The plan with `via` on what a fleet brought in, the fleets' refusals and warnings, and
    the digest of the spec as written (none for a part: planner.build_plan)."""
    expansion = loaded.fleets
    if expansion is None:
        return plan
    from reconciler.plan.digest import spec_digest
    from reconciler.plan.model import PlanWarning, Refusal, summarise

    def noted(items: list) -> list:
        return [i.model_copy(update={"via": expansion.via(i.address)}) for i in items]

    changes = noted(plan.changes)
    refusals = noted(plan.refusals) + [
        Refusal(address=f.address, code=f.code, message=f.message) for f in expansion.refusals
    ]
    warnings = noted(plan.warnings) + [
        PlanWarning(address=f.address, code=f.code, message=f.message, via=f.address)
        for f in expansion.warnings
    ]
    refusals.sort(key=lambda r: (r.address, r.code, r.message))
    warnings.sort(key=lambda w: (w.address, w.code, w.message))
    return plan.model_copy(
        update={
            "spec_digest": spec_digest(loaded.as_written()) if with_spec_digest else None,
            "changes": changes,
            "refusals": refusals,
            "warnings": warnings,
            "summary": summarise(changes, refusals),
        }
    )


def with_fleet_origins(loaded: LoadedSpec, report: DriftReport) -> DriftReport:
    """The drift report with `via` on the items a fleet brought in, and on the members it
    left alone as unencryptable: still unmanaged, but not to be added under `instances:`."""
    expansion = loaded.fleets
    if expansion is None:
        return report
    items = [_noted(i, expansion) for i in report.items]
    return report.model_copy(update={"items": items})


def _noted(item: DriftItem, expansion: Expansion) -> DriftItem:
    from reconciler.drift.model import Kind

    alone = expansion.left_alone(item.address) if item.kind is Kind.UNMANAGED else None
    if alone is None:
        return item.model_copy(update={"via": expansion.via(item.address)})
    fleet, message = alone
    return item.model_copy(update={"via": fleet, "message": message})
