"""The write of the kind `rds_tde`: ModifyDBInstanceTDE. It takes no ClientToken, so after a
lost answer it is never sent again: DescribeDBInstanceTDE tells whether TDE is on with the key
asked for (took effect) or not. After it, apply waits until the instance is Running with TDE on
that key (enabling restarts the instance with a switchover, "Configure TDE"). Imports only
cloud, core and the kind's apply side (apply imports it)."""

from __future__ import annotations

from reconciler.cloud import rds_tde
from reconciler.core.ops import Op
from reconciler.kinds.rds_encryption.apply import show_value
from reconciler.kinds.rds_tde.apply import reached
from reconciler.kinds.rds_tde.write_guards import instance_may_take_tde
from reconciler.kinds.write_rule import Params, Wait, WriteRule, read_back_by

TARGET_PREFIX = "TDE "
"""The wait's target is `TDE <key>`: no disk-encryption task of the task center names it, so
the waiter never takes one for this change."""


def wait_for(params: Params) -> Wait:
    instance_id = str(params["DBInstanceId"])
    key = str(params.get("EncryptionKey") or "ServiceKey")
    return Wait(
        resource_id=instance_id,
        target=TARGET_PREFIX + key,
        scheduled=False,
        done=f"{instance_id} is Running with TDE on {show_value(key)}",
        reached=lambda clients, region: reached(clients, region, params),
    )


WRITES: dict[Op, WriteRule] = {
    Op.RDS_MODIFY_DB_INSTANCE_TDE: WriteRule(
        rds_tde.modify_tde,
        idempotent=False,
        read_back=read_back_by(reached),
        after=wait_for,
        guard=instance_may_take_tde,
    ),
}
