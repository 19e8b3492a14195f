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
from reconciler.errors import ApplyError
from reconciler.plan.model import is_ref

WriteFn = Callable[[CloudClients, str, dict[str, Any]], Written]

WRITES: dict[str, WriteFn] = {
    "ram:CreatePolicy": ram.create_policy,
    "ram:CreatePolicyVersion": ram.create_policy_version,
    "ram:CreateRole": ram.create_role,
    "ram:UpdateRole": ram.update_role,
    "ram:AttachPolicyToRole": ram.attach_policy_to_role,
    "ram:DetachPolicyFromRole": ram.detach_policy_from_role,
    "kms:CreateKey": kms.create_key,
    "kms:CancelKeyDeletion": kms.cancel_key_deletion,
    "kms:EnableKey": kms.enable_key,
    "kms:UpdateKeyDescription": kms.update_key_description,
    "kms:UpdateRotationPolicy": kms.update_rotation_policy,
    "kms:TagResource": kms.tag_resource,
    "kms:UntagResource": kms.untag_resource,
    "kms:CreateAlias": kms.create_alias,
    "kms:SetDeletionProtection": kms.set_deletion_protection,
    "kms:DisableKey": kms.disable_key,
    "kms:ScheduleKeyDeletion": kms.schedule_key_deletion,
    "rds:ModifyDBInstanceConfig": rds.modify_config,
}

NOT_IDEMPOTENT = frozenset(
    {
        "kms:CreateKey",
        "kms:CreateAlias",
        "ram:CreatePolicy",
        "ram:CreateRole",
        "ram:AttachPolicyToRole",
        "ram:DetachPolicyFromRole",
    }
)
"""Writes without a ClientToken that fail when repeated or do it twice: never sent again after
a lost answer; the target is read instead to learn whether the call took effect."""

MODIFY_CONFIG = "rds:ModifyDBInstanceConfig"
PRODUCES = {"kms:CreateKey": ("key_id", "arn")}
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
