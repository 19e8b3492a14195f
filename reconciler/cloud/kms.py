"""KMS reads (2016-01-20, regional) -> our models. The only module that touches KMS SDK classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.cloud.answers import absent, reading
from reconciler.cloud.clients import CloudClients
from reconciler.cloud.retry import Family, family_of
from reconciler.core.facts import ObservedKey, ObservedKmsInstance
from reconciler.core.ops import Op
from reconciler.core.rules import SERVICE_KEY_ALIAS, account_of_arn, rotation_days
from reconciler.errors import PermanentError

KEY_ABSENT = ("Forbidden.KeyNotFound", "Forbidden.AliasNotFound")
"""DescribeKey's documented answers for a key id or alias that does not exist."""


def _models() -> Any:
    from alibabacloud_kms20160120 import models

    return models


def _is(error: PermanentError, *families: Family) -> bool:
    return family_of(error) in families


def kms_not_enabled(error: BaseException) -> bool:
    """Whether an error says KMS is not activated in the account: a not-authorised answer
    whose code says the service is not enabled (the cloud's Forbidden.KmsServiceNotEnabled).
    Classified by family and pattern, not by the exact spelling."""
    return (
        isinstance(error, PermanentError)
        and _is(error, Family.NOT_AUTHORIZED)
        and "notenabled" in error.code.lower().replace("_", "")
    )


def describe_key(clients: CloudClients, region: str, key_ref: str) -> dict[str, Any] | None:
    """KeyMetadata (wire names) of a key id or `alias/...`; None when no such key or alias."""
    request = _models().DescribeKeyRequest(key_id=key_ref)
    with reading("kms:DescribeKey", key_ref):
        try:
            response = clients.call("kms", region, "DescribeKey", lambda c: c.describe_key(request))
        except PermanentError as error:
            if absent(error, *KEY_ABSENT):
                return None
            raise
        metadata = (response.body.to_map() or {})["KeyMetadata"]
        if not isinstance(metadata, dict) or not metadata.get("KeyId"):
            raise ValueError("KeyMetadata without a KeyId")
        return metadata


def list_tags(clients: CloudClients, region: str, key_id: str) -> dict[str, str]:
    request = _models().ListResourceTagsRequest(key_id=key_id)
    with reading("kms:ListResourceTags", key_id):
        response = clients.call(
            "kms", region, "ListResourceTags", lambda c: c.list_resource_tags(request)
        )
        # `Tags` must be there (an answer without it is not "no tags": UnexpectedAnswer).
        tags = ((response.body.to_map() or {})["Tags"] or {}).get("Tag") or []
        return {str(t["TagKey"]): str(t.get("TagValue") or "") for t in tags}


def list_aliases(clients: CloudClients, region: str, key_id: str) -> list[str]:
    request = _models().ListAliasesByKeyIdRequest(key_id=key_id, page_size=100)
    with reading("kms:ListAliasesByKeyId", key_id):
        response = clients.call(
            "kms", region, "ListAliasesByKeyId", lambda c: c.list_aliases_by_key_id(request)
        )
        aliases = ((response.body.to_map() or {})["Aliases"] or {}).get("Alias") or []
        return sorted(str(a["AliasName"]) for a in aliases)


def observe_key(
    clients: CloudClients, region: str, key_ref: str, *, known_alias: str | None = None
) -> ObservedKey | None:
    """DescribeKey + ListResourceTags (+ ListAliasesByKeyId when the key was named by id).

    When found by alias, that alias is known to point at the key, so the alias list is not
    read: the plan only needs to know that the spec's alias exists."""
    metadata = describe_key(clients, region, key_ref)
    if metadata is None:
        return None
    key_id = metadata["KeyId"]
    tags = list_tags(clients, region, key_id)
    aliases = [known_alias] if known_alias else list_aliases(clients, region, key_id)
    with reading("kms:DescribeKey", key_ref):
        return key_from_metadata(metadata, region, tags=tags, aliases=aliases)


@dataclass(frozen=True)
class KeyRead:
    """A key read that tells "no such key" from "KMS is not activated" (both: no key)."""

    key: ObservedKey | None
    kms_activated: bool = True


def read_key(
    clients: CloudClients, region: str, key_ref: str, *, known_alias: str | None = None
) -> KeyRead:
    """`observe_key`, but Forbidden.KmsServiceNotEnabled on any of its reads (DescribeKey,
    ListResourceTags, ListAliasesByKeyId) means no key and KMS not activated, not an error."""
    try:
        return KeyRead(observe_key(clients, region, key_ref, known_alias=known_alias))
    except PermanentError as error:
        if kms_not_enabled(error):
            return KeyRead(None, kms_activated=False)
        raise


def key_from_metadata(
    metadata: dict[str, Any], region: str, *, tags: dict[str, str], aliases: list[str]
) -> ObservedKey:
    return ObservedKey(
        key_id=metadata["KeyId"],
        arn=metadata.get("Arn", ""),
        region=region,
        state=metadata["KeyState"],
        description=metadata.get("Description") or "",
        deletion_protection=str(metadata.get("DeletionProtection", "")).lower() == "enabled",
        rotation_enabled=str(metadata.get("AutomaticRotation", "")).lower() == "enabled",
        rotation_interval_days=rotation_days(metadata.get("RotationInterval")),
        tags=tags,
        aliases=sorted(aliases),
        delete_date=metadata.get("DeleteDate") or None,
        creator=metadata.get("Creator") or None,
        dkms_instance_id=str(metadata.get("DKMSInstanceId") or ""),
    )


@dataclass(frozen=True)
class ServiceKeyFacts:
    key_id: str | None
    account_id: str | None
    kms_activated: bool


def service_key(clients: CloudClients, region: str) -> ServiceKeyFacts:
    """The id of `alias/acs/rds` in `region` and the account id from its ARN.

    An answer of the not-authorised family whose code says the service is not enabled means
    KMS is not activated (Forbidden.KmsServiceNotEnabled)."""
    try:
        metadata = describe_key(clients, region, SERVICE_KEY_ALIAS)
    except PermanentError as error:
        if kms_not_enabled(error):
            return ServiceKeyFacts(None, None, kms_activated=False)
        raise
    if metadata is None:
        return ServiceKeyFacts(None, None, kms_activated=True)
    account = account_of_arn(str(metadata.get("Arn") or ""))
    return ServiceKeyFacts(str(metadata["KeyId"]), account, kms_activated=True)


ACCOUNT_STATUSES = {
    "enabled": "Enabled",
    "notenabled": "NotEnabled",
    "indebt": "InDebt",
    "suspended": "Suspended",
    "disabled": "NotEnabled",  # what older emulator states answer
}
"""DescribeAccountKmsStatus's documented values (SDK: Enabled, NotEnabled, InDebt, Suspended),
by their lower-case spelling."""


def account_status(clients: CloudClients, region: str) -> str:
    """DescribeAccountKmsStatus as one of the documented values: ``Enabled``, ``NotEnabled``,
    ``InDebt`` (the account is overdue: KMS stops providing services), ``Suspended``. A
    not-enabled answer of the call itself (Forbidden.KmsServiceNotEnabled) is ``NotEnabled``."""
    try:
        response = clients.call(
            "kms", region, "DescribeAccountKmsStatus", lambda c: c.describe_account_kms_status()
        )
    except PermanentError as error:
        if kms_not_enabled(error):
            return "NotEnabled"
        raise
    with reading("kms:DescribeAccountKmsStatus", f"the account's KMS in {region}"):
        status = str((response.body.to_map() or {})["AccountStatus"])
        if status.lower() not in ACCOUNT_STATUSES:
            raise ValueError(f"unknown AccountStatus {status.lower()!r}")
        return ACCOUNT_STATUSES[status.lower()]


def kms_activated(clients: CloudClients, region: str) -> bool:
    """DescribeAccountKmsStatus: only `Enabled` counts as activated."""
    return account_status(clients, region) == "Enabled"


# --- KMS instances (KMS 3.0) -----------------------------------------------------------------

KMS_INSTANCE_ABSENT = ("Forbidden.ResourceNotFound",)
"""GetKmsInstance's answer for an instance id that does not exist. Alibaba documents no code:
this is the emulator's (docs/real-cloud.md, "KMS instances and default keys"); any other error
stops the plan, so a different real code is safe (an error, never "absent")."""
KMS_INSTANCE_STATUSES = ("Uninitialized", "Connecting", "Connected", "Disconnected", "Error")


def kms_instance(
    clients: CloudClients, region: str, instance_id: str
) -> ObservedKmsInstance | None:
    """GetKmsInstance + GetKmsInstanceQuotaInfos(key) of one instance; None when it does not
    exist. A status outside the documented five, a KeyNum or quota that is not a number, or an
    EndDate that is not a time is an UnexpectedAnswer (the plan stops)."""
    request = _models().GetKmsInstanceRequest(kms_instance_id=instance_id)
    with reading("kms:GetKmsInstance", instance_id):
        try:
            response = clients.call(
                "kms", region, "GetKmsInstance", lambda c: c.get_kms_instance(request)
            )
        except PermanentError as error:
            if absent(error, *KMS_INSTANCE_ABSENT):
                return None
            raise
        found = (response.body.to_map() or {})["KmsInstance"]
        if found.get("InstanceId") != instance_id:
            raise ValueError(
                f"asked for {instance_id}, the answer is about {found.get('InstanceId')}"
            )
        if found["Status"] not in KMS_INSTANCE_STATUSES:
            raise ValueError(f"unknown Status {found['Status']!r}")
        key_num = _count(found["KeyNum"], "KeyNum")
        end_date = _time(found.get("EndDate"), "EndDate")
    quota, used = kms_instance_key_quota(clients, region, instance_id)
    return ObservedKmsInstance(
        instance_id=instance_id,
        region=region,
        status=found["Status"],
        end_date=end_date,
        start_date=str(found.get("StartDate") or "") or None,
        charge_type=str(found.get("ChargeType") or ""),
        key_num=min(key_num, quota),  # the smaller of two bounds: never more room than either
        keys_used=used,
    )


def kms_instance_key_quota(clients: CloudClients, region: str, instance_id: str) -> tuple[int, int]:
    """(ResourceQuota, UsedQuantity) of the instance's `key` quota."""
    request = _models().GetKmsInstanceQuotaInfosRequest(
        kms_instance_id=instance_id, resource_type="key"
    )
    with reading("kms:GetKmsInstanceQuotaInfos", instance_id):
        response = clients.call(
            "kms",
            region,
            "GetKmsInstanceQuotaInfos",
            lambda c: c.get_kms_instance_quota_infos(request),
        )
        infos = (response.body.to_map() or {})["KmsInstanceQuotaInfos"]
        keys = [q for q in infos if q.get("ResourceType") == "key"]
        if len(keys) != 1:
            raise ValueError(f"{len(keys)} key quotas in the answer, expected one")
        quota = _count(keys[0]["ResourceQuota"], "ResourceQuota")
        return quota, _count(keys[0]["UsedQuantity"], "UsedQuantity")


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} is not a count: {value!r}")
    return value


def _time(value: Any, name: str) -> str | None:
    """An ISO 8601 time as the cloud writes it (2027-01-01T00:00:00Z), checked; None if absent."""
    from datetime import datetime

    if value in (None, ""):
        return None
    text = str(value)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{name} {text!r} has no time zone")
    return text


# --- writes (apply): one function per plan operation, params by wire name -------------------


def _kms_write(clients: CloudClients, region: str, op: Op, method: str, params: dict) -> Any:
    from reconciler.cloud.writes import write

    return write(clients, op, region, _models(), method, params)


def create_key(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    """CreateKey: not idempotent (no ClientToken), so never repeated after a lost answer.
    Outputs `key_id` and `arn` from KeyMetadata."""
    from dataclasses import replace

    written = _kms_write(clients, region, Op.KMS_CREATE_KEY, "create_key", params)
    with reading(Op.KMS_CREATE_KEY, "the new key"):
        metadata = written.body["KeyMetadata"]
        outputs = {"key_id": str(metadata["KeyId"]), "arn": str(metadata["Arn"])}
    return replace(written, outputs=outputs)


def create_alias(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    """CreateAlias: not idempotent; after a lost answer, read the alias (`alias_target`)."""
    return _kms_write(clients, region, Op.KMS_CREATE_ALIAS, "create_alias", params)


def tag_resource(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _kms_write(clients, region, Op.KMS_TAG_RESOURCE, "tag_resource", params)


def untag_resource(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _kms_write(clients, region, Op.KMS_UNTAG_RESOURCE, "untag_resource", params)


def enable_key(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _kms_write(clients, region, Op.KMS_ENABLE_KEY, "enable_key", params)


def disable_key(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _kms_write(clients, region, Op.KMS_DISABLE_KEY, "disable_key", params)


def cancel_key_deletion(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _kms_write(clients, region, Op.KMS_CANCEL_KEY_DELETION, "cancel_key_deletion", params)


def schedule_key_deletion(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _kms_write(
        clients, region, Op.KMS_SCHEDULE_KEY_DELETION, "schedule_key_deletion", params
    )


def update_rotation_policy(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _kms_write(
        clients, region, Op.KMS_UPDATE_ROTATION_POLICY, "update_rotation_policy", params
    )


def set_deletion_protection(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _kms_write(
        clients, region, Op.KMS_SET_DELETION_PROTECTION, "set_deletion_protection", params
    )


def update_key_description(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    return _kms_write(
        clients, region, Op.KMS_UPDATE_KEY_DESCRIPTION, "update_key_description", params
    )


PAGE_SIZE = 100


def _pages(
    clients: CloudClients, region: str, action: str, send: Any, wrapper: str, field: str
) -> list:
    """Every item of a paged KMS list (ListKeys, ListAliases), 100 a page; `send(number)`
    sends the request of one page."""
    items: list = []
    number = 1
    while True:
        with reading(f"kms:{action}", f"the keys of {region}"):
            body = send(number).body.to_map() or {}
            page = (body[wrapper] or {}).get(field) or []
            items += page
            total = int(body["TotalCount"])
        if not page or number * PAGE_SIZE >= total:
            return items
        number += 1


def _list_keys(clients: CloudClients, region: str, number: int) -> Any:
    """One page of the region's Enabled keys that a user made (the service key left out)."""
    request = _models().ListKeysRequest(
        page_number=number,
        page_size=PAGE_SIZE,
        filters='[{"Key":"KeyState","Values":["Enabled"]},{"Key":"CreatorType","Values":["User"]}]',
    )
    return clients.call("kms", region, "ListKeys", lambda c: c.list_keys(request))


def _list_aliases(clients: CloudClients, region: str, number: int) -> Any:
    request = _models().ListAliasesRequest(page_number=number, page_size=PAGE_SIZE)
    return clients.call("kms", region, "ListAliases", lambda c: c.list_aliases(request))


def aliasless_keys(clients: CloudClients, region: str) -> dict[str, dict[str, str]]:
    """The Enabled user keys of a region that have no alias, each with its tags: ListKeys and
    ListAliases (100 a page) and one ListResourceTags per such key.

    Where a CreateKey's answer was lost, the key it made has its tags (CreateKey carries them)
    but no alias yet: the planner adopts it instead of creating another (observe calls this
    only for a region where a spec key's alias is absent)."""
    keys = _pages(
        clients, region, "ListKeys", lambda n: _list_keys(clients, region, n), "Keys", "Key"
    )
    aliases = _pages(
        clients,
        region,
        "ListAliases",
        lambda n: _list_aliases(clients, region, n),
        "Aliases",
        "Alias",
    )
    with reading("kms:ListAliases", f"the keys of {region}"):
        named = {str(a["KeyId"]) for a in aliases}
        ids = sorted({str(k["KeyId"]) for k in keys} - named)
    return {key_id: list_tags(clients, region, key_id) for key_id in ids}


def adopt_key(clients: CloudClients, region: str, key_ids: list[str]) -> ObservedKey | None:
    """The first-created of `key_ids` (alias-less keys that match a spec key) that is still
    Enabled, read as an ObservedKey with no alias; None when none is."""
    found: list[tuple[str, str, ObservedKey]] = []
    for key_id in key_ids:
        metadata = describe_key(clients, region, key_id)
        if metadata is None or metadata.get("KeyState") != "Enabled":
            continue
        tags = list_tags(clients, region, key_id)
        with reading("kms:DescribeKey", key_id):
            key = key_from_metadata(metadata, region, tags=tags, aliases=[])
            found.append((str(metadata.get("CreationDate") or ""), key_id, key))
    return min(found, key=lambda item: item[:2])[2] if found else None


def alias_target(clients: CloudClients, region: str, alias: str) -> str | None:
    """The key id an alias points at now; None when the alias does not exist."""
    metadata = describe_key(clients, region, alias)
    return None if metadata is None else str(metadata["KeyId"])
