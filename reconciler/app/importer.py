"""import: read what exists in some regions and make the spec files for it, with a header that
says what `reconciler plan` plans on them (computed by planning them against the same
reading), as functions that print nothing (docs/architecture.md). The CLI writes the files."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.app.plan import Progress
    from reconciler.cloud.clients import CloudClients
    from reconciler.spec.models import Spec


@dataclass(frozen=True)
class ImportedSpec:
    """What import makes: one file per name (00-defaults.yaml, keys.yaml, one <region>.yaml
    per region), and the same spec as one YAML document (what stdout gets without -o)."""

    files: dict[str, str]
    document: str


def import_regions(given: Sequence[str]) -> list[str]:
    """The regions to read: those given, once each in their order, else the spec language's
    default region (Defaults.region). Raises ReconcilerError naming the first that is not a
    region, before any read."""
    from reconciler.spec.models import Defaults
    from reconciler.spec.regions import region_problem

    regions = list(dict.fromkeys(given)) or [Defaults().region]
    for region in regions:
        problem = region_problem(region)
        if problem:
            raise ReconcilerError(f"--region {region}: {problem}")
    return regions


def import_spec(
    clients: CloudClients,
    regions: Sequence[str],
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
) -> ImportedSpec:
    """Read every instance of `regions` (the first one is the spec's default), the KMS keys
    they use and the RAM role RDS uses, and make the spec of them. Raises ObserveError (fail
    closed), or ReconcilerError when the files made do not load as one valid spec (a bug)."""
    from reconciler.drift.importer import (
        import_document,
        import_files,
        plan_imported,
        planned_lines,
    )
    from reconciler.spec.models import Defaults, RamSpec, Spec
    from reconciler.state.observe import ReadScope, observe

    wanted = list(regions)
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
    planned = planned_lines(plan_imported(_check(import_files(observed, wanted)), observed))
    return ImportedSpec(
        import_files(observed, wanted, planned), import_document(observed, wanted, planned)
    )


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
