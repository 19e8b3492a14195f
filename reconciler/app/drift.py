"""drift: read every PostgreSQL instance of the spec's regions and report how the cloud differs
from the spec, as a function that prints nothing (docs/architecture.md; the report's format:
docs/drift-format.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.app.plan import Progress
    from reconciler.cloud.clients import CloudClients
    from reconciler.drift.model import DriftReport
    from reconciler.spec.loader import LoadedSpec


def drift_report(
    loaded: LoadedSpec,
    clients: CloudClients,
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
) -> DriftReport:
    """Observe the spec's needs and the encryption of every instance of its regions (managed
    or not: the coverage counts them), then compare. Raises ObserveError (fail closed)."""
    from reconciler.drift.report import build_drift
    from reconciler.state.observe import ReadScope, observe

    scope = ReadScope(spec=loaded.spec, all_instances=True)
    observed = observe(scope, clients, parallelism=parallelism, progress=progress)
    return build_drift(loaded.spec, observed, locations=loaded.locations, spec_files=loaded.files)
