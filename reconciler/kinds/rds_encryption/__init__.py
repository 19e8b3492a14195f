"""The kind `rds_encryption`: the disk encryption of one RDS instance (address
`rds_encryption.<instance id>`). Its plan rules are in plan.py, desired.py and guards.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.kinds.base import ResourceKind

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


class RdsEncryption(ResourceKind):
    name = "rds_encryption"
    prefixes = ("rds_encryption",)
    runs_in_parallel = True

    def facts(self, observed: ObservedState, address: str) -> dict[str, Any]:
        from reconciler.kinds.rds_encryption.digest import facts

        return facts(observed, address.partition(".")[2])

    def moved(
        self, change: Change, clients: CloudClients, ram_region: str, service_keys: ServiceKeys
    ) -> str | None:
        from reconciler.kinds.rds_encryption.apply import moved

        return moved(change, clients, service_keys)

    def target_problem(self, change: Change) -> str | None:
        from reconciler.kinds.rds_encryption.apply import target_problem

        return target_problem(change)

    def declared(self, spec: Spec, address: str) -> bool:
        return address.partition(".")[2] in spec.instances

    def achieved(
        self, change: Change, params: list[dict[str, Any]], observed: ObservedState
    ) -> bool:
        from reconciler.kinds.rds_encryption.saved import achieved

        return achieved(change.address.partition(".")[2], params, observed)

    def live_facts_lines(self, facts: dict[str, Any]) -> list[str]:
        from reconciler.kinds.rds_encryption.saved import live_facts_lines

        return live_facts_lines(facts) or super().live_facts_lines(facts)

    def still_switching(
        self,
        change: Change,
        observed: ObservedState,
        last_params: Callable[[], dict[str, Any]],
    ) -> tuple[ObservedInstance, str] | None:
        from reconciler.kinds.rds_encryption.saved import still_switching

        return still_switching(change, observed, last_params)

    def changed_finding(self, change: Change, observed: ObservedState) -> Finding:
        from reconciler.kinds.rds_encryption.drift import encryption_changed

        return encryption_changed(change, observed)

    def refusal_severity(
        self, refusal: Refusal, observed: ObservedState, severity: Severity
    ) -> Severity:
        from reconciler.kinds.rds_encryption.drift import refusal_severity

        return refusal_severity(refusal, observed, severity)

    # --- kplan (issue 17) ---------------------------------------------------------------------

    def plan(self, ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
        from reconciler.kinds.rds_encryption import plan

        return plan.plan(ctx, inputs)

    def after_guards(self, ctx: PlanContext, inputs: PlanInputs) -> None:
        from reconciler.kinds.rds_encryption import plan

        plan.after_guards(ctx, inputs)

    # --- kread (issue 17) ---------------------------------------------------------------------

    def start_reads(self, reader: Reader, scope: ReadScope) -> None:
        from reconciler.kinds.rds_encryption.read import start_reads

        start_reads(reader, scope)

    def observed_fields(self, reader: Reader, scope: ReadScope) -> dict[str, Any]:
        from reconciler.kinds.rds_encryption.read import observed_fields

        return observed_fields(reader, scope)

    # --- kyaml (issue 17) ------------------------------------------------------------------

    def drift_findings(self, spec: Spec, plan: Plan, observed: ObservedState) -> list[Finding]:
        from reconciler.drift.model import Severity
        from reconciler.kinds.rds_encryption import drift

        warnings = [w for w in plan.warnings if self.owns(w.address)]
        return [
            *drift.from_warnings(warnings, observed),
            *drift.at_risk(spec, observed),
            *drift.unmanaged(observed, Severity(spec.defaults.drift.unmanaged_unencrypted)),
        ]

    def api_actions(self) -> tuple[ApiAction, ...]:
        from reconciler.kinds.rds_encryption.actions import ACTIONS

        return ACTIONS

    def to_yaml(self, context: ImportContext) -> YamlBlock:
        from reconciler.kinds.rds_encryption.to_yaml import to_yaml

        return to_yaml(context)

    # --- kafter (issue 17) ------------------------------------------------------------------

    def body_models(self, address: str) -> tuple[type[ChangeBody], type[ChangeBody]]:
        from reconciler.kinds.rds_encryption.body import InstanceAfter, InstanceBefore

        return InstanceAfter, InstanceBefore

    def maintenance_window(self, change: Change) -> str | None:
        from reconciler.kinds.rds_encryption.body import InstanceAfter

        return InstanceAfter.of(change).maintenance_window if change.scheduled else None

    # --- kwrites (issue 17) ----------------------------------------------------------------

    def writes(self) -> Mapping[Op, WriteRule]:
        from reconciler.kinds.rds_encryption.writes import WRITES

        return WRITES

    def controls(self, address: str, paths: Sequence[str]) -> tuple[Control, ...]:
        from reconciler.drift.controls import DISK_ENCRYPTION

        return DISK_ENCRYPTION


KIND = RdsEncryption()
