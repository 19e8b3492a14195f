"""The kind `rds_tde`: transparent data encryption (TDE) of one RDS PostgreSQL instance (address
`rds_tde.<instance id>`), managed where the spec sets `tde` (docs/architecture.md, "How to add
a kind"). TDE is one-way: once on, RDS cannot turn it off."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.kinds.base import ResourceKind

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.apply.compare import ServiceKeys
    from reconciler.cloud.clients import CloudClients
    from reconciler.core.api_actions import ApiAction
    from reconciler.core.facts import ObservedState
    from reconciler.core.ops import Op
    from reconciler.drift.finding import Finding
    from reconciler.drift.model import Control
    from reconciler.drift.yaml_blocks import ImportContext, YamlBlock
    from reconciler.kinds.body import ChangeBody
    from reconciler.kinds.write_rule import WriteRule
    from reconciler.plan.context import PlanContext
    from reconciler.plan.inputs import PlanInputs
    from reconciler.plan.model import Change, Plan
    from reconciler.spec.models import Spec
    from reconciler.state.reads import Reader, ReadScope


class RdsTde(ResourceKind):
    name = "rds_tde"
    prefixes = ("rds_tde",)
    runs_in_parallel = True

    def declared(self, spec: Spec, address: str) -> bool:
        instance_id = address.partition(".")[2]
        return instance_id in spec.instances and spec.tde_of(instance_id) is not None

    # --- tdeplan: plan, writes, apply, bodies, digest ------------------------------------------

    def facts(self, observed: ObservedState, address: str) -> dict[str, Any]:
        from reconciler.kinds.rds_tde.digest import facts

        return facts(observed, address.partition(".")[2])

    def moved(
        self, change: Change, clients: CloudClients, ram_region: str, service_keys: ServiceKeys
    ) -> str | None:
        from reconciler.kinds.rds_tde.apply import moved

        return moved(change, clients, service_keys)

    def target_problem(self, change: Change) -> str | None:
        from reconciler.kinds.rds_tde.apply import target_problem

        return target_problem(change)

    def achieved(
        self, change: Change, params: list[dict[str, Any]], observed: ObservedState
    ) -> bool:
        from reconciler.kinds.rds_tde.saved import achieved

        return achieved(change.address.partition(".")[2], params, observed)

    def plan(self, ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
        from reconciler.kinds.rds_tde import plan

        return plan.plan(ctx, inputs)

    def body_models(self, address: str) -> tuple[type[ChangeBody], type[ChangeBody]]:
        from reconciler.kinds.rds_tde.body import TdeAfter, TdeBefore

        return TdeAfter, TdeBefore

    def writes(self) -> Mapping[Op, WriteRule]:
        from reconciler.kinds.rds_tde.writes import WRITES

        return WRITES

    # --- tdeobs: reads, drift, import, permissions of the reads --------------------------------

    def start_reads(self, reader: Reader, scope: ReadScope) -> None:
        from reconciler.kinds.rds_tde.read import start_reads

        start_reads(reader, scope)

    def follow_up_reads(self, reader: Reader, scope: ReadScope) -> None:
        from reconciler.kinds.rds_tde.read import follow_up_reads

        follow_up_reads(reader, scope)

    def observed_fields(self, reader: Reader, scope: ReadScope) -> dict[str, Any]:
        # Its facts are fields of each ObservedInstance (kinds/rds_encryption/read.py builds
        # them with `facts.instance_extras`) and keys in keys_by_id (kinds/kms_key sets it).
        return {}

    def api_actions(self) -> tuple[ApiAction, ...]:
        from reconciler.kinds.rds_tde.actions import ACTIONS

        return ACTIONS

    def changed_finding(self, change: Change, observed: ObservedState) -> Finding:
        from reconciler.kinds.rds_tde.drift import tde_changed

        return tde_changed(change, observed)

    def drift_findings(self, spec: Spec, plan: Plan, observed: ObservedState) -> list[Finding]:
        from reconciler.kinds.rds_tde import drift

        return [*drift.differs(spec, plan, observed), *drift.at_risk(spec, observed)]

    def to_yaml(self, context: ImportContext) -> YamlBlock:
        from reconciler.kinds.rds_tde.to_yaml import to_yaml

        return to_yaml(context)

    def spec_location(self, address: str, locations: Mapping[str, Any]) -> Any:
        """The instance's `tde`, else `defaults.tde` (which it takes), else the instance."""
        instance_id = address.partition(".")[2]
        for key in (f"instances.{instance_id}.tde", "defaults.tde", f"instances.{instance_id}"):
            if key in locations:
                return locations[key]
        return None

    def controls(self, address: str, paths: Sequence[str]) -> tuple[Control, ...]:
        from reconciler.drift.controls import TDE

        return TDE


KIND = RdsTde()
