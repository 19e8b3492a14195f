"""Compare-and-set: right before a change's first write, read its target again and compare it
with the change's `before` (the view the plan was made from). When they differ, someone changed
the resource since the plan: the change is not made (docs/plan-format.md, Change: `before`).

The fresh read is mapped into the planner's vocabulary here, by the rules the planner uses
too (reconciler.core.rules; apply never imports the planner): encryption `disabled` /
`ServiceKey` / a key id; key state `enabled` / `disabled` / `pending-deletion` /
`pending-import`; the managed tags (every tag not under `acs:`, plus
acs:rds:instance-encryption).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from reconciler.cloud import kms, ram, rds
from reconciler.cloud.answers import absent
from reconciler.cloud.clients import CloudClients
from reconciler.core.ops import Op
from reconciler.core.rules import (
    ENCRYPTION_DISABLED,
    SERVICE_KEY_TYPE,
    is_service_key,
    key_state_name,
    managed_tags,
    rotation_days,
)
from reconciler.errors import PermanentError
from reconciler.plan.model import Change


class ServiceKeys:
    """The id of alias/acs/rds per region, read at most once per run (thread-safe)."""

    def __init__(self, clients: CloudClients) -> None:
        self._clients = clients
        self._ids: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def id(self, region: str) -> str | None:
        with self._lock:
            if region in self._ids:
                return self._ids[region]
        found = kms.service_key(self._clients, region).key_id
        with self._lock:
            self._ids[region] = found
        return found


def encryption_value(
    clients: CloudClients, region: str, instance_id: str, service_keys: ServiceKeys
) -> str | None:
    """The instance's disk encryption now, as the plan writes it (`disabled`, `ServiceKey` or a
    key id); None when the instance does not exist."""
    try:
        enc = rds.encryption(clients, region, instance_id, None)
    except PermanentError as error:
        if absent(error, *rds.INSTANCE_ABSENT):
            return None
        raise
    if not enc.enabled:
        return ENCRYPTION_DISABLED
    # alias/acs/rds's id is read (once per region) only when the answer does not say the type.
    service_key_id = service_keys.id(region) if enc.key_type is None and enc.key_id else None
    if is_service_key(enc.key_id, enc.key_type, service_key_id):
        return SERVICE_KEY_TYPE
    return str(enc.key_id)  # not None: an encryption without a key id is the service key


def moved(
    change: Change, clients: CloudClients, ram_region: str, service_keys: ServiceKeys
) -> str | None:
    """What differs between the target now and the plan's `before`; None when nothing does.
    Raises CloudCallError when the target cannot be read (the change is then not made)."""
    kind = change.address.split(".", 1)[0]
    if kind == "rds_encryption":
        return _instance(change, clients, service_keys)
    if kind == "kms_key":
        return _key(change, clients)
    if kind == "ram_policy":
        return _policy(change, clients, ram_region)
    if kind == "ram_role":
        return _role(change, clients, ram_region)
    if kind == "ram_attachment":
        return _attachment(change, clients, ram_region)
    return f"apply does not know resources of kind {kind}"


def _instance(change: Change, clients: CloudClients, service_keys: ServiceKeys) -> str | None:
    instance_id = str(change.target_id)
    expected = ((change.before or {}).get("encryption") or {}).get("key")
    now = encryption_value(clients, str(change.region), instance_id, service_keys)
    if now is None:
        return f"instance {instance_id} no longer exists"
    if now != expected:
        was = show_value(expected)
        return f"its encryption is now {show_value(now)}; the plan was made with {was}"
    return None


def show_value(value: Any) -> str:
    """`off`, `the service key` or `key <id>`, for messages."""
    names = {ENCRYPTION_DISABLED: "off", SERVICE_KEY_TYPE: "the service key"}
    return names.get(str(value), f"key {value}")


def _key(change: Change, clients: CloudClients) -> str | None:
    region = str(change.region)
    if change.before is None:  # create: the alias must still be free
        alias = str((change.after or {}).get("alias"))
        holder = kms.alias_target(clients, region, alias)
        return None if holder is None else f"the alias {alias} now exists (key {holder})"
    key_id = str(change.target_id)
    metadata = kms.describe_key(clients, region, key_id)
    if metadata is None:
        return f"key {key_id} no longer exists"
    now = _key_view(clients, region, key_id, metadata, change.before)
    differ = sorted(k for k in now if now[k] != change.before.get(k))
    if not differ:
        return None
    return "; ".join(f"{k} is now {now[k]!r}, was {change.before.get(k)!r}" for k in differ)


def _key_view(
    clients: CloudClients,
    region: str,
    key_id: str,
    metadata: dict[str, Any],
    before: dict[str, Any],
) -> dict[str, Any]:
    """The fresh read in the shape of `before`, limited to the settings `before` holds."""
    view: dict[str, Any] = {}
    if "state" in before:
        state = str(metadata.get("KeyState"))
        view["state"] = key_state_name(state)
    if "deletion_protection" in before:
        view["deletion_protection"] = (
            str(metadata.get("DeletionProtection", "")).lower() == "enabled"
        )
    if "description" in before:
        view["description"] = metadata.get("Description") or ""
    if "rotation" in before:
        rotation: dict[str, Any] = {
            "enabled": str(metadata.get("AutomaticRotation", "")).lower() == "enabled"
        }
        if "interval_days" in before["rotation"]:
            rotation["interval_days"] = rotation_days(metadata.get("RotationInterval"))
        view["rotation"] = rotation
    if "tags" in before:
        tags = kms.list_tags(clients, region, key_id)
        view["tags"] = managed_tags(tags)
    return view


def _document(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


def _policy(change: Change, clients: CloudClients, region: str) -> str | None:
    name = str((change.after or {}).get("name") or change.target_id)
    policy = ram.get_policy(clients, region, name, "Custom")
    if change.before is None:
        return None if policy is None else f"the policy {name} now exists"
    if policy is None:
        return f"the policy {name} no longer exists"
    if policy.document != _document(change.before.get("document")):
        return f"the document of policy {name} changed"
    return None


def _role(change: Change, clients: CloudClients, region: str) -> str | None:
    name = str((change.after or {}).get("name") or change.target_id)
    role = ram.get_role(clients, region, name)
    if change.before is None:
        return None if role is None else f"the role {name} now exists"
    if role is None:
        return f"the role {name} no longer exists"
    if role.trust_document != _document(change.before.get("trust_document")):
        return f"the trust policy of role {name} changed"
    return None


def attached(clients: CloudClients, region: str, role: str, policy: str, policy_type: str) -> bool:
    listed = ram.attached_policies(clients, region, role)
    return (policy, ram.policy_type_name(policy_type)) in listed


ATTACHMENT_OPS = (Op.RAM_ATTACH_POLICY_TO_ROLE, Op.RAM_DETACH_POLICY_FROM_ROLE)


def _attachment(change: Change, clients: CloudClients, region: str) -> str | None:
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
