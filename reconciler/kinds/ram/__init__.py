"""The kind `ram`: the RAM policy RDS needs, the role it assumes and the role's attachments
(addresses `ram_policy.<name>`, `ram_role.<name>`, `ram_attachment.<role>/<policy>`). Its
plan rules are in plan.py (managed), verify.py (verify only) and attachments.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.kinds.base import ResourceKind

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.apply.compare import ServiceKeys
    from reconciler.cloud.clients import CloudClients
    from reconciler.core.api_actions import ApiAction
    from reconciler.core.facts import ObservedState
    from reconciler.core.ops import Op
    from reconciler.drift.finding import Finding
    from reconciler.drift.yaml_blocks import ImportContext, YamlBlock
    from reconciler.kinds.body import ChangeBody
    from reconciler.kinds.write_rule import WriteRule
    from reconciler.plan.context import PlanContext
    from reconciler.plan.inputs import PlanInputs
    from reconciler.plan.model import Change, Plan
    from reconciler.spec.models import Spec
    from reconciler.state.reads import Reader, ReadScope

POLICY, ROLE, ATTACHMENT = "ram_policy", "ram_role", "ram_attachment"

_NAMES = {"RoleName", "PolicyName"}
"""Parameters that name a RAM resource: a made RAM change names its own address's."""


class Ram(ResourceKind):
    name = "ram"
    prefixes = (POLICY, ROLE, ATTACHMENT)
    writes_ram = True

    def facts(self, observed: ObservedState, address: str) -> dict[str, Any]:
        ram = observed.ram
        return {"ram": ram.model_dump(mode="json") if ram else None}

    def moved(
        self, change: Change, clients: CloudClients, ram_region: str, service_keys: ServiceKeys
    ) -> str | None:
        from reconciler.kinds.ram import apply

        how = {POLICY: apply.policy_moved, ROLE: apply.role_moved}
        prefix = change.address.partition(".")[0]
        return how.get(prefix, apply.attachment_moved)(change, clients, ram_region)

    def declared(self, spec: Spec, address: str) -> bool:
        ram = spec.effective_ram()
        if ram is None or not ram.manage:
            return False
        prefix, _, name = address.partition(".")
        if prefix == POLICY:
            return name == ram.policy
        if prefix == ROLE:
            return name == ram.role
        return name.partition("/")[0] == ram.role

    def achieved(
        self, change: Change, params: list[dict[str, Any]], observed: ObservedState
    ) -> bool:
        """The change names the role and policy of its address."""
        names = set(change.address.partition(".")[2].split("/"))
        return all(p.get(n) in names for p in params for n in _NAMES if n in p)

    def changed_finding(self, change: Change, observed: ObservedState) -> Finding:
        from reconciler.kinds.ram import drift

        prefix = change.address.partition(".")[0]
        if prefix == ATTACHMENT:
            return drift.attachment_changed(change, observed)
        if prefix == POLICY:
            return drift.policy_changed(change)
        return drift.role_changed(change)

    def missing_message(self, change: Change) -> str:
        what = {
            POLICY: "the RAM policy RDS needs to use CMKs does not exist",
            ROLE: "the RAM role RDS assumes to use CMKs does not exist",
        }
        return what.get(change.address.partition(".")[0], change.reason)

    def spec_location(self, address: str, locations: Mapping[str, Any]) -> Any:
        """Its own line, else (an attachment) its role's, else the spec's `ram` section."""
        prefix, _, name = address.partition(".")
        where = locations.get(address)
        if where is None and prefix == ATTACHMENT:
            where = locations.get(f"{ROLE}.{name.split('/', 1)[0]}")
        if where is None:
            where = locations.get("ram")
        return where

    # --- kplan (issue 17) ---------------------------------------------------------------------

    def plan(self, ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
        from reconciler.kinds.ram import plan

        return plan.plan(ctx, inputs)

    # --- kread (issue 17) ---------------------------------------------------------------------

    def start_reads(self, reader: Reader, scope: ReadScope) -> None:
        from reconciler.kinds.ram.read import start_reads

        start_reads(reader, scope)

    def observed_fields(self, reader: Reader, scope: ReadScope) -> dict[str, Any]:
        from reconciler.kinds.ram.read import observed_fields

        return observed_fields(reader, scope)

    # --- kyaml (issue 17) ------------------------------------------------------------------

    def drift_findings(self, spec: Spec, plan: Plan, observed: ObservedState) -> list[Finding]:
        from reconciler.kinds.ram.drift import ram_widened, tde_dependents

        return [*ram_widened(spec, observed), *tde_dependents(spec, plan, observed, self.owns)]

    def api_actions(self) -> tuple[ApiAction, ...]:
        from reconciler.kinds.ram.actions import ACTIONS

        return ACTIONS

    def to_yaml(self, context: ImportContext) -> YamlBlock | None:
        from reconciler.kinds.ram.to_yaml import to_yaml

        return to_yaml(context)

    # --- kafter (issue 17) ------------------------------------------------------------------

    def body_models(self, address: str) -> tuple[type[ChangeBody], type[ChangeBody]]:
        from reconciler.kinds.ram import body

        models: dict[str, tuple[type[ChangeBody], type[ChangeBody]]] = {
            POLICY: (body.PolicyAfter, body.PolicyBefore),
            ROLE: (body.RoleBody, body.RoleBody),
            ATTACHMENT: (body.AttachmentBody, body.AttachmentBody),
        }
        return models[address.partition(".")[0]]  # kind_of gives only its own prefixes

    # --- kwrites (issue 17) ----------------------------------------------------------------

    def writes(self) -> Mapping[Op, WriteRule]:
        from reconciler.kinds.ram.writes import WRITES

        return WRITES


KIND = Ram()
