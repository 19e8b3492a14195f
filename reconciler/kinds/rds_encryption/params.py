"""The request parameters of the kind `rds_encryption`'s write (plan/operations.py runs them):
ModifyDBInstanceConfig with ConfigName encryptionKey; it takes a ClientToken derived from the
plan (docs/plan-format.md, "ClientToken")."""

from __future__ import annotations

from reconciler.core.ops import Op
from reconciler.plan.actions import KNOWN_AFTER_APPLY
from reconciler.plan.model import ref
from reconciler.plan.operations import Builder, Params, Views


def _modify_config(views: Views) -> Params:
    _, _, after = views
    value = after["config_value"]
    if value == KNOWN_AFTER_APPLY:
        value = ref(after["key_address"], "key_id")
    return {
        "DBInstanceId": after["instance_id"],
        "ConfigName": after["config_name"],
        "ConfigValue": value,
        "SwitchTimeMode": after["switch_time_mode"],
    }


BUILDERS: dict[Op, Builder] = {Op.RDS_MODIFY_DB_INSTANCE_CONFIG: _modify_config}
TOKENED = frozenset({Op.RDS_MODIFY_DB_INSTANCE_CONFIG})
"""The writes that take a ClientToken (ModifyDBInstanceConfig: RDS makes it idempotent)."""
