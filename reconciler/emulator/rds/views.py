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
  SDK maps it), then every instance whose TDE uses the key with ``KeyUsedBy`` ``TDE``: one
  entry per use, so an instance using the key for both is listed twice (chosen). Instance
  statuses map onto the answer's own enum: Creating -> CREATING, CONFIG_ENCRYPTING ->
  INS_MAINTAINING, anything else -> ACTIVATION (so an instance that waits for its window to
  switch to the key shows ACTIVATION: it is running). DescribeHistoryTasks tells such a
  scheduled change apart (``rds.tasks``).
- DescribeDBInstanceEncryptionKey lists one ``EncryptionKeyList`` entry per use (``UsedBy``
  ``DiskEncryption``, then ``TDE``). The top-level fields describe the disk's key when disk
  encryption is on; when only TDE is on they describe the TDE key (chosen, undocumented: the
  worst case for a reader that takes the top-level ``EncryptionKey`` as the disk's).
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.rds import kernel, models, peers, rules, tde
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
        "DBInstanceType": doc.get("DBInstanceType") or "Primary",
        "DBInstanceNetType": doc["DBInstanceNetType"],
        "InstanceNetworkType": doc["InstanceNetworkType"],
        "PayType": PAY_TYPES_ON_THE_WIRE.get(doc["PayType"], doc["PayType"]),
        "LockMode": lock_mode,
        "LockReason": lock_reason,
        "ConnectionMode": "Standard",
        "ConnectionString": doc["ConnectionString"],
        "DeletionProtection": False,
        "ExpireTime": "",
        "ReadOnlyDBInstanceIds": {"ReadOnlyDBInstanceId": _read_only_ids(world, doc)},
        "VpcId": doc.get("VPCId") or "",
        "VSwitchId": doc.get("VSwitchId") or "",
        "ResourceGroupId": models.resource_group_of(world, doc),
        "MasterInstanceId": doc.get("MasterInstanceId") or "",
        "GuardDBInstanceId": "",
        "TempDBInstanceId": "",
    }


def _read_only_ids(world: RdsWorld, doc: dict[str, Any]) -> list[dict[str, str]]:
    """``ReadOnlyDBInstanceIds.ReadOnlyDBInstanceId[]`` of a primary (SDK shape); a read-only
    instance names its primary in ``MasterInstanceId`` instead."""
    if models.is_read_only(doc):
        return []
    return [{"DBInstanceId": r["DBInstanceId"]} for r in models.read_only_of(world, doc)]


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
        "CurrentKernelVersion": kernel_version_of(doc),
    }


def kernel_version_of(doc: dict[str, Any]) -> str:
    """The instance's minor engine version; an instance stored before versions were kept runs
    the newest (``rds.kernel``)."""
    return doc.get("CurrentKernelVersion") or kernel.newest(doc["Engine"], doc["EngineVersion"])


_DATES = ("DeleteDate", "MaterialExpireTime")


def _key_entry(
    world: RdsWorld, region: str, key_id: str, used_by: str = "DiskEncryption"
) -> dict[str, Any]:
    """One key as RDS describes it, kept until the store changes (store.Derived; docs/
    emulator.md, "Performance") unless the key waits for deletion: such a key leaves KMS when
    the emulated clock passes its DeleteDate, without a write, so its entry is made anew."""
    entry, lasting = world.tx.derived(
        ("rds_key_entry", region, key_id, used_by),
        lambda: _key_entry_now(world, region, key_id, used_by),
    )
    if not lasting:
        entry, _ = _key_entry_now(world, region, key_id, used_by)
    return dict(entry)


def _key_entry_now(
    world: RdsWorld, region: str, key_id: str, used_by: str
) -> tuple[dict[str, Any], bool]:
    """The entry, and whether it lasts until the next write. A key deleted from KMS keeps its
    details (RDS still names the key it used; ``EncryptionKeyStatus`` Disabled, ``DeleteDate``
    the deletion); the date fields, documented as ``yyyy-MM-ddTHH:mm:ssZ``, are left out when
    there is no date rather than sent empty (chosen)."""
    key = peers.find_key(world, region, key_id)
    deleted = key is None
    lasting = key is None or peers.lasts_until_a_write(key)
    if key is None:
        key = peers.deleted_key(world, region, key_id)
    if key is None:  # never known to this emulator (a seed's history): the id alone
        return {
            "EncryptionKey": key_id,
            "EncryptionKeyStatus": "Disabled",
            "KeyType": "CMK",
            "UsedBy": used_by,
        }, lasting
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
        "UsedBy": used_by,
    }
    return {k: v for k, v in entry.items() if not (k in _DATES and not v)}, lasting


def encryption_key(world: RdsWorld, doc: dict[str, Any], requested: str | None) -> dict[str, Any]:
    """``EncryptionKey`` given: that key's details; else the instance's keys, one list entry
    per use (disk, then TDE), the top level the first of them (or empty)."""
    region = doc["RegionId"]
    if requested:
        if peers.find_key(world, region, requested) is None:
            raise rules.kms_api_error(f"The specified key {requested} is not found in KMS.")
        entries = [_key_entry(world, region, requested)]
    else:
        entries = _entries_in_use(world, doc)
    if not entries:
        return {"EncryptionKey": "", "EncryptionKeyList": []}
    top = {k: v for k, v in entries[0].items() if k not in ("KeyType", "AliasName", "UsedBy")}
    return {**top, "EncryptionKeyList": entries}


def _entries_in_use(world: RdsWorld, doc: dict[str, Any]) -> list[dict[str, Any]]:
    region, entries = doc["RegionId"], []
    if doc["encryption"]["kind"] != "off":
        entries.append(_key_entry(world, region, doc["encryption"]["key_id"]))
    tde_key = tde.key_of(doc)
    if tde_key:
        entries.append(_key_entry(world, region, tde_key, "TDE"))
    return entries


def authorization(world: RdsWorld) -> dict[str, Any]:
    authorised = peers.role_trusts_rds(world, rules.ROLE_NAME)
    return {
        "AuthorizationState": 1 if authorised else 0,
        "RoleArn": f"acs:ram::{world.account_id}:role/{rules.ROLE_NAME.lower()}",
    }


def associations(world: RdsWorld, region: str, key_id: str) -> dict[str, Any]:
    using = models.instances_using_key(world, region, key_id)
    listed = [_association(world, doc, "DiskEncryption") for doc in using]
    listed += [_association(world, doc, "TDE") for doc in tde.users_of(world, region, key_id)]
    return {"AssociateStatus": bool(listed), "AssociateDBInstances": listed}


def _association(world: RdsWorld, doc: dict[str, Any], used_by: str) -> dict[str, Any]:
    return {
        "DBInstanceName": doc["DBInstanceId"],
        "Engine": doc["Engine"],
        "KeyUsedBy": used_by,
        "Status": _ASSOCIATE_STATUS.get(models.status_of(doc, world.now), "ACTIVATION"),
    }
