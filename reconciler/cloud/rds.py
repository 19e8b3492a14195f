"""RDS reads (2014-08-15) -> our models. The only module that touches RDS SDK classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.cloud.answers import absent, reading
from reconciler.cloud.clients import CloudClients
from reconciler.errors import PermanentError
from reconciler.state.models import ObservedEncryption, ObservedInstance

PAGE_SIZE = 100
ENGINE = "PostgreSQL"
INSTANCE_ABSENT = ("InvalidDBInstanceId.NotFound",)
"""The documented answer for an instance id that does not exist."""


def _models() -> Any:
    from alibabacloud_rds20140815 import models

    return models


@dataclass(frozen=True)
class InstancePage:
    items: list[dict[str, Any]]
    total: int


def list_instances(
    clients: CloudClients, region: str, page: int, *, all_engines: bool = False
) -> InstancePage:
    """One page (100 a page) of the PostgreSQL instances of a region, or of every engine's
    (a MySQL or SQL Server instance may use a KMS key too, and a disabled key locks it)."""
    request = _models().DescribeDBInstancesRequest(
        region_id=region,
        engine=None if all_engines else ENGINE,
        page_size=PAGE_SIZE,
        page_number=page,
    )
    with reading("rds:DescribeDBInstances", f"{region} page {page}"):
        response = clients.call(
            "rds", region, "DescribeDBInstances", lambda c: c.describe_dbinstances(request)
        )
        body = response.body.to_map() or {}
        items = _instance_items(body)
        total = int(body["TotalRecordCount"])
        if total < 0:
            raise ValueError(f"TotalRecordCount {total}")
        return InstancePage(items=items, total=total)


def _instance_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The DBInstance list; every item must carry its id (an item without one cannot be
    matched to the spec, so the page cannot be trusted)."""
    items = (body.get("Items") or {}).get("DBInstance") or []
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and i.get("DBInstanceId") for i in items
    ):
        raise ValueError("an item of the instance list has no DBInstanceId")
    return items


def find_instance(clients: CloudClients, region: str, instance_id: str) -> dict[str, Any] | None:
    """Look one instance up by id, any engine (a declared instance missing from the PostgreSQL
    list may exist with another engine, which is a different refusal than not found)."""
    request = _models().DescribeDBInstancesRequest(region_id=region, dbinstance_id=instance_id)
    with reading("rds:DescribeDBInstances", instance_id):
        try:
            response = clients.call(
                "rds", region, "DescribeDBInstances", lambda c: c.describe_dbinstances(request)
            )
        except PermanentError as error:
            if absent(error, *INSTANCE_ABSENT):
                return None
            raise
        items = _instance_items(response.body.to_map() or {})
        return next((i for i in items if i["DBInstanceId"] == instance_id), None)


def attribute(clients: CloudClients, region: str, instance_id: str) -> dict[str, Any]:
    """DescribeDBInstanceAttribute: carries DBInstanceClassType and MaintainTime, which the
    list does not. The instance was listed, so any error (not found included) stops the plan."""
    request = _models().DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
    with reading("rds:DescribeDBInstanceAttribute", instance_id):
        response = clients.call(
            "rds",
            region,
            "DescribeDBInstanceAttribute",
            lambda c: c.describe_dbinstance_attribute(request),
        )
        body = response.body.to_map() or {}
        items = (body.get("Items") or {}).get("DBInstanceAttribute") or []
        found = [i for i in items if isinstance(i, dict) and i.get("DBInstanceId") == instance_id]
        if len(found) != 1:
            raise ValueError(f"{len(found)} attribute records for the instance")
        return found[0]


def encryption(
    clients: CloudClients, region: str, instance_id: str, service_key_id: str | None
) -> ObservedEncryption:
    """Disk encryption of one instance.

    Off answers success with an empty EncryptionKey (reference/alibaba-api-details.md section
    1); on the service key it answers that key's id. Every error stops the plan: a failed read
    is never "encryption off" (an instance that cannot say is refused, not guessed)."""
    request = _models().DescribeDBInstanceEncryptionKeyRequest(
        dbinstance_id=instance_id, region_id=region
    )
    with reading("rds:DescribeDBInstanceEncryptionKey", instance_id):
        response = clients.call(
            "rds",
            region,
            "DescribeDBInstanceEncryptionKey",
            lambda c: c.describe_dbinstance_encryption_key(request),
        )
        return encryption_from_body(response.body.to_map() or {}, service_key_id)


def encryption_from_body(body: dict[str, Any], service_key_id: str | None) -> ObservedEncryption:
    if not body.get("RequestId"):
        raise ValueError("not an answer of the API (no RequestId)")
    # Off is documented as an empty or absent EncryptionKey (alibaba-api-details section 1).
    key_id = body.get("EncryptionKey") or None
    if key_id is None:
        return ObservedEncryption(enabled=False)
    if not isinstance(key_id, str):
        raise TypeError("EncryptionKey is not a string")
    listed = [
        item
        for item in body.get("EncryptionKeyList") or []
        if item.get("EncryptionKey") == key_id
        and item.get("UsedBy", "DiskEncryption") in ("DiskEncryption", None, "")
    ]
    key_type = listed[0].get("KeyType") if listed else None
    if key_type not in ("ServiceKey", "CMK"):
        # Not said by the answer: decided by comparing with alias/acs/rds's id when known,
        # else left None for the caller to settle once it knows that id.
        key_type = (
            None
            if service_key_id is None
            else ("ServiceKey" if key_id == service_key_id else "CMK")
        )
    return ObservedEncryption(enabled=True, key_id=key_id, key_type=key_type)


def instance_from_item(
    item: dict[str, Any],
    region: str,
    *,
    managed: bool,
    attributes: dict[str, Any] | None = None,
    encryption: ObservedEncryption | None = None,
) -> ObservedInstance:
    """One DescribeDBInstances item (plus the attribute answer where read) as our model."""
    merged = {**item, **(attributes or {})}
    return ObservedInstance(
        instance_id=merged["DBInstanceId"],
        region=merged.get("RegionId") or region,
        engine=merged.get("Engine") or "",
        engine_version=merged.get("EngineVersion") or "",
        category=merged.get("Category") or "",
        class_code=merged.get("DBInstanceClass") or "",
        class_type=merged.get("DBInstanceClassType") or None,
        storage_type=merged.get("DBInstanceStorageType") or "",
        status=merged.get("DBInstanceStatus") or "",
        lock_mode=merged.get("LockMode") or "Unlock",
        maintain_time=merged.get("MaintainTime") or None,
        managed=managed,
        encryption=encryption,
    )
