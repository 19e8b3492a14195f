"""load -> observe -> plan, as functions that print nothing (docs/architecture.md).

    loaded = load(paths, region)                           # SpecError
    observed, plan = observe_and_plan(loaded, clients)     # ObserveError

This module imports nothing else of reconciler.app, so every other use case (saved plans
included) may import it without a cycle.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.cloud.clients import CloudClients
    from reconciler.core.facts import ObservedState
    from reconciler.plan.model import Plan
    from reconciler.spec.loader import LoadedSpec

DEFAULT_PATHS = ("specs",)
"""Where the spec is read from when no PATH is given."""

Progress = Callable[[int, int], None]
"""(finished, submitted) reads, as observation goes."""


def load(paths: Sequence[str], region: str | None = None) -> LoadedSpec:
    """The spec at `paths` (default specs/) as one configuration. `region` (the --region
    option) fills defaults.region where no file set it (the loader does, and checks it).
    Raises SpecError with every problem."""
    from reconciler.spec.loader import load_spec

    return load_spec(tuple(paths) or DEFAULT_PATHS, default_region=region)


def observe(
    loaded: LoadedSpec,
    clients: CloudClients,
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
) -> ObservedState:
    """Read what the spec needs from the cloud. Raises ObserveError (fail closed)."""
    from reconciler.state.observe import observe as observe_cloud

    return observe_cloud(loaded.spec, clients, parallelism=parallelism, progress=progress)


def new_plan_id() -> str:
    """A fresh random plan id (docs/plan-format.md: `plan_id`)."""
    return secrets.token_hex(16)


def make_plan(
    loaded: LoadedSpec,
    observed: ObservedState,
    *,
    now: datetime | None = None,
    plan_id: str | None = None,
    with_spec_digest: bool = True,
) -> Plan:
    """The plan from `observed` to the spec, stamped with `now` (default: the clock), with
    `plan_id` (default: a new random one; apply of a saved plan passes the saved plan's, so the
    fresh plan's ClientTokens are the saved plan's). `with_spec_digest=False`: a part whose
    caller stamps the whole spec's digest (planner.build_plan)."""
    from reconciler.app.fleets import with_fleet_notes
    from reconciler.core.collector import collector_paused
    from reconciler.plan.planner import build_plan

    moment = (now or datetime.now(UTC)).astimezone(UTC)
    created_at = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    with collector_paused():  # the fingerprint dumps every fact: no cycle, much to allocate
        plan = build_plan(
            loaded.spec,
            observed,
            created_at=created_at,
            locations=loaded.locations,
            plan_id=plan_id or new_plan_id(),
            with_spec_digest=with_spec_digest,
        )
        return with_fleet_notes(loaded, plan, with_spec_digest=with_spec_digest)


def observe_and_plan(
    loaded: LoadedSpec,
    clients: CloudClients,
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
    now: datetime | None = None,
    plan_id: str | None = None,
    with_spec_digest: bool = True,
) -> tuple[ObservedState, Plan]:
    """observe() then make_plan(): the facts and the plan made from them (the fleets read
    and expanded first: app/fleets.py)."""
    from reconciler.app.fleets import with_fleets

    loaded = with_fleets(loaded, clients, parallelism=parallelism)
    observed = observe(loaded, clients, parallelism=parallelism, progress=progress)
    plan = make_plan(loaded, observed, now=now, plan_id=plan_id, with_spec_digest=with_spec_digest)
    return observed, plan
