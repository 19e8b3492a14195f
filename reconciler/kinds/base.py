"""ResourceKind: what the kind-agnostic engines (apply, saved plans, drift, the plan's digest
and order) ask of a resource kind, so that no module outside reconciler/kinds dispatches on an
address prefix (docs/architecture.md, "How to add a kind").

A kind's methods import their bodies lazily: importing the registry loads no SDK, spec or
planner, so apply and the planner may both ask it (tests/unit/apply/test_purity.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.apply.compare import ServiceKeys
    from reconciler.cloud.clients import CloudClients
    from reconciler.core.api_actions import ApiAction
    from reconciler.core.facts import ObservedInstance, ObservedState
    from reconciler.core.ops import Op
    from reconciler.drift.finding import Finding
    from reconciler.drift.model import Control, Severity
    from reconciler.drift.yaml_blocks import ImportContext, YamlBlock
    from reconciler.kinds.body import ChangeBody
    from reconciler.kinds.write_rule import WriteRule
    from reconciler.plan.context import PlanContext
    from reconciler.plan.inputs import PlanInputs
    from reconciler.plan.model import Change, Plan, Refusal
    from reconciler.spec.models import Spec
    from reconciler.state.reads import Reader, ReadScope


class ResourceKind(ABC):
    """One resource kind. Subclasses set `name` and `prefixes` and implement the abstract
    methods; the others have the answer most kinds give."""

    name: str
    """The kind's name, e.g. `rds_encryption`."""
    prefixes: tuple[str, ...]
    """The address prefixes (the part before the first `.`) it owns, in apply order."""
    runs_in_parallel: bool = False
    """Apply runs its changes alongside others (each waits for its own task)."""
    writes_ram: bool = False
    """A write of it changes what RAM allows (apply re-reads RAM before its guards)."""

    def owns(self, address: str) -> bool:
        return address.partition(".")[0] in self.prefixes

    # --- the plan's digest (plan/digest.py) -----------------------------------------------

    @abstractmethod
    def facts(self, observed: ObservedState, address: str) -> dict[str, Any]:
        """The observed facts a change of `address` rests on, as plain data."""

    # --- apply (apply/compare.py, apply/executor.py) --------------------------------------

    @abstractmethod
    def moved(
        self, change: Change, clients: CloudClients, ram_region: str, service_keys: ServiceKeys
    ) -> str | None:
        """What differs between the target now and the change's `before`; None when nothing."""

    def target_problem(self, change: Change) -> str | None:
        """Why the change's writes aim at another resource than its address names; None."""
        return None

    # --- saved plans (app/saved_plan.py, app/apply.py) ------------------------------------

    @abstractmethod
    def declared(self, spec: Spec, address: str) -> bool:
        """Whether `address` names a resource this spec manages."""

    @abstractmethod
    def achieved(
        self, change: Change, params: list[dict[str, Any]], observed: ObservedState
    ) -> bool:
        """Whether the cloud shows what the change's operations (resolved `params`) set."""

    def live_facts_lines(self, facts: dict[str, Any]) -> list[str]:
        """The facts besides the view a change rests on, as they are now (from `facts`)."""
        return ["facts besides the resource's own view changed (e.g. a related resource)"]

    def observed_attr(self, address: str, attr: str, observed: ObservedState) -> Any:
        """The attribute `attr` of the resource at `address` as observed; None when unknown."""
        return None

    def still_switching(
        self,
        change: Change,
        observed: ObservedState,
        last_params: Callable[[], dict[str, Any]],
    ) -> tuple[ObservedInstance, str] | None:
        """(instance, target) when an earlier run's write of `change` is still under way;
        `last_params` gives the resolved parameters of the change's last operation."""
        return None

    # --- drift (drift/findings.py, drift/report.py) ----------------------------------------

    @abstractmethod
    def changed_finding(self, change: Change, observed: ObservedState) -> Finding:
        """The finding of a change of a resource that exists."""

    def missing_message(self, change: Change) -> str:
        """What a create of a missing resource means, for a drift finding."""
        return change.reason

    def refusal_severity(
        self, refusal: Refusal, observed: ObservedState, severity: Severity
    ) -> Severity:
        """The severity of a refusal's finding at an address of this kind."""
        return not_at_an_instance(refusal, severity)

    def spec_location(self, address: str, locations: Mapping[str, Any]) -> Any:
        """Where in the spec the resource at `address` is declared; None when nowhere."""
        return locations.get(address)

    def controls(self, address: str, paths: Sequence[str]) -> tuple[Control, ...]:
        """The compliance controls a drift item at `address` evidences (drift/controls.py),
        given the paths of its field changes; none by default."""
        return ()

    # --- kplan (issue 17) ---------------------------------------------------------------------

    @abstractmethod
    def plan(self, ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
        """Add the kind's changes, edges, refusals and warnings to `ctx` (plan/planner.py calls
        each kind in apply order); returns `inputs` with what later kinds need of this one."""

    def after_guards(self, ctx: PlanContext, inputs: PlanInputs) -> None:
        """Add what depends on the engine's cross-kind guards (KeyInUse), run after them."""
        return None

    # --- kread (issue 17) ---------------------------------------------------------------------
    # The reads (state/observe.py asks every kind, in registry order, then merges the fields).

    @abstractmethod
    def start_reads(self, reader: Reader, scope: ReadScope) -> None:
        """Submit the first round of reads `scope` needs of this kind (kinds/<kind>/read.py)."""

    def follow_up_reads(self, reader: Reader, scope: ReadScope) -> None:
        """Submit the reads that need every first-round answer (of any kind); none by default."""
        return None

    @abstractmethod
    def observed_fields(self, reader: Reader, scope: ReadScope) -> dict[str, Any]:
        """This kind's fields of ObservedState, from the facts read (no two kinds share one)."""

    # --- kyaml (issue 17) ------------------------------------------------------------------

    def drift_findings(self, spec: Spec, plan: Plan, observed: ObservedState) -> list[Finding]:
        """Drift findings beyond the plan's changes and refusals (drift/findings.py merges
        them): its warnings at this kind's addresses, resources at risk although nothing in
        the spec's terms differs, resources the spec does not manage."""
        return []

    @abstractmethod
    def api_actions(self) -> tuple[ApiAction, ...]:
        """Every API action the kind's reads and writes call, with the commands (so the
        modes) that call it; its writes are named by their `Op` (reconciler/permissions.py
        derives the policy documents from every kind's)."""

    def to_yaml(self, context: ImportContext) -> YamlBlock | None:
        """Its block of the spec `reconciler import` writes, from `context.observed` and the
        blocks of the kinds after it in apply order (written first: they refer to it); None
        when it writes none."""
        return None

    # --- kafter (issue 17) ------------------------------------------------------------------
    # A change's `after` and `before` as typed bodies (kinds/body.py, kinds/<kind>/body.py).

    @abstractmethod
    def body_models(self, address: str) -> tuple[type[ChangeBody], type[ChangeBody]]:
        """(the model of `after`, the model of `before`) of a change at `address`."""

    def after(self, change: Change) -> ChangeBody:
        """The change's `after` as the kind's typed body; ChangeBodyError (naming the address
        and the field) when it is absent or not what the planner writes."""
        return self.body_models(change.address)[0].of(change, "after")

    def before(self, change: Change) -> ChangeBody | None:
        """The change's `before` as the kind's typed body; None when the resource did not
        exist; ChangeBodyError when it is not what the planner writes."""
        if change.before is None:
            return None
        return self.body_models(change.address)[1].of(change, "before")

    def maintenance_window(self, change: Change) -> str | None:
        """The maintenance window a scheduled change runs in, as read; None when the change
        is not scheduled or the window is unknown."""
        return None

    # --- kwrites (issue 17) ----------------------------------------------------------------

    @abstractmethod
    def writes(self) -> Mapping[Op, WriteRule]:
        """Its writes by `Op` (kinds/<kind>/writes.py): the cloud function, idempotent or
        not, what the answer produces, how a lost answer is read back, and what apply does
        around and after the write (apply/calls.py is the union of every kind's)."""


def not_at_an_instance(refusal: Refusal, severity: Severity) -> Severity:
    """A key RDS cannot use is high, not critical, where no instance is at stake yet (the
    refusal is at a key, RAM or the account, not at an instance)."""
    from reconciler.drift.model import Severity
    from reconciler.plan.actions import RefusalCode

    return Severity.HIGH if refusal.code is RefusalCode.KEY_NOT_USABLE else severity
