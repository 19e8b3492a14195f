"""RAM reads (2015-05-01, global) -> our models. The only module that touches RAM SDK classes.

Fail closed: GetRole's `EntityNotExist.Role` and GetPolicy's `EntityNotExist.Policy` (for the
spec's policy) are the only answers that state a fact ("absent"). Every other error, and an
answer that cannot be read, such as a document that is not a JSON object, stops observe with
the action and the role or policy it was about: a policy we could not read is never taken as
one that allows, or denies, nothing.
"""

from __future__ import annotations

import json
from typing import Any, cast

from reconciler.cloud.answers import absent, reading
from reconciler.cloud.clients import CloudClients
from reconciler.core.facts import ObservedPolicy, ObservedRam, ObservedRole, PolicyTypeName
from reconciler.core.ops import Op
from reconciler.errors import PermanentError

ROLE_ABSENT = ("EntityNotExist.Role",)
POLICY_ABSENT = ("EntityNotExist.Policy",)
_POLICY_TYPES: dict[str, PolicyTypeName] = {"custom": "Custom", "system": "System"}


def _models() -> Any:
    from alibabacloud_ram20150501 import models

    return models


def policy_type_name(value: str) -> PolicyTypeName:
    """RAM's spelling of a policy type (`custom` -> `Custom`); anything else is an error."""
    return _POLICY_TYPES[str(value).lower()]


def _document(text: Any, what: str) -> dict:
    """Documents travel as JSON strings. One that does not parse as a JSON object raises
    (`reading` reports it as an unexpected answer naming the policy or role)."""
    if isinstance(text, dict):
        return text
    if not isinstance(text, str):
        raise TypeError(f"{what} is not a JSON string")
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise ValueError(f"{what} is not a JSON object")
    return parsed


def get_policy(
    clients: CloudClients,
    region: str,
    name: str,
    policy_type: PolicyTypeName,
    *,
    may_be_absent: bool = True,
) -> ObservedPolicy | None:
    """GetPolicy(PolicyType) with its default version's document; None when the policy does
    not exist in that namespace and `may_be_absent` (a policy ListPoliciesForRole just listed
    as attached must exist: its absence is an inconsistent answer, not a fact)."""
    request = _models().GetPolicyRequest(policy_name=name, policy_type=policy_type)
    with reading("ram:GetPolicy", f"policy {name} ({policy_type})"):
        try:
            response = clients.call("ram", region, "GetPolicy", lambda c: c.get_policy(request))
        except PermanentError as error:
            if may_be_absent and absent(error, *POLICY_ABSENT):
                return None
            raise
        body = response.body.to_map() or {}
        version = body["DefaultPolicyVersion"]
        return ObservedPolicy(
            name=name,  # as asked: the (name, type) the spec or the attachment list names
            policy_type=policy_type,
            default_version=str(version["VersionId"]),
            document=_document(version["PolicyDocument"], "PolicyDocument"),
        )


def get_role(clients: CloudClients, region: str, name: str) -> ObservedRole | None:
    request = _models().GetRoleRequest(role_name=name)
    with reading("ram:GetRole", f"role {name}"):
        try:
            response = clients.call("ram", region, "GetRole", lambda c: c.get_role(request))
        except PermanentError as error:
            if absent(error, *ROLE_ABSENT):
                return None
            raise
        role = (response.body.to_map() or {})["Role"]
        return ObservedRole(
            name=role.get("RoleName") or name,
            arn=role.get("Arn") or "",
            trust_document=_document(role["AssumeRolePolicyDocument"], "AssumeRolePolicyDocument"),
        )


def attached_policies(
    clients: CloudClients, region: str, role: str
) -> list[tuple[str, PolicyTypeName]]:
    """(name, type) of every policy attached to the role, of either type, sorted. The role was
    just read, so any error here (even EntityNotExist.Role) stops observe."""
    request = _models().ListPoliciesForRoleRequest(role_name=role)
    with reading("ram:ListPoliciesForRole", f"role {role}"):
        response = clients.call(
            "ram", region, "ListPoliciesForRole", lambda c: c.list_policies_for_role(request)
        )
        # `Policies` must be there: an answer without it is not "nothing attached".
        policies = ((response.body.to_map() or {})["Policies"] or {}).get("Policy") or []
        return sorted({(str(p["PolicyName"]), policy_type_name(p["PolicyType"])) for p in policies})


def observe_ram(
    clients: CloudClients, region: str, role: str, policy: str, policy_type: str = "custom"
) -> ObservedRam:
    """GetPolicy(the spec's type), GetRole, and, when the role exists, ListPoliciesForRole and
    GetPolicy of every attached policy other than the one already read: 3 + N calls at most."""
    kind = policy_type_name(policy_type)
    observed_policy = get_policy(clients, region, policy, kind)
    observed_role = get_role(clients, region, role)
    attached: list[ObservedPolicy] = []
    if observed_role is not None:
        for name, attached_type in attached_policies(clients, region, role):
            if observed_policy is not None and (name, attached_type) == (policy, kind):
                attached.append(observed_policy)
                continue
            read = get_policy(clients, region, name, attached_type, may_be_absent=False)
            attached.append(cast(ObservedPolicy, read))  # never None without may_be_absent
    return ObservedRam(role=observed_role, policy=observed_policy, attached_policies=attached)


# --- writes (apply): one function per plan operation, params by wire name -------------------


def _ram_write(clients: CloudClients, region: str, op: Op, method: str, params: dict) -> Any:
    from reconciler.cloud.writes import write

    return write(clients, op, region, _models(), method, params)


def create_policy(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    """CreatePolicy: not idempotent; after a lost answer, read the policy (`get_policy`)."""
    return _ram_write(clients, region, Op.RAM_CREATE_POLICY, "create_policy", params)


def create_policy_version(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _ram_write(
        clients, region, Op.RAM_CREATE_POLICY_VERSION, "create_policy_version", params
    )


def create_role(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    """CreateRole: not idempotent; after a lost answer, read the role (`get_role`)."""
    return _ram_write(clients, region, Op.RAM_CREATE_ROLE, "create_role", params)


def update_role(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _ram_write(clients, region, Op.RAM_UPDATE_ROLE, "update_role", params)


def attach_policy_to_role(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    """AttachPolicyToRole: not idempotent; after a lost answer, list the role's policies."""
    return _ram_write(
        clients, region, Op.RAM_ATTACH_POLICY_TO_ROLE, "attach_policy_to_role", params
    )


def detach_policy_from_role(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    """DetachPolicyFromRole: not idempotent (a repeat fails with EntityNotExist.Role.Policy);
    after a lost answer, list the role's policies."""
    return _ram_write(
        clients, region, Op.RAM_DETACH_POLICY_FROM_ROLE, "detach_policy_from_role", params
    )
