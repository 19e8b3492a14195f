"""RAM reads (2015-05-01, global) -> our models. The only module that touches RAM SDK classes."""

from __future__ import annotations

import json
from typing import Any

from reconciler.cloud.clients import CloudClients
from reconciler.cloud.retry import Family, family_of
from reconciler.errors import PermanentError
from reconciler.state.models import ObservedPolicy, ObservedRam, ObservedRole


def _models() -> Any:
    from alibabacloud_ram20150501 import models

    return models


def _absent(error: PermanentError) -> bool:
    return family_of(error) is Family.NOT_FOUND


def _document(text: Any) -> dict:
    """Documents travel as JSON strings; keep an unparsable one visible rather than failing."""
    if isinstance(text, dict):
        return text
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return {"_unparsable": str(text)}
    return parsed if isinstance(parsed, dict) else {"_unparsable": str(text)}


def get_policy(clients: CloudClients, region: str, name: str) -> ObservedPolicy | None:
    request = _models().GetPolicyRequest(policy_name=name, policy_type="Custom")
    try:
        response = clients.call("ram", region, "GetPolicy", lambda c: c.get_policy(request))
    except PermanentError as error:
        if _absent(error):
            return None
        raise
    body = response.body.to_map() or {}
    policy = body.get("Policy") or {}
    version = body.get("DefaultPolicyVersion") or {}
    return ObservedPolicy(
        name=policy.get("PolicyName", name),
        default_version=version.get("VersionId") or policy.get("DefaultVersion") or "v1",
        document=_document(version.get("PolicyDocument")),
    )


def get_role(clients: CloudClients, region: str, name: str) -> ObservedRole | None:
    request = _models().GetRoleRequest(role_name=name)
    try:
        response = clients.call("ram", region, "GetRole", lambda c: c.get_role(request))
    except PermanentError as error:
        if _absent(error):
            return None
        raise
    role = (response.body.to_map() or {}).get("Role") or {}
    return ObservedRole(
        name=role.get("RoleName", name),
        arn=role.get("Arn", ""),
        trust_document=_document(role.get("AssumeRolePolicyDocument")),
    )


def attached_custom_policies(clients: CloudClients, region: str, role: str) -> list[str]:
    request = _models().ListPoliciesForRoleRequest(role_name=role)
    try:
        response = clients.call(
            "ram", region, "ListPoliciesForRole", lambda c: c.list_policies_for_role(request)
        )
    except PermanentError as error:
        if _absent(error):
            return []
        raise
    policies = ((response.body.to_map() or {}).get("Policies") or {}).get("Policy") or []
    return sorted(
        p["PolicyName"]
        for p in policies
        if p.get("PolicyName") and str(p.get("PolicyType", "Custom")).lower() == "custom"
    )


def observe_ram(clients: CloudClients, region: str, role: str, policy: str) -> ObservedRam:
    """GetPolicy(Custom), GetRole, and ListPoliciesForRole when the role exists."""
    observed_policy = get_policy(clients, region, policy)
    observed_role = get_role(clients, region, role)
    attached = attached_custom_policies(clients, region, role) if observed_role else []
    return ObservedRam(role=observed_role, policy=observed_policy, attached_policies=attached)
