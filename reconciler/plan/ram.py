"""RAM: the policy, the role and the attachment RDS needs to use a CMK (DESIGN sections 3-5).

Managed (`ram.manage: true`, or `ram` omitted while a CMK is used): missing or wrong pieces
become changes, chained policy -> role -> attachment. Verify only (`manage: false`): the same
checks become RamNotReady refusals when a CMK is used, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.plan.actions import Action, Op, RefusalCode, WarningCode
from reconciler.plan.context import PlanContext
from reconciler.plan.diff import diff
from reconciler.plan.model import Change
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
    normalise_document,
    same_policy_document,
)
from reconciler.spec.models import RamSpec
from reconciler.state.models import ObservedRam


@dataclass(frozen=True)
class _Finding:
    """One RAM resource that is missing or wrong, and the change that repairs it."""

    change: Change
    problem: str


def _missing(address: str, op: Op, after: dict[str, Any], reason: str, problem: str) -> _Finding:
    """A RAM resource that does not exist: one create operation makes it as `after`."""
    change = Change(
        address=address,
        action=Action.CREATE,
        operations=[op],
        field_changes=diff(None, after),
        after=after,
        reason=reason,
    )
    return _Finding(change, problem)


def _policy_finding(ram: RamSpec, observed: ObservedRam) -> _Finding | None:
    address = f"ram_policy.{ram.policy}"
    after = {"name": ram.policy, "document": RDS_ENCRYPTION_POLICY_DOCUMENT}
    policy = observed.policy
    if policy is None:
        return _missing(
            address,
            Op.RAM_CREATE_POLICY,
            after,
            "the custom policy RDS needs to use KMS keys does not exist",
            f"policy {ram.policy} does not exist",
        )
    if same_policy_document(policy.document, RDS_ENCRYPTION_POLICY_DOCUMENT):
        return None
    before = {
        "name": policy.name,
        "document": policy.document,
        "default_version": policy.default_version,
    }
    change = Change(
        address=address,
        action=Action.UPDATE,
        operations=[Op.RAM_CREATE_POLICY_VERSION],
        field_changes=diff(
            normalise_document(policy.document),
            normalise_document(RDS_ENCRYPTION_POLICY_DOCUMENT),
            ["document"],
        ),
        target_id=policy.name,
        before=before,
        after={
            **after,
            "set_as_default": True,
            "rotate_strategy": "DeleteOldestNonDefaultVersionWhenLimitExceeded",
        },
        reason=f"the default version ({policy.default_version}) differs from the document "
        "Alibaba Cloud fixes; a new default version replaces it",
    )
    return _Finding(change, f"policy {ram.policy} has a different document")


def _role_finding(ram: RamSpec, observed: ObservedRam) -> _Finding | None:
    address = f"ram_role.{ram.role}"
    after = {"name": ram.role, "trust_document": RDS_ENCRYPTION_TRUST_DOCUMENT}
    role = observed.role
    if role is None:
        return _missing(
            address,
            Op.RAM_CREATE_ROLE,
            after,
            "the role RDS assumes to use KMS keys does not exist",
            f"role {ram.role} does not exist",
        )
    if same_policy_document(role.trust_document, RDS_ENCRYPTION_TRUST_DOCUMENT):
        return None
    change = Change(
        address=address,
        action=Action.UPDATE,
        operations=[Op.RAM_UPDATE_ROLE],
        field_changes=diff(
            normalise_document(role.trust_document),
            normalise_document(RDS_ENCRYPTION_TRUST_DOCUMENT),
            ["trust_document"],
        ),
        target_id=role.name,
        before={"name": role.name, "trust_document": role.trust_document},
        after=after,
        reason="the role's trust policy does not let rds.aliyuncs.com assume it",
    )
    return _Finding(change, f"role {ram.role} does not trust rds.aliyuncs.com")


def _attachment_finding(ram: RamSpec, observed: ObservedRam) -> _Finding | None:
    if observed.role is not None and ram.policy in observed.attached_policies:
        return None
    after = {"role": ram.role, "policy": ram.policy, "policy_type": "Custom", "attached": True}
    change = Change(
        address=f"ram_attachment.{ram.role}/{ram.policy}",
        action=Action.CREATE,
        operations=[Op.RAM_ATTACH_POLICY_TO_ROLE],
        field_changes=diff({"attached": False}, {"attached": True}),
        before={"role": ram.role, "policy": ram.policy, "attached": False},
        after=after,
        reason=f"policy {ram.policy} is not attached to role {ram.role}",
    )
    return _Finding(change, f"policy {ram.policy} is not attached to role {ram.role}")


def plan_ram(ctx: PlanContext) -> str | None:
    """Add the RAM changes (or RamNotReady refusals). Returns the address of the last RAM change
    in the chain, which every key and CMK instance change depends on; None when there is none."""
    ram = ctx.spec.effective_ram()
    if ram is None:
        return None
    # Observe reads RAM whenever effective_ram() is set; if it did not, assume nothing exists.
    observed = ctx.observed.ram or ObservedRam()
    findings = [
        f
        for f in (
            _policy_finding(ram, observed),
            _role_finding(ram, observed),
            _attachment_finding(ram, observed),
        )
        if f is not None
    ]
    if not ram.manage:
        _verify_only(ctx, findings)
        return None
    previous: str | None = None
    for finding in findings:
        ctx.add(finding.change)
        ctx.edge(previous, finding.change.address)
        previous = finding.change.address
    if previous is not None:
        ctx.warn(
            previous,
            WarningCode.RAM_PROPAGATION_DELAY,
            "RAM changes can take a few seconds to reach RDS; if an encryption change "
            "right after fails with ByokNotAuthorizedToRds, run apply again",
        )
    return previous


def _verify_only(ctx: PlanContext, findings: list[_Finding]) -> None:
    if not ctx.spec.uses_cmk():
        return
    for finding in findings:
        ctx.refuse(
            finding.change.address,
            RefusalCode.RAM_NOT_READY,
            f"{finding.problem}, and ram.manage is false so the reconciler only verifies RAM. "
            "A CMK cannot be used until it is fixed: ask the RAM owner to "
            f"{_fix_hint(finding.change)}, or set ram.manage: true",
            ("ram", "manage"),
        )


def _fix_hint(change: Change) -> str:
    hints = {
        Op.RAM_CREATE_POLICY: "create it with the fixed document of the RDS encryption policy",
        Op.RAM_CREATE_POLICY_VERSION: "set its default version to the fixed document",
        Op.RAM_CREATE_ROLE: "create it with the trust policy for rds.aliyuncs.com",
        Op.RAM_UPDATE_ROLE: "restore its trust policy for rds.aliyuncs.com",
        Op.RAM_ATTACH_POLICY_TO_ROLE: "attach the policy to the role (PolicyType Custom)",
    }
    return hints[Op(change.operations[0])]
