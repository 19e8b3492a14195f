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
    from reconciler.drift.import_accounts import AccountReading
    from reconciler.drift.importer import Reading
    from reconciler.spec.loader import LoadedSpec
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
    explains the instances (README, "Import as fleets"). Raises ObserveError (fail closed),
    or ReconcilerError when the files made do not load as one valid spec (a bug)."""
    from reconciler.drift.importer import (
        import_document,
        import_files,
        import_state,
        plan_imported,
        planned_lines,
        regions_with_something,
    )

    got = read_and_settle(
        clients, regions, home=home, parallelism=parallelism, progress=progress, as_fleet=as_fleet
    )
    observed, wanted, held, tags = got.observed, got.regions, got.held, got.tags
    imported = got.imported or import_state(observed, wanted, held, tags)
    plan = got.plan  # settled: its draft is these files, header aside, checked and planned
    if plan is None:
        draft = import_files(observed, wanted, (), held, tags, imported)
        plan = plan_imported(_check(draft), observed, tags)
    planned = planned_lines(plan)
    full = set(regions_with_something(observed, wanted, held, imported))
    return ImportedSpec(
        import_files(observed, wanted, planned, held, tags, imported),
        import_document(observed, wanted, planned, held, tags, imported),
        tuple(wanted),
        tuple(r for r in sorted(wanted) if r not in full),
    )


def read_and_settle(
    clients: CloudClients,
    regions: Sequence[str],
    *,
    home: str | None = None,
    parallelism: int = 16,
    progress: Progress | None = None,
    as_fleet: bool = False,
) -> Reading:
    """One account's reading for import_spec(), and what its spec leaves out so that it plans
    no change (settled by planning the draft, at most MAX_SETTLING_ROUNDS times)."""
    from reconciler.drift.importer import (
        Held,
        Reading,
        held_back,
        import_files,
        import_state,
        plan_imported,
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
        imported = import_state(observed, wanted, held, tags)
        draft = _check(import_files(observed, wanted, (), held, tags, imported))
        plan = plan_imported(draft, observed, tags)
        more = held_back(plan, held)
        if more is None:
            return Reading(observed, wanted, held, tags, imported, plan)
        held = more
    return Reading(observed, wanted, held, tags)


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


def import_accounts(
    base: CloudClients,
    loaded: LoadedSpec,
    names: Sequence[str],
    regions: Sequence[str],
    *,
    home: str | None = None,
    parallelism: int = 16,
    progress: Progress | None = None,
    as_fleet: bool = False,
) -> ImportedSpec:
    """import_spec() of each account `names` picks of `loaded`'s `accounts:` (none: every one),
    each read with its own credentials (app/accounts.py, as plan reads it) in `regions`, else
    its declared `regions`, else every region it has; written as one spec (drift/
    import_accounts.py) checked by planning each account's part against its reading. Every
    account is connected (its role assumed, its account_id checked) before any is read.
    Raises ReconcilerError naming the account."""
    from reconciler.app.accounts import connect_accounts
    from reconciler.drift.import_accounts import AccountReading, accounts_document, accounts_files

    chosen = pick_accounts(loaded, names)
    parts = []
    for part in connect_accounts(chosen, base):
        account = chosen.spec.accounts[part.name]
        try:
            reading = read_and_settle(
                part.clients,
                tuple(regions) or account.regions,
                home=home,
                parallelism=parallelism,
                progress=progress,
                as_fleet=as_fleet,
            )
        except ReconcilerError as error:
            said = f"account {part.name}: "
            if str(error).startswith(said):
                raise
            raise ReconcilerError(f"{said}{error}") from error
        entry = account.model_dump(mode="json", exclude_defaults=True)
        parts.append(AccountReading(part.name, entry, reading))
    default = parts[0].reading.regions[0]
    planned = _accounts_planned(accounts_files(parts, default), parts)
    return ImportedSpec(
        accounts_files(parts, default, planned),
        accounts_document(parts, default, planned),
        tuple(f"{p.name}/{r}" for p in parts for r in p.reading.regions),
    )


def pick_accounts(loaded: LoadedSpec, names: Sequence[str]) -> LoadedSpec:
    """`loaded` with only the accounts `names` gives (none: all), in the file's order. Raises
    ReconcilerError, before any read, for a file without accounts or a name it lacks."""
    import dataclasses

    declared = list(loaded.spec.accounts)
    if not declared:
        raise ReconcilerError(
            'the --accounts file declares no accounts (an `accounts:` block; README, "Several '
            'accounts")'
        )
    for name in names:
        if name not in declared:
            raise ReconcilerError(
                f"--account {name}: not declared in the --accounts file (declared: "
                f"{', '.join(declared)})"
            )
    kept = {n: a for n, a in loaded.spec.accounts.items() if not names or n in names}
    return dataclasses.replace(loaded, spec=loaded.spec.model_copy(update={"accounts": kept}))


def _accounts_planned(files: dict[str, str], parts: list[AccountReading]) -> list[str]:
    """What plan plans on the accounts' files: each account's part planned against its own
    reading (as plan plans each account alone), said per account where it plans something."""
    from reconciler.drift.importer import plan_imported, planned_lines
    from reconciler.spec.accounts import account_spec

    spec = _check(files)
    lines: list[str] = []
    for part in parts:
        got = part.reading
        plan = plan_imported(account_spec(spec, part.name), got.observed, got.tags)
        lines += [f"{part.name}: {line}" for line in planned_lines(plan)]
    if all(line.endswith("plans no changes (as import read the cloud).") for line in lines):
        return ["`reconciler plan` on these files plans no changes (as import read the cloud)."]
    return lines
