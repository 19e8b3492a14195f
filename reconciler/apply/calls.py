"""Plan operations -> cloud write functions, and the typed references between changes.

Apply interprets `Operation{op, params}` and re-derives nothing: each op name maps to the one
function in cloud/{kms,ram,rds}.py that sends it; a `{"ref": address, "attr": ...}` value is
replaced by what an earlier change produced (CreateKey's KeyId and Arn).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.cloud import kms, ram, rds
from reconciler.cloud.clients import CloudClients
from reconciler.cloud.writes import Written
from reconciler.core.ops import Op
from reconciler.errors import ApplyError
from reconciler.plan.model import is_ref

WriteFn = Callable[[CloudClients, str, dict[str, Any]], Written]

WRITES: dict[Op, WriteFn] = {
    Op.RAM_CREATE_POLICY: ram.create_policy,
    Op.RAM_CREATE_POLICY_VERSION: ram.create_policy_version,
    Op.RAM_CREATE_ROLE: ram.create_role,
    Op.RAM_UPDATE_ROLE: ram.update_role,
    Op.RAM_ATTACH_POLICY_TO_ROLE: ram.attach_policy_to_role,
    Op.RAM_DETACH_POLICY_FROM_ROLE: ram.detach_policy_from_role,
    Op.KMS_CREATE_KEY: kms.create_key,
    Op.KMS_CANCEL_KEY_DELETION: kms.cancel_key_deletion,
    Op.KMS_ENABLE_KEY: kms.enable_key,
    Op.KMS_UPDATE_KEY_DESCRIPTION: kms.update_key_description,
    Op.KMS_UPDATE_ROTATION_POLICY: kms.update_rotation_policy,
    Op.KMS_TAG_RESOURCE: kms.tag_resource,
    Op.KMS_UNTAG_RESOURCE: kms.untag_resource,
    Op.KMS_CREATE_ALIAS: kms.create_alias,
    Op.KMS_SET_DELETION_PROTECTION: kms.set_deletion_protection,
    Op.KMS_DISABLE_KEY: kms.disable_key,
    Op.KMS_SCHEDULE_KEY_DELETION: kms.schedule_key_deletion,
    Op.RDS_MODIFY_DB_INSTANCE_CONFIG: rds.modify_config,
}

NOT_IDEMPOTENT: frozenset[Op] = frozenset(
    {
        Op.KMS_CREATE_KEY,
        Op.KMS_CREATE_ALIAS,
        Op.RAM_CREATE_POLICY,
        Op.RAM_CREATE_ROLE,
        Op.RAM_ATTACH_POLICY_TO_ROLE,
        Op.RAM_DETACH_POLICY_FROM_ROLE,
    }
)
"""Writes without a ClientToken that fail when repeated or do it twice: never sent again after
a lost answer; the target is read instead to learn whether the call took effect."""

PRODUCES: dict[Op, tuple[str, ...]] = {Op.KMS_CREATE_KEY: ("key_id", "arn")}
"""Attributes an op's answer provides for references."""


def resolve(params: dict[str, Any], outputs: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The params with every reference replaced by the value its change produced."""
    resolved: dict[str, Any] = {}
    for name, value in params.items():
        if is_ref(value):
            produced = outputs.get(value["ref"], {})
            if value["attr"] not in produced:
                raise ApplyError(
                    f"{name} refers to {value['attr']} of {value['ref']}, which this run has "
                    "not produced; nothing more is written"
                )
            resolved[name] = produced[value["attr"]]
        else:
            resolved[name] = value
    return resolved
