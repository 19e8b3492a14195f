"""Wire views of RDS instances (what the Describe* actions answer), computed at read time.

Emulator choices (undocumented in the cloud):
- DescribeDBInstanceEncryptionKey with encryption off answers success with ``EncryptionKey``
  "" and an empty ``EncryptionKeyList`` (docs/real-cloud.md, RDS: DescribeDBInstanceEncryptionKey).
- ``EncryptionKeyStatus`` stays within the documented Enabled|Disabled: a PendingDeletion or
  deleted key shows ``Disabled`` (with ``DeleteDate`` for a pending deletion).
- CheckCloudResourceAuthorized answers ``AuthorizationState`` 1 when the role
  ``AliyunRDSInstanceEncryptionDefaultRole`` exists and trusts ``rds.aliyuncs.com``, 0
  otherwise; ``RoleArn`` is always the role's ARN (lower-case name, like Terraform builds it).
- DescribeKmsAssociateResources lists every instance of the key's region (any engine) that is
  on the key, switching to it or scheduled to switch to it (``models.instances_using_key``), in
  creation order, each ``{DBInstanceName, Engine, KeyUsedBy, Status}`` (a plain list, as the
  SDK maps it). ``KeyUsedBy`` is always ``DiskEncryption`` (TDE is not emulated). Instance
  statuses map onto the answer's own enum: Creating -> CREATING, CONFIG_ENCRYPTING ->
  INS_MAINTAINING, anything else -> ACTIVATION (so an instance that waits for its window to
  switch to the key shows ACTIVATION: it is running). DescribeHistoryTasks tells such a
  scheduled change apart (``rds.tasks``).
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.rds import models, peers, rules
from reconciler.emulator.rds.models import RdsWorld

_ASSOCIATE_STATUS = {"Creating": "CREATING", "CONFIG_ENCRYPTING": "INS_MAINTAINING"}


PAY_TYPES_ON_THE_WIRE = {"Serverless": "SERVERLESS"}
"""CreateDBInstance takes PayType ``Serverless``; the describe answers document ``SERVERLESS``
(docs/emulator.md, RDS: statuses), so a stored ``Serverless`` is shown that way."""


def _common(world: RdsWorld, doc: dict[str, Any]) -> dict[str, Any]:
    lock_mode, lock_reason = models.lock_of(world, doc)
    return {
        "DBInstanceId": doc["DBInstanceId"],
        "DBInstanceDescription": doc.get("DBInstanceDescription", ""),
        "RegionId": doc["RegionId"],
        "ZoneId": doc["ZoneId"],
        "Engine": doc["Engine"],
        "EngineVersion": doc["EngineVersion"],
        "DBInstanceClass": doc["DBInstanceClass"],
        "DBInstanceStorageType": doc["DBInstanceStorageType"],
        "DBInstanceStatus": models.status_of(doc, world.now),
        "DBInstanceType": "Primary",
        "DBInstanceNetType": doc["DBInstanceNetType"],
        "InstanceNetworkType": doc["InstanceNetworkType"],
        "PayType": PAY_TYPES_ON_THE_WIRE.get(doc["PayType"], doc["PayType"]),
        "LockMode": lock_mode,
        "LockReason": lock_reason,
        "ConnectionMode": "Standard",
        "ConnectionString": doc["ConnectionString"],
        "DeletionProtection": False,
        "ExpireTime": "",
        "ReadOnlyDBInstanceIds": {"ReadOnlyDBInstanceId": []},
        "VpcId": doc.get("VPCId") or "",
        "VSwitchId": doc.get("VSwitchId") or "",
        "ResourceGroupId": models.resource_group_of(world, doc),
        "MasterInstanceId": "",
        "GuardDBInstanceId": "",
        "TempDBInstanceId": "",
    }


def list_item(
    world: RdsWorld, doc: dict[str, Any], *, instance_level: bool = False
) -> dict[str, Any]:
    """One ``Items.DBInstance[]`` entry: no DBInstanceClassType, no ServerlessConfig (as real);
    ``Category`` only when the request asked ``InstanceLevel=1`` (documented)."""
    item = {
        **_common(world, doc),
        "CreateTime": doc["CreationTime"],
        "MutriORsignle": False,
        "AutoRenewal": False,  # renewal is not emulated: no instance renews itself
    }
    if instance_level:
        item["Category"] = doc["Category"]
    return item


def _serverless_config(doc: dict[str, Any]) -> dict[str, Any]:
    """The instance's serverless settings; an instance that is not serverless answers the
    object with zero values (chosen: Terraform's read dereferences it unchecked, so the cloud
    must send the object; its values for such an instance are undocumented)."""
    if not rules.is_serverless(doc["Category"], doc["DBInstanceClass"]):
        return {"ScaleMin": 0.0, "ScaleMax": 0.0, "AutoPause": False, "SwitchForce": False}
    given = doc.get("ServerlessConfig") or {}
    return {
        "ScaleMin": float(given.get("MinCapacity", 0.5)),
        "ScaleMax": float(given.get("MaxCapacity", 8)),
        "AutoPause": bool(given.get("AutoPause", False)),
        "SwitchForce": bool(given.get("SwitchForce", False)),
    }


def _slave_zones(doc: dict[str, Any]) -> dict[str, Any]:
    """High-availability and cluster editions keep a secondary node; the emulator places it in
    the primary's zone unless CreateDBInstance named ``ZoneIdSlave1`` (chosen)."""
    if doc["Category"] not in ("HighAvailability", "cluster", "AlwaysOn", "Finance"):
        return {"SlaveZone": []}
    return {"SlaveZone": [{"ZoneId": doc.get("ZoneIdSlave1") or doc["ZoneId"]}]}


def attribute(world: RdsWorld, doc: dict[str, Any]) -> dict[str, Any]:
    """One ``Items.DBInstanceAttribute[]`` entry (it has no encryption field, as real)."""
    return {
        **_common(world, doc),
        "Category": doc["Category"],
        "DBInstanceClassType": rules.class_type(doc["DBInstanceClass"]),
        "DBInstanceStorage": int(doc["DBInstanceStorage"]),
        "MaintainTime": doc["MaintainTime"],
        "CreationTime": doc["CreationTime"],
        "SecurityIPList": doc["SecurityIPList"],
        "Port": doc["Port"],
        "MasterZone": doc["ZoneId"],
        "SlaveZones": _slave_zones(doc),
        "ServerlessConfig": _serverless_config(doc),
        "Extra": {"DBInstanceIds": {"DBInstanceId": []}},
    }


_DATES = ("DeleteDate", "MaterialExpireTime")


def _key_entry(world: RdsWorld, region: str, key_id: str) -> dict[str, Any]:
    """One key as RDS describes it. A key deleted from KMS keeps its details (RDS still names
    the key it used; ``EncryptionKeyStatus`` Disabled, ``DeleteDate`` the deletion); the date
    fields, documented as ``yyyy-MM-ddTHH:mm:ssZ``, are left out when there is no date rather
    than sent empty (chosen)."""
    key = peers.find_key(world, region, key_id)
    deleted = key is None
    if key is None:
        key = peers.deleted_key(world, region, key_id)
    if key is None:  # never known to this emulator (a seed's history): the id alone
        return {
            "EncryptionKey": key_id,
            "EncryptionKeyStatus": "Disabled",
            "KeyType": "CMK",
            "UsedBy": "DiskEncryption",
        }
    aliases = [] if deleted else peers.aliases_of(world, region, key.key_id)
    entry = {
        "EncryptionKey": key.key_id,
        "EncryptionKeyStatus": "Enabled" if key.state == "Enabled" and not deleted else "Disabled",
        "KeyType": "ServiceKey" if key.is_service_key else "CMK",
        "AliasName": aliases[0] if aliases else "",
        "Creator": key.creator,
        "Description": key.description,
        "KeyUsage": key.key_usage,
        "Origin": key.origin,
        "DeleteDate": key.delete_date,
        "MaterialExpireTime": key.material_expire_time,
        "UsedBy": "DiskEncryption",
    }
    return {k: v for k, v in entry.items() if not (k in _DATES and not v)}


def encryption_key(world: RdsWorld, doc: dict[str, Any], requested: str | None) -> dict[str, Any]:
    """``EncryptionKey`` given: that key's details; else the instance's key (or empty)."""
    region = doc["RegionId"]
    if requested:
        if peers.find_key(world, region, requested) is None:
            raise rules.kms_api_error(f"The specified key {requested} is not found in KMS.")
        key_id = requested
    elif doc["encryption"]["kind"] == "off":
        return {"EncryptionKey": "", "EncryptionKeyList": []}
    else:
        key_id = doc["encryption"]["key_id"]
    entry = _key_entry(world, region, key_id)
    top = {k: v for k, v in entry.items() if k not in ("KeyType", "AliasName", "UsedBy")}
    return {**top, "EncryptionKeyList": [entry]}


def authorization(world: RdsWorld) -> dict[str, Any]:
    authorised = peers.role_trusts_rds(world, rules.ROLE_NAME)
    return {
        "AuthorizationState": 1 if authorised else 0,
        "RoleArn": f"acs:ram::{world.account_id}:role/{rules.ROLE_NAME.lower()}",
    }


def associations(world: RdsWorld, region: str, key_id: str) -> dict[str, Any]:
    using = models.instances_using_key(world, region, key_id)
    listed = [
        {
            "DBInstanceName": doc["DBInstanceId"],
            "Engine": doc["Engine"],
            "KeyUsedBy": "DiskEncryption",
            "Status": _ASSOCIATE_STATUS.get(models.status_of(doc, world.now), "ACTIVATION"),
        }
        for doc in using
    ]
    return {"AssociateStatus": bool(listed), "AssociateDBInstances": listed}
