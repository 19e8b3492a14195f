"""What the planner accumulates while it walks the spec: changes, dependency edges, refusals,
warnings. Plain, mutable, private to one build_plan call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.facts import ObservedState
from reconciler.plan.actions import RefusalCode, WarningCode
from reconciler.plan.model import Change, PlanWarning, Refusal
from reconciler.spec.models import Spec

Locations = Mapping[Any, Any]
"""Where the spec wrote things, as the loader gives it (LoadedSpec.locations): dotted spec paths
(`instances.pgm-x.encryption.key`, `defaults.account`) or addresses -> an object whose str() is
`file:line:col`. Tuple keys (`("instances", "pgm-x")`) are accepted too."""


@dataclass
class PlanContext:
    spec: Spec
    observed: ObservedState
    locations: Locations | None = None
    changes: dict[str, Change] = field(default_factory=dict)
    edges: set[tuple[str, str]] = field(default_factory=set)
    """(first, then): `then` depends on `first`. Edges to addresses without a change are
    dropped when the plan is assembled."""
    refusals: set[Refusal] = field(default_factory=set)
    warnings: set[PlanWarning] = field(default_factory=set)
    fingerprint: str = ""
    """The observed state's fingerprint, computed once."""
    token_seed: str = ""
    """What ClientTokens derive from: the plan's plan_id (operations.client_token says why)."""

    def cite(self, *path: Any) -> str | None:
        """file:line:col of the nearest written node on `path` (never the document root)."""
        if not self.locations:
            return None
        while path:
            found = self.locations.get(".".join(str(p) for p in path))
            if found is None:
                found = self.locations.get(tuple(path))
            if found is not None:
                return str(found)
            path = path[:-1]
        return None

    def _with_location(self, message: str, spec_path: tuple[Any, ...]) -> str:
        where = self.cite(*spec_path) if spec_path else None
        return f"{message} ({where})" if where else message

    def refuse(
        self, address: str, code: RefusalCode, message: str, spec_path: tuple[Any, ...] = ()
    ) -> None:
        self.refusals.add(
            Refusal(address=address, code=code, message=self._with_location(message, spec_path))
        )

    def warn(self, address: str, code: WarningCode, message: str) -> None:
        self.warnings.add(PlanWarning(address=address, code=code, message=message))

    def add(self, change: Change) -> None:
        self.changes[change.address] = change

    def edge(self, first: str | None, then: str | None) -> None:
        if first and then and first != then:
            self.edges.add((first, then))

    def refused(self, address: str) -> bool:
        return any(r.address == address for r in self.refusals)
