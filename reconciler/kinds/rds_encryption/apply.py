"""Apply's side of an instance's encryption: the fresh read before the write, in the planner's
vocabulary (`disabled`, `ServiceKey` or a key id, by reconciler.core.rules), and the rule that
a change writes to the instance its address names. Imports only cloud, core and plan.model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.cloud import rds
from reconciler.cloud.answers import absent
from reconciler.cloud.clients import CloudClients
from reconciler.core.rules import ENCRYPTION_DISABLED, SERVICE_KEY_TYPE, is_service_key
from reconciler.errors import PermanentError
from reconciler.kinds.rds_encryption.body import InstanceBefore
from reconciler.plan.model import Change

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.apply.compare import ServiceKeys


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


def moved(change: Change, clients: CloudClients, service_keys: ServiceKeys) -> str | None:
    instance_id = str(change.target_id)
    expected = InstanceBefore.of(change, "before").encryption.key
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


def target_problem(change: Change) -> str | None:
    """An instance change writes to the instance its address names, and to no other: the
    fresh read before the write (moved) reads that one."""
    instance_id = change.address.partition(".")[2]
    aimed = {op.params.get("DBInstanceId") for op in change.operations} | {change.target_id}
    if aimed != {instance_id}:
        return (
            f"malformed plan: {change.address} writes to {sorted(map(str, aimed))}, not to "
            f"{instance_id} alone; nothing was applied"
        )
    return None
