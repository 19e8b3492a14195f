"""import: read what exists in some regions and make the spec files for it, with a header that
says what `reconciler plan` plans on them (computed by planning them against the same
reading), as functions that print nothing (docs/architecture.md). The CLI writes the files."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.app.plan import Progress
    from reconciler.cloud.clients import CloudClients
    from reconciler.core.facts import ObservedState
    from reconciler.spec.models import Spec


@dataclass(frozen=True)
class ImportedSpec:
    """What import makes: one file per name (00-defaults.yaml, keys.yaml, one <region>.yaml
    per region with something to import), the same spec as one YAML document (what stdout
    gets without -o), the regions read and those of them with nothing to import."""

    files: dict[str, str]
    document: str
    regions: tuple[str, ...] = ()
    empty_regions: tuple[str, ...] = ()


MAX_SETTLING_ROUNDS = 64
"""Rounds of leaving out what the draft spec plans (each leaves out one more resource at
least); a world needing more keeps the rest, and the header says what plan does then."""


def import_regions(given: Sequence[str]) -> list[str]:
    """The regions --region names, once each in their order (none: every region of the
    account, read by import_spec). Raises ReconcilerError naming the first that is not a
    region, before any read."""
    from reconciler.spec.regions import region_problem

    regions = list(dict.fromkeys(given))
    for region in regions:
        problem = region_problem(region)
        if problem:
            raise ReconcilerError(f"--region {region}: {problem}")
    return regions


def regions_to_read(clients: CloudClients, given: Sequence[str], home: str) -> list[str]:
    """`given`, else every region of the account (RDS DescribeRegions, asked of `home`), with
    the spec's default region first: `home` when the account has it, else the first."""
    if given:
        return list(given)
    from reconciler.cloud.rds_regions import rds_regions

    every = list(rds_regions(clients, home))
    first = home if home in every else every[0]
    return [first, *(r for r in every if r != first)]


def import_spec(
    clients: CloudClients,
    regions: Sequence[str],
    *,
    home: str | None = None,
    parallelism: int = 16,
    progress: Progress | None = None,
    as_fleet: bool = False,
) -> ImportedSpec:
    """Read every instance of `regions` (the first one is the spec's default; none given:
    every region of the account, asked of `home`, default cn-hangzhou), the KMS keys they use
    and the RAM role RDS uses, and make the spec of them that plans no change: what planning
    the draft changes or refuses is left out, as comments saying why (drift/importer.py
    `held_back`). `as_fleet`: read every instance's tags too, and write a fleet where a tag
    explains the instances (docs/import.md, "--as-fleet"). Raises ObserveError (fail closed),
    or ReconcilerError when the files made do not load as one valid spec (a bug)."""
    from reconciler.drift.importer import (
        Held,
        held_back,
        import_document,
        import_files,
        plan_imported,
        planned_lines,
        regions_with_something,
    )
    from reconciler.spec.models import Defaults, RamSpec, Spec
    from reconciler.state.observe import ReadScope, observe

    wanted = regions_to_read(clients, regions, home or Defaults().region)
    scope = ReadScope(
        spec=Spec(defaults=Defaults(region=wanted[0])),
        regions=tuple(wanted),
        all_instances=True,
        all_engines=True,
        keys_in_use=True,
        ram=RamSpec(),
        tde_of_every_instance=True,
    )
    observed = observe(scope, clients, parallelism=parallelism, progress=progress)
    tags = instance_tags(clients, observed, parallelism) if as_fleet else None
    held = Held()
    for _ in range(MAX_SETTLING_ROUNDS):
        draft = _check(import_files(observed, wanted, (), held, tags))
        more = held_back(plan_imported(draft, observed, tags), held)
        if more is None:
            break
        held = more
    plan = plan_imported(_check(import_files(observed, wanted, (), held, tags)), observed, tags)
    planned = planned_lines(plan)
    full = set(regions_with_something(observed, wanted, held))
    return ImportedSpec(
        import_files(observed, wanted, planned, held, tags),
        import_document(observed, wanted, planned, held, tags),
        tuple(wanted),
        tuple(r for r in sorted(wanted) if r not in full),
    )


def instance_tags(
    clients: CloudClients, observed: ObservedState, parallelism: int
) -> dict[str, dict[str, str]]:
    """Every tag of every instance read (ListTagResources, per region; cloud/rds_tags.py).
    Raises ObserveError when a read fails: a tag not read never becomes "no tag"."""
    from reconciler.cloud import rds_tags
    from reconciler.errors import CloudCallError, ObserveError

    by_region: dict[str, list[str]] = {}
    for instance in observed.instances.values():
        by_region.setdefault(instance.region, []).append(instance.instance_id)
    found: dict[str, dict[str, str]] = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            for part in pool.map(
                lambda r: rds_tags.instance_tags(clients, r, by_region[r]), sorted(by_region)
            ):
                found.update(part)
    except CloudCallError as error:
        raise ObserveError(f"reading the instances' tags failed: {error}") from error
    return found


def _check(files: dict[str, str]) -> Spec:
    """The files must load as one valid configuration; anything else is a bug, said so."""
    from reconciler.errors import SpecError
    from reconciler.spec.loader import load_spec

    with tempfile.TemporaryDirectory(prefix="reconciler-import-") as folder:
        for name, text in files.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        try:
            return load_spec([folder]).spec
        except SpecError as error:
            raise ReconcilerError(
                "the imported YAML does not validate (please report it): "
                + "; ".join(d.message for d in error.diagnostics[:5])
            ) from error
