"""plan and drift of one shard of `--shard I/N` (reconciler/shard.py says how the units are
dealt), as functions that print nothing. `reconciler merge` combines the shards' documents
(reconciler/combine.py).

A spec with `accounts:` (README, "Several accounts") is dealt in (account, region) units: a
shard connects only the accounts it has units of (it assumes no other role), plans or reads
each of them as app/accounts.py does the whole, and joins them with the same prefixes.
"""

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
    from reconciler.drift.model import DriftReport, RegionsScope
    from reconciler.plan.model import Plan, ShardInfo
    from reconciler.spec.loader import LoadedSpec


def _narrowed(loaded: LoadedSpec, regions: Sequence[str], owner: bool) -> LoadedSpec:
    spec = sharding.shard_spec(loaded.spec, regions, owner=owner)
    return dataclasses.replace(loaded, spec=spec)


def _empty_plan(loaded: LoadedSpec, info: ShardInfo) -> Plan:
    """The plan of a shard with no unit: nothing read, nothing planned."""
    from reconciler.app.drift import utc_text
    from reconciler.app.plan import new_plan_id
    from reconciler.plan.digest import spec_digest
    from reconciler.plan.model import Plan

    return Plan(
        plan_id=new_plan_id(),
        fingerprint=hashlib.sha256(b"").hexdigest(),
        spec_digest=spec_digest(loaded.spec),
        created_at=utc_text(datetime.now(UTC)),
        shard=info,
    )


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
    from reconciler.app.plan import observe_and_plan
    from reconciler.plan.digest import spec_digest

    accounts = bool(loaded.spec.accounts)
    units = (sharding.account_units if accounts else sharding.spec_units)(loaded.spec)
    mine = sharding.shard_units(units, index, count)
    info = sharding.info(index, count, mine)
    if not mine:
        return _empty_plan(loaded, info)
    if accounts:
        return _plan_accounts(loaded, clients, units, mine, info, parallelism, progress)
    owner = sharding.owns_account(units, mine, None)
    _observed, plan = observe_and_plan(
        _narrowed(loaded, sharding.regions_of(mine, None), owner),
        clients,
        parallelism=parallelism,
        progress=progress,
        with_spec_digest=False,  # the narrowed spec's: trim_plan stamps the whole spec's
    )
    return sharding.trim_plan(plan, owner=owner, digest=spec_digest(loaded.spec), shard=info)


def _plan_accounts(
    loaded: LoadedSpec,
    base: CloudClients,
    units: Sequence[sharding.Unit],
    mine: Sequence[sharding.Unit],
    info: ShardInfo,
    parallelism: int,
    progress: Progress | None,
) -> Plan:
    """plan_shard() of a spec with `accounts:`: each of the shard's accounts connected (only
    those) and narrowed to its units, then planned as the unsharded plan is (plan_accounts:
    several accounts read at once, one progress), the plans joined the same way."""
    from reconciler.app.accounts import combine_accounts, connect_accounts, plan_accounts

    owners = {name: sharding.owns_account(units, mine, name) for name in loaded.spec.accounts}
    parts = [
        dataclasses.replace(
            part,
            loaded=_narrowed(part.loaded, sharding.regions_of(mine, part.name), owners[part.name]),
        )
        for part in connect_accounts(loaded, base, sharding.accounts_of(mine))
    ]
    found, whole = plan_accounts(loaded, parts, parallelism=parallelism, progress=progress)
    plans = {
        name: sharding.trim_plan(plan, owner=owners[name], digest=None, shard=info)
        for name, (_observed, plan) in found.items()
    }
    combined = combine_accounts(loaded, plans, digest=whole.spec_digest)
    return combined.model_copy(update={"shard": info})


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
    from reconciler.app.drift import coverage_regions, drift_report, with_scope

    if loaded.spec.accounts:
        return _drift_accounts(loaded, clients, index, count, regions, parallelism, progress)
    read, scope = coverage_regions(loaded, clients, regions)
    units = sorted({*sharding.spec_units(loaded.spec), *((None, r) for r in read)})
    mine = sharding.shard_units(units, index, count)
    info = sharding.info(index, count, mine)
    if not mine:
        return _empty_report(loaded, info, scope)
    owner = sharding.owns_account(units, mine, None)
    report = drift_report(
        _narrowed(loaded, sharding.regions_of(mine, None), owner),
        clients,
        regions=sharding.regions_of(mine, None),
        parallelism=parallelism,
        progress=progress,
    )
    return with_scope(sharding.trim_drift(report, owner=owner, shard=info), scope)


def _drift_accounts(
    loaded: LoadedSpec,
    base: CloudClients,
    index: int,
    count: int,
    regions: Sequence[str],
    parallelism: int,
    progress: Progress | None,
) -> DriftReport:
    """drift_shard() of a spec with `accounts:`: the units are each account's spec regions
    and the regions drift reads in it (`regions`, else its declared `regions`: known without
    a read, so every shard deals the same units); each of the shard's accounts connected
    (only those) and read, the reports joined as drift_accounts() does."""
    from reconciler.app.accounts import connect_accounts, prefixed_addresses
    from reconciler.app.accounts_drift import drift_each, with_account
    from reconciler.app.drift import with_scope
    from reconciler.combine import combine_drift
    from reconciler.drift.model import RegionsScope

    units = sharding.account_drift_units(loaded.spec, regions)
    mine = sharding.shard_units(units, index, count)
    info = sharding.info(index, count, mine)
    scope = RegionsScope.NARROWED if regions else RegionsScope.SPEC  # accounts' `regions:`
    if not mine:
        return _empty_report(loaded, info, scope)
    owners = {name: sharding.owns_account(units, mine, name) for name in loaded.spec.accounts}
    own = {name: tuple(sharding.regions_of(mine, name)) for name in loaded.spec.accounts}
    parts = [
        dataclasses.replace(part, loaded=_narrowed(part.loaded, own[part.name], owners[part.name]))
        for part in connect_accounts(loaded, base, sharding.accounts_of(mine))
    ]
    found = drift_each(parts, own, parallelism=parallelism, progress=progress)
    reports = []
    for name, report in found.items():
        report = sharding.trim_drift(report, owner=owners[name], shard=info)
        reports.append(with_account(report, name) if prefixed_addresses(loaded) else report)
    joined = combine_drift(reports).model_copy(update={"shard": info})
    return with_scope(joined, scope)


def _empty_report(loaded: LoadedSpec, info: ShardInfo, scope: RegionsScope) -> DriftReport:
    """The drift report of a shard with no unit: nothing read."""
    from reconciler.app.drift import spec_digest, tool_version
    from reconciler.drift.model import DriftReport, RunInfo

    run = RunInfo(
        tool_version=tool_version(), spec_digest=spec_digest(loaded.files), regions_scope=scope
    )
    return DriftReport(run=run, spec_files=list(loaded.files), shard=info)
