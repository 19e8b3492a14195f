"""KMS 2016-01-20 on the wire: one function per action (rules live in models.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reconciler.emulator import kms_activation
from reconciler.emulator.clock import iso
from reconciler.emulator.dispatch import Handler, RequestContext, register_service
from reconciler.emulator.errors import ApiError, invalid_parameter
from reconciler.emulator.kms import instances
from reconciler.emulator.kms import models as m
from reconciler.emulator.regions import REGIONS

_KEY_USAGES = ("ENCRYPT/DECRYPT", "SIGN/VERIFY")


def _page(ctx: RequestContext, items: list[Any], default_size: int = 10) -> tuple[list[Any], dict]:
    number = ctx.int_param("PageNumber", 1, lo=1) or 1
    size = ctx.int_param("PageSize", default_size, lo=1, hi=100) or default_size
    start = (number - 1) * size
    return items[start : start + size], {
        "PageNumber": number,
        "PageSize": size,
        "TotalCount": len(items),
    }


def _choice(ctx: RequestContext, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = ctx.str_param(name, default) or default
    if value not in allowed:
        raise invalid_parameter(name, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def create_key(ctx: RequestContext) -> dict[str, Any]:
    origin = _choice(ctx, "Origin", ("Aliyun_KMS", "EXTERNAL"), "Aliyun_KMS")
    key_id, now = m.new_key_id(ctx, ctx.region), ctx.now()
    description = ctx.str_param("Description", "") or ""
    if len(description) > 8192:
        raise invalid_parameter("Description", "longer than 8192 characters")
    record = m.KeyRecord(
        key_id=key_id,
        region=ctx.region,
        arn=m._key_arn(ctx.region, ctx.account_id, key_id),
        state=m.PENDING_IMPORT if origin == "EXTERNAL" else m.ENABLED,
        key_spec=_choice(ctx, "KeySpec", m.KEY_SPECS, "Aliyun_AES_256"),
        key_usage=_choice(ctx, "KeyUsage", _KEY_USAGES, "ENCRYPT/DECRYPT"),
        origin=origin,
        protection_level=_choice(ctx, "ProtectionLevel", ("SOFTWARE", "HSM"), "SOFTWARE"),
        creator=ctx.account_id,
        creation_date=iso(now),
        description=description,
        primary_key_version=m.key_version_id(key_id),
        dkms_instance_id=ctx.str_param("DKMSInstanceId", "") or "",
    )
    if ctx.bool_param("EnableAutomaticRotation", False):
        record.rotation_enabled = True
        record.rotation_interval_seconds = m.parse_rotation_interval(
            ctx.str_param("RotationInterval", "365d") or "365d"
        )
        record.rotation_start = iso(now)
    tags = ctx.json_param("Tags")
    if tags is not None:
        record.tags = m.parse_tags(tags)
    instances.admit_new_key(ctx, record)  # the KMS instance, or the region's one default key
    m.create_key(ctx, record)
    meta = m.key_metadata(record, now)
    # CreateKey's KeyMetadata has no DeletionProtection field (SDK CreateKeyResponseBody).
    meta.pop("DeletionProtection", None)
    return {"KeyMetadata": meta}


def describe_key(ctx: RequestContext) -> dict[str, Any]:
    record = m.require_key(ctx, ctx.required("KeyId"))
    return {"KeyMetadata": m.key_metadata(record, ctx.now())}


_FILTERS = {
    "KeyState": "state",
    "CreatorType": "creator_type",
    "KeySpec": "key_spec",
    "KeyUsage": "key_usage",
    "ProtectionLevel": "protection_level",
}


def list_keys(ctx: RequestContext) -> dict[str, Any]:
    records = m.live_keys(ctx, ctx.region)
    filters = ctx.json_param("Filters", [])
    if not isinstance(filters, list):
        raise invalid_parameter("Filters", "expected a JSON array")
    for item in filters:
        if not isinstance(item, dict) or item.get("Key") not in _FILTERS:
            raise invalid_parameter("Filters", f"unknown filter {item!r}")
        values = item.get("Values") or []
        attr = _FILTERS[item["Key"]]
        records = [r for r in records if getattr(r, attr) in values]
    page, info = _page(ctx, records)
    return {"Keys": {"Key": [{"KeyId": r.key_id, "KeyArn": r.arn} for r in page]}, **info}


def _check_new_alias(ctx: RequestContext, alias: str) -> None:
    if not m.ALIAS_PATTERN.match(alias):
        raise invalid_parameter("AliasName", "alias/ followed by 1-255 of A-Z a-z 0-9 _ / -")
    if alias.startswith(m.RESERVED_ALIAS_PREFIX) or alias == "alias/acs":
        raise ApiError(400, "Unsupported.Alias", "Alias is not valid for this api.")


def _alias_doc(ctx: RequestContext, alias: str) -> dict[str, Any] | None:
    doc = ctx.tx.get(m.ALIAS_KIND, ctx.region, alias)
    if doc is not None and m.find_key(ctx, doc["KeyId"]) is None:
        ctx.tx.delete(m.ALIAS_KIND, ctx.region, alias)  # its key was deleted
        return None
    return doc


def create_alias(ctx: RequestContext) -> dict[str, Any]:
    alias, key_ref = ctx.required("AliasName"), ctx.required("KeyId")
    _check_new_alias(ctx, alias)
    record = m.require_user_key(ctx, key_ref, "CreateAlias")
    if record.state == m.PENDING_DELETION:
        raise m.state_error("Rejected.StateModifiedFailed")
    if _alias_doc(ctx, alias) is not None:
        raise ApiError(400, "AliasAlreadyExists", f"The alias already exists: {alias}.")
    if ctx.tx.count(m.ALIAS_KIND, ctx.region) >= m.MAX_ALIASES_PER_REGION:
        raise ApiError(400, "Rejected.LimitExceeded", "The number of aliases exceeds the limit.")
    ctx.tx.put(m.ALIAS_KIND, ctx.region, alias, {"AliasName": alias, "KeyId": record.key_id})
    return {}


def update_alias(ctx: RequestContext) -> dict[str, Any]:
    alias, key_ref = ctx.required("AliasName"), ctx.required("KeyId")
    m.ensure_service_key(ctx, ctx.region)
    if alias.startswith(m.RESERVED_ALIAS_PREFIX):
        raise ApiError(400, "Unsupported.Alias", "Alias is not valid for this api.")
    if _alias_doc(ctx, alias) is None:
        raise m.alias_not_found()
    target = m.require_user_key(ctx, key_ref, "UpdateAlias")
    if target.state == m.PENDING_DELETION:  # only the target key's state counts
        raise m.state_error("Rejected.PendingDeletion")
    ctx.tx.put(m.ALIAS_KIND, ctx.region, alias, {"AliasName": alias, "KeyId": target.key_id})
    return {}


def delete_alias(ctx: RequestContext) -> dict[str, Any]:
    alias = ctx.required("AliasName")
    m.ensure_service_key(ctx, ctx.region)
    if alias.startswith(m.RESERVED_ALIAS_PREFIX):
        raise ApiError(400, "Unsupported.Alias", "Alias is not valid for this api.")
    if _alias_doc(ctx, alias) is None:
        raise m.alias_not_found()
    ctx.tx.delete(m.ALIAS_KIND, ctx.region, alias)
    return {}


def _alias_items(ctx: RequestContext, docs: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "AliasName": d["AliasName"],
            "KeyId": d["KeyId"],
            "AliasArn": m.alias_arn(ctx.region, ctx.account_id, d["AliasName"]),
        }
        for d in docs
    ]


def list_aliases(ctx: RequestContext) -> dict[str, Any]:
    live = {r.key_id for r in m.live_keys(ctx, ctx.region)}
    docs = [d for d in ctx.tx.list(m.ALIAS_KIND, ctx.region) if d["KeyId"] in live]
    page, info = _page(ctx, docs)
    return {"Aliases": {"Alias": _alias_items(ctx, page)}, **info}


def list_aliases_by_key_id(ctx: RequestContext) -> dict[str, Any]:
    record = m.require_key(ctx, ctx.required("KeyId"))
    docs = [ctx.tx.get(m.ALIAS_KIND, ctx.region, a) for a in m.aliases_of(ctx, record.key_id)]
    page, info = _page(ctx, [d for d in docs if d])
    return {"Aliases": {"Alias": _alias_items(ctx, page)}, **info}


def _taggable(ctx: RequestContext, operation: str) -> m.KeyRecord:
    record = m.require_user_key(ctx, ctx.required("KeyId"), operation)
    if record.state == m.PENDING_DELETION:
        raise m.state_error("Rejected.PendingDeletion")
    return record


def tag_resource(ctx: RequestContext) -> dict[str, Any]:
    record = _taggable(ctx, "TagResource")
    tags = m.parse_tags(ctx.json_param("Tags") if ctx.str_param("Tags") else None)
    if len({**record.tags, **tags}) > 20:
        raise ApiError(400, "Rejected.LimitExceeded", "A key can have at most 20 tags.")
    record.tags.update(tags)
    m.save(ctx, record)
    return {}


def untag_resource(ctx: RequestContext) -> dict[str, Any]:
    record = _taggable(ctx, "UntagResource")
    for key in m.parse_tag_keys(ctx.required("TagKeys")):
        record.tags.pop(key, None)
    m.save(ctx, record)
    return {}


def list_resource_tags(ctx: RequestContext) -> dict[str, Any]:
    record = m.require_key(ctx, ctx.required("KeyId"))
    tags = [{"KeyId": record.key_id, "TagKey": k, "TagValue": v} for k, v in record.tags.items()]
    return {"Tags": {"Tag": tags}}


def _set_enabled(ctx: RequestContext, operation: str, state: str) -> dict[str, Any]:
    record = m.require_user_key(ctx, ctx.required("KeyId"), operation)
    if record.state not in (m.ENABLED, m.DISABLED):
        raise m.state_error("Rejected.StateModifiedFailed")
    record.state = state
    record.mark_usable(state == m.ENABLED, ctx.now().timestamp())
    m.save(ctx, record)
    return {}


def enable_key(ctx: RequestContext) -> dict[str, Any]:
    return _set_enabled(ctx, "EnableKey", m.ENABLED)


def disable_key(ctx: RequestContext) -> dict[str, Any]:
    return _set_enabled(ctx, "DisableKey", m.DISABLED)


def schedule_key_deletion(ctx: RequestContext) -> dict[str, Any]:
    key_ref = ctx.required("KeyId")
    days = ctx.int_param("PendingWindowInDays", lo=7, hi=366)
    if days is None:
        ctx.required("PendingWindowInDays")
    record = m.require_user_key(ctx, key_ref, "ScheduleKeyDeletion")
    if record.state == m.PENDING_DELETION:
        raise m.state_error("Rejected.StateModifiedFailed")
    if record.deletion_protection:
        raise m.no_permission("the key has deletion protection enabled.")
    record.state = m.PENDING_DELETION
    record.delete_date = iso(ctx.now() + timedelta(days=days or 7))
    record.mark_usable(False, ctx.now().timestamp())
    m.save(ctx, record)
    return {}


def cancel_key_deletion(ctx: RequestContext) -> dict[str, Any]:
    record = m.require_user_key(ctx, ctx.required("KeyId"), "CancelKeyDeletion")
    if record.state != m.PENDING_DELETION:
        raise m.state_error("Rejected.StateModifiedFailed")
    record.state, record.delete_date = m.ENABLED, ""
    record.mark_usable(True, ctx.now().timestamp())
    m.save(ctx, record)
    return {}


def update_rotation_policy(ctx: RequestContext) -> dict[str, Any]:
    key_ref = ctx.required("KeyId")
    enable = ctx.bool_param("EnableAutomaticRotation")
    if enable is None:
        ctx.required("EnableAutomaticRotation")
    record = m.require_user_key(ctx, key_ref, "UpdateRotationPolicy")
    state_codes = {
        m.DISABLED: "Rejected.Disabled",
        m.PENDING_DELETION: "Rejected.PendingDeletion",
        m.PENDING_IMPORT: "Rejected.PendingImport",
    }
    if record.state in state_codes:
        raise m.state_error(state_codes[record.state])
    instances.check_rotation(ctx, record, bool(enable))
    record.last_rotation_date = m.rotation_view(record, ctx.now())["LastRotationDate"]
    if enable:
        record.rotation_interval_seconds = m.parse_rotation_interval(
            ctx.required("RotationInterval")
        )
        record.rotation_start = iso(ctx.now())
    record.rotation_enabled = bool(enable)
    m.save(ctx, record)
    return {}


def set_deletion_protection(ctx: RequestContext) -> dict[str, Any]:
    key_ref = ctx.str_param("ProtectedResourceArn") or ctx.required("KeyId")
    enable = ctx.bool_param("EnableDeletionProtection")
    if enable is None:
        ctx.required("EnableDeletionProtection")
    record = m.require_user_key(ctx, key_ref, "SetDeletionProtection")
    record.deletion_protection = bool(enable)
    record.deletion_protection_description = (
        ctx.str_param("DeletionProtectionDescription", "") or "" if enable else ""
    )
    m.save(ctx, record)
    return {}


def update_key_description(ctx: RequestContext) -> dict[str, Any]:
    key_ref = ctx.required("KeyId")
    description = ctx.params.get("Description")
    if description is None:
        ctx.required("Description")
    record = m.require_user_key(ctx, key_ref, "UpdateKeyDescription")
    if record.state == m.PENDING_DELETION:
        raise m.state_error("Rejected.PendingDeletion")
    record.description = description or ""
    m.save(ctx, record)
    return {}


def describe_account_kms_status(ctx: RequestContext) -> dict[str, Any]:
    """One of the documented ``Enabled``, ``NotEnabled``, ``InDebt``, ``Suspended`` (the
    account's status is set by a seed or ``POST /_emulator/kms``; see kms_activation)."""
    return {"AccountStatus": kms_activation.status(ctx.tx)}


def describe_regions(ctx: RequestContext) -> dict[str, Any]:
    return {"Regions": {"Region": [{"RegionId": r} for r in REGIONS]}}


ACTIONS = {
    "CreateKey": create_key,
    "DescribeKey": describe_key,
    "ListKeys": list_keys,
    "CreateAlias": create_alias,
    "UpdateAlias": update_alias,
    "DeleteAlias": delete_alias,
    "ListAliases": list_aliases,
    "ListAliasesByKeyId": list_aliases_by_key_id,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListResourceTags": list_resource_tags,
    "EnableKey": enable_key,
    "DisableKey": disable_key,
    "ScheduleKeyDeletion": schedule_key_deletion,
    "CancelKeyDeletion": cancel_key_deletion,
    "UpdateRotationPolicy": update_rotation_policy,
    "SetDeletionProtection": set_deletion_protection,
    "UpdateKeyDescription": update_key_description,
    "DescribeAccountKmsStatus": describe_account_kms_status,
    "DescribeRegions": describe_regions,
    **instances.ACTIONS,
}


def _when_serving(name: str, handler: Handler) -> Handler:
    """The account's KMS status first: 403 Forbidden.KmsServiceNotEnabled when KMS is not
    activated; a write while InDebt or Suspended is refused (see kms_activation)."""

    def guarded(ctx: RequestContext) -> dict[str, Any]:
        kms_activation.check_action(ctx.tx, name)
        return handler(ctx)

    return guarded


# "This parameter is required." in the SDK's request models. TagResource/UntagResource also
# need KeyId here (the emulator tags keys only; the SDK leaves it optional for secrets and
# certificates).
REQUIRED = {
    "DescribeKey": ("KeyId",),
    "CreateAlias": ("AliasName", "KeyId"),
    "UpdateAlias": ("AliasName", "KeyId"),
    "DeleteAlias": ("AliasName",),
    "ListAliasesByKeyId": ("KeyId",),
    "TagResource": ("KeyId", "Tags"),
    "UntagResource": ("KeyId", "TagKeys"),
    "ListResourceTags": ("KeyId",),
    "EnableKey": ("KeyId",),
    "DisableKey": ("KeyId",),
    "ScheduleKeyDeletion": ("KeyId", "PendingWindowInDays"),
    "CancelKeyDeletion": ("KeyId",),
    "UpdateRotationPolicy": ("KeyId", "EnableAutomaticRotation"),
    "SetDeletionProtection": ("EnableDeletionProtection",),
    "UpdateKeyDescription": ("KeyId", "Description"),
    **instances.REQUIRED,
}

register_service(
    "kms",
    "2016-01-20",
    {name: _when_serving(name, handler) for name, handler in ACTIONS.items()},
    regional=True,
    http_status_in_errors=True,
    required=REQUIRED,
)
