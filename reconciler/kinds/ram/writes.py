"""The writes of the kind `ram` by `Op`: creates and attachments carry no ClientToken, so a lost
answer is read back (the policy's document, the role's trust policy, the role's attachments).
Imports only cloud, core, plan.model and the kinds' apply side (apply imports it)."""

from __future__ import annotations

import json

from reconciler.cloud import ram
from reconciler.cloud.clients import CloudClients
from reconciler.core.ops import Op
from reconciler.kinds.ram.apply import attached
from reconciler.kinds.write_rule import Params, WriteRule, read_back_by


def _policy_created(clients: CloudClients, region: str, params: Params) -> bool:
    policy = ram.get_policy(clients, region, params["PolicyName"], "Custom")
    return policy is not None and policy.document == json.loads(params["PolicyDocument"])


def _role_created(clients: CloudClients, region: str, params: Params) -> bool:
    role = ram.get_role(clients, region, params["RoleName"])
    wanted = json.loads(params["AssumeRolePolicyDocument"])
    return role is not None and role.trust_document == wanted


def _is_attached(clients: CloudClients, region: str, params: Params) -> bool:
    return attached(clients, region, params["RoleName"], params["PolicyName"], params["PolicyType"])


def _is_detached(clients: CloudClients, region: str, params: Params) -> bool:
    return not _is_attached(clients, region, params)


WRITES: dict[Op, WriteRule] = {
    Op.RAM_CREATE_POLICY: WriteRule(
        ram.create_policy, idempotent=False, read_back=read_back_by(_policy_created)
    ),
    Op.RAM_CREATE_POLICY_VERSION: WriteRule(ram.create_policy_version, idempotent=True),
    Op.RAM_CREATE_ROLE: WriteRule(
        ram.create_role, idempotent=False, read_back=read_back_by(_role_created)
    ),
    Op.RAM_UPDATE_ROLE: WriteRule(ram.update_role, idempotent=True),
    Op.RAM_ATTACH_POLICY_TO_ROLE: WriteRule(
        ram.attach_policy_to_role, idempotent=False, read_back=read_back_by(_is_attached)
    ),
    Op.RAM_DETACH_POLICY_FROM_ROLE: WriteRule(
        ram.detach_policy_from_role, idempotent=False, read_back=read_back_by(_is_detached)
    ),
}
