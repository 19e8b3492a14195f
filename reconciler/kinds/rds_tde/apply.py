"""Apply's side of an instance's TDE: the fresh read before the write (DescribeDBInstanceTDE),
in the planner's words (body.tde_value), and whether TDE now shows what a write asked for (the
read-back of a lost answer and the wait after the write). Imports only cloud, core, plan.model
and the kind's body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.cloud import rds, rds_tde
from reconciler.cloud.answers import absent
from reconciler.cloud.clients import CloudClients
from reconciler.errors import PermanentError
from reconciler.kinds.rds_encryption.apply import show_value
from reconciler.kinds.rds_encryption.apply import target_problem as target_problem
from reconciler.kinds.rds_tde.body import GENERATED_KEY_MODE, TdeBefore, tde_value
from reconciler.plan.model import Change

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.apply.compare import ServiceKeys


def tde_now(
    clients: CloudClients, region: str, instance_id: str, service_keys: ServiceKeys
) -> str | None:
    """The instance's TDE now (`disabled`, `ServiceKey` or a key id); None when the instance
    does not exist."""
    try:
        tde = rds_tde.tde(clients, region, instance_id)
    except PermanentError as error:
        if absent(error, *rds.INSTANCE_ABSENT):
            return None
        raise
    # alias/acs/rds's id is read (once per region) only when the mode does not say it.
    generated = tde.mode == GENERATED_KEY_MODE or not tde.enabled
    service_key_id = None if generated else service_keys.id(region)
    return tde_value(tde.enabled, tde.mode, tde.key_id, service_key_id)


def moved(change: Change, clients: CloudClients, service_keys: ServiceKeys) -> str | None:
    instance_id = str(change.target_id)
    expected = TdeBefore.of(change, "before").tde.key
    now = tde_now(clients, str(change.region), instance_id, service_keys)
    if now is None:
        return f"instance {instance_id} no longer exists"
    if now != expected:
        return f"its TDE is now {show_value(now)}; the plan was made with {show_value(expected)}"
    return None


def reached(clients: CloudClients, region: str, params: dict[str, Any]) -> bool:
    """TDE is on with the key the write asked for: its EncryptionKey, or RDS's generated key
    (by TDEMode) when it named none. A failed read raises (never a yes)."""
    tde = rds_tde.tde(clients, region, str(params["DBInstanceId"]))
    key = params.get("EncryptionKey")
    if not tde.enabled:
        return False
    return tde.key_id == key if key else tde.mode == GENERATED_KEY_MODE
