"""Every API write of a change as data: `Operation{op, params}` with the wire names of the
request parameters, so apply interprets the plan and re-derives nothing.

The parameters come from the change's desired view (`after`) and, where a call removes
something (UntagResource), its observed view (`before`). A value that only an earlier change
produces (the id or ARN of a key being created) is a reference, `ref(address, attr)`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from reconciler.core.rules import rotation_interval
from reconciler.plan.actions import KNOWN_AFTER_APPLY, Op
from reconciler.plan.model import Operation, ref

KEY_SPEC = "Aliyun_AES_256"
"""CreateKey's KeySpec: the symmetric key RDS disk encryption uses."""
ROTATE_STRATEGY = "DeleteOldestNonDefaultVersionWhenLimitExceeded"

Params = dict[str, Any]
Views = tuple[str, dict[str, Any] | None, dict[str, Any]]
"""(address, before, after) of one change."""


def client_token(token_seed: str, address: str, op: str) -> str:
    """The ClientToken of a write, derived from the plan (its token seed, the address, the
    operation): re-applying the same plan after a crash sends the same token, so the cloud
    does the write once, even when the journal of the first run is gone. The seed is the
    plan's random plan_id (PlanContext.token_seed): a NEW plan, even one made in the same
    second from the same facts (we changed an instance, someone changed it back), must not
    send an old plan's token, which the cloud would answer with its first answer, doing
    nothing (docs/plan-format.md, "ClientToken")."""
    digest = hashlib.sha256(f"{token_seed}|{address}|{op}".encode()).hexdigest()
    return f"rcl-{digest[:40]}"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _tag_list(tags: dict[str, str]) -> str:
    return _json([{"TagKey": k, "TagValue": v} for k, v in sorted(tags.items())])


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
    return {"KeyId": _key_id(views), "TagKeys": _json(removed)}


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


_BUILDERS: dict[Op, Callable[[Views], Params]] = {
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
    Op.RAM_CREATE_POLICY: lambda v: {
        "PolicyName": v[2]["name"],
        "PolicyDocument": _json(v[2]["document"]),
        "Description": "Lets RDS use KMS keys tagged acs:rds:instance-encryption=true",
    },
    Op.RAM_CREATE_POLICY_VERSION: lambda v: {
        "PolicyName": v[2]["name"],
        "PolicyDocument": _json(v[2]["document"]),
        "SetAsDefault": True,
        "RotateStrategy": ROTATE_STRATEGY,
    },
    Op.RAM_CREATE_ROLE: lambda v: {
        "RoleName": v[2]["name"],
        "AssumeRolePolicyDocument": _json(v[2]["trust_document"]),
        "Description": "Lets RDS use KMS keys for disk encryption",
    },
    Op.RAM_UPDATE_ROLE: lambda v: {
        "RoleName": v[2]["name"],
        "NewAssumeRolePolicyDocument": _json(v[2]["trust_document"]),
    },
    Op.RDS_MODIFY_DB_INSTANCE_CONFIG: _modify_config,
}


def operations(
    ops: list[Op],
    address: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    *,
    token_seed: str,
) -> list[Operation]:
    """The Operations of one change, in order. Calls that take a ClientToken get one derived
    from the plan (`token_seed`: PlanContext.token_seed)."""
    views: Views = (address, before, after)
    built = []
    for op in ops:
        params = _BUILDERS[op](views)
        if op is Op.RDS_MODIFY_DB_INSTANCE_CONFIG:
            params["ClientToken"] = client_token(token_seed, address, op.value)
        built.append(Operation(op=op.value, params=params))
    return built
