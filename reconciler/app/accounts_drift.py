"""Drift of a spec with `accounts:` (README, "Several accounts"), as a function that prints
nothing: each account's own spec reported with that account's clients (app/drift.py), then one
report of them all (combine.py's combine_drift, as for shards).

With more than one account declared, every address carries its account (`prod/rds_encryption.
pgm-...`, as in plans) and so does each region of the coverage (`prod/cn-hangzhou`): two
accounts' cn-hangzhou are two regions' worth of instances (docs/drift-format.md, "Several
accounts").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.app.accounts import AccountPart
    from reconciler.app.plan import Progress
    from reconciler.cloud.clients import CloudClients
    from reconciler.drift.model import DriftReport
    from reconciler.spec.loader import LoadedSpec


def drift_accounts(
    loaded: LoadedSpec,
    base: CloudClients,
    *,
    regions: Sequence[str] = (),
    parallelism: int = 16,
    progress: Progress | None = None,
) -> DriftReport:
    """Every declared account connected first (a refused AssumeRole or a wrong account_id
    stops before any read), then each account's drift: the regions `regions` names, else the
    account's declared `regions`, else every region it has. Raises ObserveError (fail closed)
    when any account's read fails: one account's report is not the spec's."""
    from reconciler.app.accounts import connect_accounts, prefixed_addresses
    from reconciler.app.drift import with_scope
    from reconciler.combine import combine_drift
    from reconciler.drift.model import RegionsScope

    parts = connect_accounts(loaded, base)
    read = {p.name: tuple(regions) or loaded.spec.accounts[p.name].regions for p in parts}
    found = drift_each(parts, read, parallelism=parallelism, progress=progress)
    for name, report in found.items():
        if loaded.spec.accounts[name].regions and not regions:  # the spec narrowed it
            found[name] = with_scope(report, RegionsScope.SPEC)
    prefix = prefixed_addresses(loaded)
    reports = [with_account(r, name) if prefix else r for name, r in found.items()]
    return combine_drift(_one_scope(reports))


def drift_each(
    parts: list[AccountPart],
    read: dict[str, tuple[str, ...]],
    *,
    parallelism: int,
    progress: Progress | None,
) -> dict[str, DriftReport]:
    """Each account's drift report over the regions `read` names for it (none: every region
    it has): several accounts read at once (state/observe.observe_accounts, one progress),
    one account as drift_report() reads it."""
    from reconciler.app.accounts import read_together
    from reconciler.app.drift import drift_report

    if read_together(parts):
        return _drift_together(parts, read, parallelism, progress)
    return {
        part.name: drift_report(
            part.loaded,
            part.clients,
            regions=read[part.name],
            parallelism=parallelism,
            progress=progress,
        )
        for part in parts
    }


def _drift_together(
    parts: list[AccountPart],
    read: dict[str, tuple[str, ...]],
    parallelism: int,
    progress: Progress | None,
) -> dict[str, DriftReport]:
    """Each account's drift, their reads at once (observe_accounts), at one `read_at`."""
    from datetime import UTC, datetime

    from reconciler.app.drift import drift_of, drift_reading
    from reconciler.state.observe import observe_accounts

    readings = {
        p.name: drift_reading(p.loaded, p.clients, read[p.name], parallelism=parallelism)
        for p in parts
    }
    started = datetime.now(UTC)  # the observation's "now": each report's read_at
    observed = observe_accounts(
        {p.name: (readings[p.name].scope, p.clients) for p in parts},
        parallelism=parallelism,
        progress=progress,
        now=started,
    )
    return {name: drift_of(r, observed[name], started) for name, r in readings.items()}


def with_account(report: DriftReport, name: str) -> DriftReport:
    """The report with every address, and every coverage region, prefixed `<name>/`."""
    from reconciler.app.accounts import SEPARATOR

    def named(address: str) -> str:
        return f"{name}{SEPARATOR}{address}"

    coverage = report.coverage.model_copy(
        update={
            "regions": {named(r): c for r, c in report.coverage.regions.items()},
            "unencrypted": [
                u.model_copy(update={"region": named(u.region)})
                for u in report.coverage.unencrypted
            ],
        }
    )
    return report.model_copy(
        update={
            "items": [i.model_copy(update={"address": named(i.address)}) for i in report.items],
            "checked": [named(a) for a in report.checked],
            "ignored": [i.model_copy(update={"address": named(i.address)}) for i in report.ignored],
            "coverage": coverage,
        }
    )


def _one_scope(reports: list[DriftReport]) -> list[DriftReport]:
    """Every report with the same regions_scope: `all` only when every account's was; else
    `narrowed` when --region narrowed any, else `spec` (an account's `regions:` narrowed it)."""
    from reconciler.app.drift import with_scope
    from reconciler.drift.model import RegionsScope

    scopes = {r.run.regions_scope for r in reports}
    if len(scopes) < 2:
        return reports
    one = RegionsScope.NARROWED if RegionsScope.NARROWED in scopes else RegionsScope.SPEC
    return [with_scope(r, one) for r in reports]
