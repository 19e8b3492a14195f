"""plan and drift of one shard of `--shard I/N` (reconciler/shard.py says how the units are
dealt), as functions that print nothing. `reconciler merge` combines the shards' documents
(reconciler/combine.py)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reconciler import shard as sharding

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.app.plan import Progress
    from reconciler.cloud.clients import CloudClients
    from reconciler.drift.model import DriftReport
    from reconciler.plan.model import Plan
    from reconciler.spec.loader import LoadedSpec


def _narrowed(loaded: LoadedSpec, mine: Sequence[sharding.Unit], owner: bool) -> LoadedSpec:
    spec = sharding.shard_spec(loaded.spec, [r for _a, r in mine], owner=owner)
    return dataclasses.replace(loaded, spec=spec)


def plan_shard(
    loaded: LoadedSpec,
    clients: CloudClients,
    index: int,
    count: int,
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
) -> Plan:
    """The plan of shard `index` of `count`: the instances and keys of its regions (and the
    account's RAM where it owns the account). A shard with no unit reads nothing and plans
    nothing (its `shard.units` is empty)."""
    from reconciler.app.drift import utc_text
    from reconciler.app.plan import new_plan_id, observe_and_plan
    from reconciler.plan.digest import spec_digest
    from reconciler.plan.model import Plan

    units = sharding.spec_units(loaded.spec)
    mine = sharding.shard_units(units, index, count)
    info = sharding.info(index, count, mine)
    digest = spec_digest(loaded.spec)
    if not mine:
        return Plan(
            plan_id=new_plan_id(),
            fingerprint=hashlib.sha256(b"").hexdigest(),
            spec_digest=digest,
            created_at=utc_text(datetime.now(UTC)),
            shard=info,
        )
    owner = sharding.owns_account(units, mine, None)
    _observed, plan = observe_and_plan(
        _narrowed(loaded, mine, owner), clients, parallelism=parallelism, progress=progress
    )
    return sharding.trim_plan(plan, owner=owner, digest=digest, shard=info)


def drift_shard(
    loaded: LoadedSpec,
    clients: CloudClients,
    index: int,
    count: int,
    *,
    regions: Sequence[str] = (),
    parallelism: int = 16,
    progress: Progress | None = None,
) -> DriftReport:
    """The drift report of shard `index` of `count`: the units are the spec's and every
    region drift reads (the account's, or `regions`); each shard reads its own."""
    from reconciler.app.drift import coverage_regions, drift_report, spec_digest, tool_version
    from reconciler.drift.model import DriftReport, RunInfo

    read, scope = coverage_regions(loaded, clients, regions)
    units = sorted({*sharding.spec_units(loaded.spec), *((None, r) for r in read)})
    mine = sharding.shard_units(units, index, count)
    info = sharding.info(index, count, mine)
    if not mine:
        run = RunInfo(
            tool_version=tool_version(),
            spec_digest=spec_digest(loaded.files),
            regions_scope=scope,
        )
        return DriftReport(run=run, spec_files=list(loaded.files), shard=info)
    owner = sharding.owns_account(units, mine, None)
    report = drift_report(
        _narrowed(loaded, mine, owner),
        clients,
        regions=[r for _a, r in mine],
        parallelism=parallelism,
        progress=progress,
    )
    report = report.model_copy(
        update={"run": report.run.model_copy(update={"regions_scope": scope})}
    )
    return sharding.trim_drift(report, owner=owner, shard=info)
