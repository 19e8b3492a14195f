"""RAM: the policy, the role and the attachment RDS needs to use a CMK (docs/real-cloud.md, RAM).

Managed (`ram.manage: true`, or `ram` omitted while a CMK is used): missing or wrong pieces
become changes, chained policy -> role -> attachment, then a detach of every other policy
attached to the role that `ram.extra_policies` does not keep (kinds/ram/attachments.py). With
`policy_type: custom` (the documented manual steps) the tool creates the custom policy and
keeps its document; with `system` it only attaches Alibaba Cloud's built-in policy, which it
never creates or changes (a missing one is refused). Verify only (`manage: false`): nothing is
written; when a CMK is used, the role must exist, trust rds.aliyuncs.com, and its attached
policies (the spec's and `ram.extra_policies`, either type) must together let RDS use the
keys (kinds/ram/verify.py), else RamNotReady; a policy attached that the spec does not list is
RamNotReady too, CMK or not.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reconciler.core.facts import ObservedRam
from reconciler.kinds.ram.attachments import attachment_changes, refuse_unwanted
from reconciler.kinds.ram.body import PolicyAfter, PolicyBefore, RoleBody
from reconciler.kinds.ram.params import BUILDERS
from reconciler.kinds.ram.tde_users import tde_users, with_users
from reconciler.kinds.ram.verify import verify_ram
from reconciler.plan.actions import Action, Op, RefusalCode, WarningCode
from reconciler.plan.context import PlanContext
from reconciler.plan.diff import diff
from reconciler.plan.inputs import PlanInputs
from reconciler.plan.model import Change
from reconciler.plan.operations import operations
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
    normalise_document,
    same_policy_document,
)
from reconciler.spec.models import PolicyType, RamSpec


def _missing(address: str, op: Op, after: dict[str, Any], reason: str) -> Change:
    """A RAM resource that does not exist: one create operation makes it as `after`."""
    return Change(
        address=address,
        action=Action.CREATE,
        operations=_ops(op, address, None, after),
        field_changes=diff(None, after),
        after=after,
        reason=reason,
    )


def _ops(op: Op, address: str, before: dict[str, Any] | None, after: dict[str, Any]) -> list:
    """RAM calls take no ClientToken and refer to nothing created later: no fingerprint."""
    return operations([op], address, before, after, builders=BUILDERS, token_seed="")


def _policy_change(ram: RamSpec, observed: ObservedRam) -> Change | None:
    """The custom policy: created with the fixed document, or given it as a new default
    version when its default version means something else."""
    address = f"ram_policy.{ram.policy}"
    after = PolicyAfter(name=ram.policy, document=RDS_ENCRYPTION_POLICY_DOCUMENT).wire()
    policy = observed.policy
    if policy is None:
        return _missing(
            address,
            Op.RAM_CREATE_POLICY,
            after,
            "the custom policy RDS needs to use KMS keys does not exist",
        )
    if same_policy_document(policy.document, RDS_ENCRYPTION_POLICY_DOCUMENT):
        return None
    before = PolicyBefore(
        name=policy.name, document=policy.document, default_version=policy.default_version
    ).wire()
    return Change(
        address=address,
        action=Action.UPDATE,
        operations=_ops(Op.RAM_CREATE_POLICY_VERSION, address, before, after),
        field_changes=diff(
            normalise_document(policy.document),
            normalise_document(RDS_ENCRYPTION_POLICY_DOCUMENT),
            ["document"],
        ),
        target_id=policy.name,
        before=before,
        after=after,
        reason=f"the default version ({policy.default_version}) differs from the document "
        "Alibaba Cloud fixes; a new default version replaces it",
    )


def _role_change(ram: RamSpec, observed: ObservedRam) -> Change | None:
    address = f"ram_role.{ram.role}"
    after = RoleBody(name=ram.role, trust_document=RDS_ENCRYPTION_TRUST_DOCUMENT).wire()
    role = observed.role
    if role is None:
        return _missing(
            address,
            Op.RAM_CREATE_ROLE,
            after,
            "the role RDS assumes to use KMS keys does not exist",
        )
    if same_policy_document(role.trust_document, RDS_ENCRYPTION_TRUST_DOCUMENT):
        return None
    return Change(
        address=address,
        action=Action.UPDATE,
        operations=_ops(Op.RAM_UPDATE_ROLE, address, None, after),
        field_changes=diff(
            normalise_document(role.trust_document),
            normalise_document(RDS_ENCRYPTION_TRUST_DOCUMENT),
            ["trust_document"],
        ),
        target_id=role.name,
        before=RoleBody(name=role.name, trust_document=role.trust_document).wire(),
        after=after,
        reason="the role's trust policy does not let rds.aliyuncs.com assume it",
    )


def _refuse_missing_system_policy(ctx: PlanContext, ram: RamSpec, observed: ObservedRam) -> None:
    """A system policy is Alibaba Cloud's: never created or changed, only attached."""
    if observed.policy is not None:
        return
    ctx.refuse(
        f"ram_policy.{ram.policy}",
        RefusalCode.RAM_NOT_READY,
        f"ram.policy_type is system but RAM has no system policy named {ram.policy} "
        "(GetPolicy with PolicyType System found none). System policies are Alibaba Cloud's: "
        "the reconciler never creates or changes them. Check ram.policy, or set "
        "ram.policy_type: custom so the reconciler creates the custom policy of the documented "
        "manual steps",
        ("ram", "policy_type"),
    )


def plan(ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
    """The RAM changes (or refusals); the last of the chain goes on as the RAM tail."""
    return replace(inputs, ram_tail=plan_ram(ctx))


def plan_ram(ctx: PlanContext) -> str | None:
    """Add the RAM changes (or RamNotReady refusals). Returns the address of the last RAM change
    in the chain, which every key and CMK instance change depends on; None when there is none."""
    ram = ctx.spec.effective_ram()
    if ram is None:
        return None
    # Observe reads RAM whenever effective_ram() is set; if it did not, assume nothing exists.
    observed = ctx.observed.ram or ObservedRam()
    if not ram.manage:
        refuse_unwanted(ctx, ram, observed)
        verify_ram(ctx, ram, observed)
        return None
    if ram.policy_type is PolicyType.SYSTEM:
        _refuse_missing_system_policy(ctx, ram, observed)
        policy = None
    else:
        policy = _policy_change(ram, observed)
    attachment, detaches = attachment_changes(ram, observed)
    changes = [c for c in (policy, _role_change(ram, observed), attachment) if c is not None]
    users = tde_users(ctx.spec, ctx.observed)
    changes = [c.model_copy(update={"reason": with_users(c.reason, users)}) for c in changes]
    detaches = [c.model_copy(update={"reason": with_users(c.reason, users)}) for c in detaches]
    previous: str | None = None
    for change in changes:
        ctx.add(change)
        ctx.edge(previous, change.address)
        previous = change.address
    for detach in detaches:  # independent of each other; after the role has what it needs
        ctx.add(detach)
        ctx.edge(previous, detach.address)
    if previous is not None:
        ctx.warn(
            previous,
            WarningCode.RAM_PROPAGATION_DELAY,
            "RAM changes can take a few seconds to reach RDS; if an encryption change "
            "right after fails with ByokNotAuthorizedToRds, run apply again",
        )
    return previous
