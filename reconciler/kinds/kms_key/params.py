"""The request parameters of the kind `kms_key`'s writes, by `Op` (plan/operations.py runs
them): what CreateKey, TagResource, UntagResource, CreateAlias, SetDeletionProtection,
EnableKey, DisableKey, CancelKeyDeletion, ScheduleKeyDeletion, UpdateRotationPolicy and
UpdateKeyDescription send (docs/plan-format.md, "Operations")."""

from __future__ import annotations

from typing import Any

from reconciler.core.ops import Op
from reconciler.core.rules import rotation_interval
from reconciler.plan.model import ref
from reconciler.plan.operations import Builder, Params, Views, json_param

KEY_SPEC = "Aliyun_AES_256"
"""CreateKey's KeySpec: the symmetric key RDS disk encryption uses."""


def _tag_list(tags: dict[str, str]) -> str:
    return json_param([{"TagKey": k, "TagValue": v} for k, v in sorted(tags.items())])


def _key_id(views: Views) -> Any:
    address, _, after = views
    return after.get("key_id") or ref(address, "key_id")


def _key_arn(views: Views) -> Any:
    address, _, after = views
    return after.get("key_arn") or ref(address, "arn")


def _interval(rotation: dict[str, Any]) -> str:
    return rotation_interval(int(rotation["interval_days"]))


def _create_key(views: Views) -> Params:
    after = views[2]
    params: Params = {
        "KeySpec": KEY_SPEC,
        "KeyUsage": "ENCRYPT/DECRYPT",
        "Origin": "Aliyun_KMS",
        "Description": after.get("description", ""),
        # CreateKey carries its tags: a crash before CreateAlias leaves a key the next plan
        # can find by its tags and adopt.
        "Tags": _tag_list(after["tags"]),
    }
    if after.get("kms_instance"):
        # In the KMS instance; without it KMS makes the region's default key
        # (docs/real-cloud.md, "KMS instances and default keys").
        params["DKMSInstanceId"] = after["kms_instance"]
    rotation = after.get("rotation")
    if rotation is not None:
        params["EnableAutomaticRotation"] = bool(rotation["enabled"])
        if rotation["enabled"]:
            params["RotationInterval"] = _interval(rotation)
    return params


def _tag(views: Views) -> Params:
    _, before, after = views
    old = (before or {}).get("tags", {})
    changed = {k: v for k, v in after["tags"].items() if old.get(k) != v}
    return {"KeyId": _key_id(views), "Tags": _tag_list(changed)}


def _untag(views: Views) -> Params:
    _, before, after = views
    removed = sorted(set((before or {}).get("tags", {})) - set(after["tags"]))
    return {"KeyId": _key_id(views), "TagKeys": json_param(removed)}


def _rotation(views: Views) -> Params:
    rotation = views[2]["rotation"]
    params: Params = {"KeyId": _key_id(views), "EnableAutomaticRotation": rotation["enabled"]}
    if rotation["enabled"]:
        params["RotationInterval"] = _interval(rotation)
    return params


def _protection(views: Views) -> Params:
    enabled = bool(views[2]["deletion_protection"])
    params: Params = {"ProtectedResourceArn": _key_arn(views), "EnableDeletionProtection": enabled}
    if enabled:
        params["DeletionProtectionDescription"] = "managed by rds-encryption-reconciler"
    return params


BUILDERS: dict[Op, Builder] = {
    Op.KMS_CREATE_KEY: _create_key,
    Op.KMS_TAG_RESOURCE: _tag,
    Op.KMS_UNTAG_RESOURCE: _untag,
    Op.KMS_CREATE_ALIAS: lambda v: {"AliasName": v[2]["alias"], "KeyId": _key_id(v)},
    Op.KMS_SET_DELETION_PROTECTION: _protection,
    Op.KMS_ENABLE_KEY: lambda v: {"KeyId": _key_id(v)},
    Op.KMS_DISABLE_KEY: lambda v: {"KeyId": _key_id(v)},
    Op.KMS_CANCEL_KEY_DELETION: lambda v: {"KeyId": _key_id(v)},
    Op.KMS_SCHEDULE_KEY_DELETION: lambda v: {
        "KeyId": _key_id(v),
        "PendingWindowInDays": v[2]["pending_window_days"],
    },
    Op.KMS_UPDATE_ROTATION_POLICY: _rotation,
    Op.KMS_UPDATE_KEY_DESCRIPTION: lambda v: {
        "KeyId": _key_id(v),
        "Description": v[2]["description"],
    },
}
