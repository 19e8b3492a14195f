"""Apply's side of RAM: the fresh read of a policy, a role or a role's attachments before the
write, against the change's `before`. Imports only cloud, core, plan.model and its change
bodies (kinds/ram/body.py)."""

from __future__ import annotations

from reconciler.cloud import ram
from reconciler.cloud.clients import CloudClients
from reconciler.core.ops import Op
from reconciler.kinds.ram.body import PolicyAfter, PolicyBefore, RoleBody
from reconciler.plan.model import Change


def policy_moved(change: Change, clients: CloudClients, region: str) -> str | None:
    name = PolicyAfter.of(change).name
    policy = ram.get_policy(clients, region, name, "Custom")
    if change.before is None:
        return None if policy is None else f"the policy {name} now exists"
    if policy is None:
        return f"the policy {name} no longer exists"
    if policy.document != PolicyBefore.of(change, "before").document:
        return f"the document of policy {name} changed"
    return None


def role_moved(change: Change, clients: CloudClients, region: str) -> str | None:
    name = RoleBody.of(change).name
    role = ram.get_role(clients, region, name)
    if change.before is None:
        return None if role is None else f"the role {name} now exists"
    if role is None:
        return f"the role {name} no longer exists"
    if role.trust_document != RoleBody.of(change, "before").trust_document:
        return f"the trust policy of role {name} changed"
    return None


def attached(clients: CloudClients, region: str, role: str, policy: str, policy_type: str) -> bool:
    listed = ram.attached_policies(clients, region, role)
    return (policy, ram.policy_type_name(policy_type)) in listed


ATTACHMENT_OPS = (Op.RAM_ATTACH_POLICY_TO_ROLE, Op.RAM_DETACH_POLICY_FROM_ROLE)


def attachment_moved(change: Change, clients: CloudClients, region: str) -> str | None:
    """Every attach of the change needs its policy still unattached, every detach its policy
    still attached (one ListPoliciesForRole answers all). Another op: not known, not made."""
    ops = change.operations
    if not ops or any(o.op not in ATTACHMENT_OPS for o in ops):
        return f"apply does not know an attachment change made of {change.op_names}"
    role = str(ops[0].params["RoleName"])
    listed = ram.attached_policies(clients, region, role)
    for op in ops:
        name, kind = str(op.params["PolicyName"]), str(op.params["PolicyType"])
        now = (name, ram.policy_type_name(kind)) in listed
        if op.op == Op.RAM_ATTACH_POLICY_TO_ROLE and now:
            return f"{kind.lower()} policy {name} is now attached to role {role}"
        if op.op == Op.RAM_DETACH_POLICY_FROM_ROLE and not now:
            return f"{kind.lower()} policy {name} is no longer attached to role {role}"
    return None
