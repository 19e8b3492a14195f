"""The kind `kms_key`: one customer master key the spec declares (address `kms_key.<name>`).
Its plan rules and guards are in plan.py."""

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


class KmsKey(ResourceKind):
    name = "kms_key"
    prefixes = ("kms_key",)

    def facts(self, observed: ObservedState, address: str) -> dict[str, Any]:
        from reconciler.kinds.kms_key.digest import facts

        return facts(observed, address.partition(".")[2])

    def moved(
        self, change: Change, clients: CloudClients, ram_region: str, service_keys: ServiceKeys
    ) -> str | None:
        from reconciler.kinds.kms_key.apply import moved

        return moved(change, clients)

    def declared(self, spec: Spec, address: str) -> bool:
        return address.partition(".")[2] in spec.kms_keys

    def achieved(
        self, change: Change, params: list[dict[str, Any]], observed: ObservedState
    ) -> bool:
        """The change writes to the key its alias names."""
        key = observed.keys.get(change.address.partition(".")[2])
        return key is not None and all(p.get("KeyId", key.key_id) == key.key_id for p in params)

    def live_facts_lines(self, facts: dict[str, Any]) -> list[str]:
        if not facts.get("key"):
            return super().live_facts_lines(facts)
        users = facts.get("users")
        count = "unknown" if users is None else str(len(users))
        return [f"key {facts['key']['key_id']} is {facts['key']['state']}; users now: {count}"]

    def observed_attr(self, address: str, attr: str, observed: ObservedState) -> Any:
        key = observed.keys.get(address.partition(".")[2])
        return getattr(key, attr, None) if key is not None else None

    def changed_finding(self, change: Change, observed: ObservedState) -> Finding:
        from reconciler.kinds.kms_key.drift import key_changed

        return key_changed(change, observed)

    def missing_message(self, change: Change) -> str:
        return f"the key does not exist ({change.reason})"

    def drift_findings(self, spec: Spec, plan: Plan, observed: ObservedState) -> list[Finding]:
        from reconciler.kinds.kms_key.drift import expiring_findings

        return expiring_findings([w for w in plan.warnings if self.owns(w.address)], observed)

    # --- kplan (issue 17) ---------------------------------------------------------------------

    def plan(self, ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
        from reconciler.kinds.kms_key import plan

        return plan.plan(ctx, inputs)

    # --- kread (issue 17) ---------------------------------------------------------------------

    def start_reads(self, reader: Reader, scope: ReadScope) -> None:
        from reconciler.kinds.kms_key.read import start_reads

        start_reads(reader, scope)

    def follow_up_reads(self, reader: Reader, scope: ReadScope) -> None:
        from reconciler.kinds.kms_key.read import follow_up_reads

        follow_up_reads(reader, scope)

    def observed_fields(self, reader: Reader, scope: ReadScope) -> dict[str, Any]:
        from reconciler.kinds.kms_key.read import observed_fields

        return observed_fields(reader, scope)

    # --- kyaml (issue 17) ------------------------------------------------------------------

    def api_actions(self) -> tuple[ApiAction, ...]:
        from reconciler.kinds.kms_key.actions import ACTIONS

        return ACTIONS

    def to_yaml(self, context: ImportContext) -> YamlBlock:
        from reconciler.kinds.kms_key.to_yaml import to_yaml

        return to_yaml(context, self.name)

    # --- kafter (issue 17) ------------------------------------------------------------------

    def body_models(self, address: str) -> tuple[type[ChangeBody], type[ChangeBody]]:
        from reconciler.kinds.kms_key.body import KeyAfter, KeyBefore

        return KeyAfter, KeyBefore

    # --- kwrites (issue 17) ----------------------------------------------------------------

    def writes(self) -> Mapping[Op, WriteRule]:
        from reconciler.kinds.kms_key.writes import WRITES

        return WRITES

    def controls(self, address: str, paths: Sequence[str]) -> tuple[Control, ...]:
        """Key rotation's controls where the item is about rotation."""
        from reconciler.drift.controls import KEY_ROTATION

        return KEY_ROTATION if any(p.split(".")[0] == "rotation" for p in paths) else ()


KIND = KmsKey()
