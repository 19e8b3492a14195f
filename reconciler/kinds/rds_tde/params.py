"""The request parameters of the kind `rds_tde`'s write (plan/operations.py runs them):
ModifyDBInstanceTDE with TDEStatus=Enabled, the EncryptionKey and RoleArn of a customer master
key, IsRotate for a key change. It takes no ClientToken (the SDK's request has none)."""

from __future__ import annotations

from reconciler.core.ops import Op
from reconciler.plan.actions import KNOWN_AFTER_APPLY
from reconciler.plan.model import ref
from reconciler.plan.operations import Builder, Params, Views


def _modify_tde(views: Views) -> Params:
    _, _, after = views
    params: Params = {"DBInstanceId": after["instance_id"], "TDEStatus": after["tde_status"]}
    key = after["encryption_key"]
    if key == KNOWN_AFTER_APPLY:
        key = ref(after["key_address"], "key_id")
    if key is not None:
        params["EncryptionKey"] = key
    if after["role_arn"] is not None:
        params["RoleArn"] = after["role_arn"]
    if after["is_rotate"]:
        params["IsRotate"] = True
    return params


BUILDERS: dict[Op, Builder] = {Op.RDS_MODIFY_DB_INSTANCE_TDE: _modify_tde}
