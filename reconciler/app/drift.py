"""drift: read every PostgreSQL instance of every region the account has (or of those --region
names) and report how the cloud differs from the spec, as a function that prints nothing
(docs/architecture.md; the report's format: docs/drift-format.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.app.plan import Progress
    from reconciler.cloud.clients import CloudClients
    from reconciler.core.facts import ObservedState
    from reconciler.drift.model import DriftReport, RegionsScope
    from reconciler.spec.loader import LoadedSpec
    from reconciler.state.reads import ReadScope

PACKAGE = "rds-encryption-reconciler"


def drift_report(
    loaded: LoadedSpec,
    clients: CloudClients,
    *,
    regions: Sequence[str] = (),
    parallelism: int = 16,
    progress: Progress | None = None,
) -> DriftReport:
    """Observe the spec's needs and the encryption of every instance of the regions read
    (managed or not: the coverage counts them), then compare. The regions read are the
    account's every region (RDS DescribeRegions), or `regions` and the spec's own when given.
    Raises ObserveError (fail closed), also when the account's regions cannot be read."""
    from reconciler.state.observe import observe

    reading = drift_reading(loaded, clients, regions, parallelism=parallelism)
    started = datetime.now(UTC)  # the observation's "now": the report's read_at
    observed = observe(
        reading.scope, clients, parallelism=parallelism, progress=progress, now=started
    )
    return drift_of(reading, observed, started)


@dataclass(frozen=True)
class DriftReading:
    """What drift reads (the spec with its fleets' members, every instance of `scope`'s
    regions) and how the report names that coverage: all before the observation."""

    loaded: LoadedSpec
    scope: ReadScope
    regions_scope: RegionsScope


def drift_reading(
    loaded: LoadedSpec, clients: CloudClients, regions: Sequence[str], *, parallelism: int
) -> DriftReading:
    from reconciler.app.fleets import with_fleets
    from reconciler.state.observe import ReadScope

    loaded = with_fleets(loaded, clients, parallelism=parallelism)  # fleets' members: managed
    read, scope_of = coverage_regions(loaded, clients, regions)
    scope = ReadScope(spec=loaded.spec, regions=read, all_instances=True)
    return DriftReading(loaded, scope, scope_of)


def drift_of(reading: DriftReading, observed: ObservedState, started: datetime) -> DriftReport:
    """The report of what `reading` observed, read at `started`."""
    from reconciler.app.fleets import with_fleet_origins
    from reconciler.drift.model import RunContext
    from reconciler.drift.report import build_drift

    loaded = reading.loaded
    if observed.read_at is None:
        observed = observed.model_copy(update={"read_at": utc_text(started)})
    context = RunContext(
        tool_version=tool_version(),
        spec_digest=spec_digest(loaded.files),
        regions_scope=reading.regions_scope,
    )
    report = build_drift(
        loaded.spec,
        observed,
        locations=loaded.locations,
        spec_files=loaded.files,
        context=context,
    )
    return with_fleet_origins(loaded, report)


def coverage_regions(
    loaded: LoadedSpec, clients: CloudClients, given: Sequence[str]
) -> tuple[tuple[str, ...], RegionsScope]:
    """The regions whose every instance drift reads beyond the spec's: those given, else
    every region of the account, asked of the spec's default region."""
    from reconciler.cloud.rds_regions import rds_regions
    from reconciler.drift.model import RegionsScope
    from reconciler.errors import CloudCallError, ObserveError

    if given:
        return tuple(dict.fromkeys(given)), RegionsScope.NARROWED
    try:
        return rds_regions(clients, loaded.spec.defaults.region), RegionsScope.ALL
    except CloudCallError as error:
        raise ObserveError(
            f"reading the account's regions failed: {error} (drift covers every region; "
            "--region narrows it)"
        ) from error


def utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, as ObservedState.read_at is written."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def spec_digest(files: Sequence[str]) -> str:
    """`sha256:<hex>` over the spec files in load order: for each, its path as listed in
    `spec_files`, a NUL, the sha256 hex of its bytes and a newline (docs/drift-format.md)."""
    whole = hashlib.sha256()
    for name in files:
        content = hashlib.sha256(Path(name).read_bytes()).hexdigest()
        whole.update(f"{name}\0{content}\n".encode())
    return "sha256:" + whole.hexdigest()


def tool_version() -> str:
    """The version `reconciler --version` prints (the installed package's metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        from reconciler import __version__

        return __version__


def with_scope(report: DriftReport, scope: RegionsScope) -> DriftReport:
    """The report with the whole run's regions scope (a shard reads some regions of it; an
    account's declared `regions:` make it `spec`)."""
    return report.model_copy(update={"run": report.run.model_copy(update={"regions_scope": scope})})
