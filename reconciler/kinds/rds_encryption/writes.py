"""The write of the kind `rds_encryption`: ModifyDBInstanceConfig (ClientToken: idempotent).
A busy instance is waited out; a CMK change refused as not authorised right after the run
changed RAM is retried (RAM changes take time to reach RDS); after it, apply waits until the
instance is Running with the target, or reports when a change for the maintenance window
starts. Imports only cloud, core, errors and plan.model (apply imports it)."""

from __future__ import annotations

from reconciler.cloud import rds
from reconciler.cloud.retry import Family, family_of
from reconciler.core.ops import Op
from reconciler.errors import PermanentError
from reconciler.kinds.rds_encryption.apply import show_value
from reconciler.kinds.rds_encryption.write_guards import instance_may_change
from reconciler.kinds.write_rule import Params, Wait, WriteRule

CALLER_DENIED = ("Forbidden.RAM", "NoPermission")
"""The documented common codes of a call the tool's OWN identity may not make (its RAM
policies lack the action): never RAM propagation of RDS's role, never retried."""


def _instance(params: Params) -> str:
    return str(params["DBInstanceId"])


def ram_not_ready(error: PermanentError, params: Params) -> bool:
    """A CMK change refused as not authorised (not the tool's own identity refused the call:
    CALLER_DENIED); apply retries it only after this run changed RAM."""
    value = str(params.get("ConfigValue") or "")
    code = error.code.lower()
    return (
        code not in {c.lower() for c in CALLER_DENIED}
        and value.lower() not in ("servicekey", "disabled")
        and (family_of(error) is Family.NOT_AUTHORIZED or "byok" in code)
        and "notenabled" not in code
        and "lockmode" not in code
    )


def wait_for(params: Params) -> Wait:
    """Until the instance is Running with the target; a change for the maintenance window
    (SwitchTimeMode MaintainTime) is reported with its start, not waited for."""
    instance_id, target = _instance(params), str(params["ConfigValue"])
    return Wait(
        resource_id=instance_id,
        target=target,
        scheduled=params.get("SwitchTimeMode") == "MaintainTime",
        done=f"{instance_id} is Running with encryption {show_value(target)}",
    )


WRITES: dict[Op, WriteRule] = {
    Op.RDS_MODIFY_DB_INSTANCE_CONFIG: WriteRule(
        rds.modify_config,
        idempotent=True,
        busy_resource=_instance,
        ram_not_ready=ram_not_ready,
        after=wait_for,
        guard=instance_may_change,
    ),
}
