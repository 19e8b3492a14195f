"""RDS TDE (DescribeDBInstanceTDE, ModifyDBInstanceTDE) and the attribute fields TDE's
prerequisites need (CurrentKernelVersion, ReadOnlyDBInstanceIds) -> our models (issue 19;
docs/real-cloud.md, "TDE and the key list")."""

from __future__ import annotations

from typing import Any

from reconciler.cloud.answers import reading
from reconciler.cloud.clients import CloudClients
from reconciler.cloud.rds_wire import answer, models
from reconciler.core.facts import ObservedTde
from reconciler.core.ops import Op

TDE_ENABLED, TDE_DISABLED = "Enabled", "Disabled"
TDE_SERVICE_MODE, TDE_CUSTOM_MODE = "Aliyun_Generate_Key", "Customer_Provided_Key"
TDE_MODES = (TDE_SERVICE_MODE, TDE_CUSTOM_MODE)
"""The TDEMode values that say whose key TDE uses; `Unknown` (also documented) says nothing."""


def tde(clients: CloudClients, region: str, instance_id: str) -> ObservedTde:
    """DescribeDBInstanceTDE of one instance that was listed: any error (not found included)
    and any answer `tde_from_body` cannot read stops the plan, never "TDE off"."""
    request = models().DescribeDBInstanceTDERequest(dbinstance_id=instance_id)
    with reading("rds:DescribeDBInstanceTDE", instance_id):
        body = answer(clients, region, "DescribeDBInstanceTDE", "describe_dbinstance_tde", request)
        return tde_from_body(body)


def tde_from_body(body: dict[str, Any]) -> ObservedTde:
    """TDE from a DescribeDBInstanceTDE answer, an allow-list (docs/real-cloud.md, "TDE and the
    key list"): `Disabled` with no key (TDEMode absent, empty or `Unknown`) is off; `Enabled`
    with `Aliyun_Generate_Key` is on RDS's key (EncryptionKey, when sent, is that key's id);
    `Enabled` with `Customer_Provided_Key` and an EncryptionKey is on that KMS key. Everything
    else raises: no RequestId, another TDEStatus or TDEMode, `Enabled` with TDEMode `Unknown`
    or absent, a custom key without its id, `Disabled` naming a key or a key mode."""
    if not body.get("RequestId"):
        raise ValueError("not an answer of the API (no RequestId)")
    status, mode = body.get("TDEStatus"), body.get("TDEMode") or None
    key = body.get("EncryptionKey") or None
    if key is not None and not isinstance(key, str):
        raise TypeError("EncryptionKey is not a string")
    if status == TDE_DISABLED:
        if key is not None or mode not in (None, "Unknown"):
            raise ValueError(f"TDEStatus Disabled with TDEMode {mode!r} and EncryptionKey {key!r}")
        return ObservedTde(enabled=False)
    if status != TDE_ENABLED:
        raise ValueError(f"TDEStatus {status!r}, not {TDE_ENABLED} or {TDE_DISABLED}")
    if mode not in TDE_MODES:
        raise ValueError(f"TDEStatus Enabled with TDEMode {mode!r}: whose key TDE uses is unsaid")
    if mode == TDE_CUSTOM_MODE and key is None:
        raise ValueError(f"TDEMode {TDE_CUSTOM_MODE} without its EncryptionKey")
    return ObservedTde(enabled=True, mode=mode, key_id=key)


def kernel_version_of(attribute: dict[str, Any]) -> str:
    """CurrentKernelVersion (e.g. rds_postgres_1400_20221030); "" when the answer has none,
    which the planner takes as not read (it refuses rather than guess the version)."""
    version = attribute.get("CurrentKernelVersion") or ""
    if not isinstance(version, str):
        raise TypeError("CurrentKernelVersion is not a string")
    return version


READ_ONLY_TYPE = "Readonly"
"""The DBInstanceType of a read-only instance (which has no read-only instances of its own)."""


def read_only_ids_of(attribute: dict[str, Any], listed: dict[str, Any] | None = None) -> list[str]:
    """The read-only instances attached (ReadOnlyDBInstanceIds.ReadOnlyDBInstanceId[]
    .DBInstanceId, as the SDK models it), from the attribute answer and the instance's list item
    (DescribeDBInstances carries the same field): the union, so an id either names is checked.

    A field that is present must have that shape, else the answer raises. The field absent from
    both answers reads as "no read-only instances" (the SDK models it as optional; the emulator
    always sends it) only when nothing in the answers says otherwise: an instance that is itself
    read-only (DBInstanceType Readonly, or a MasterInstanceId) has none; a primary whose answers
    both leave the field out cannot say, and raises (docs/real-cloud.md, "TDE and the key
    list")."""
    found: dict[str, None] = {}
    sent = False
    for body in (attribute, listed or {}):
        if "ReadOnlyDBInstanceIds" in body and body["ReadOnlyDBInstanceIds"] is not None:
            sent = True
            found.update(dict.fromkeys(_read_only_ids(body["ReadOnlyDBInstanceIds"])))
    if sent or _is_read_only(attribute):
        return list(found)
    raise ValueError("the answer does not say which read-only instances are attached")


def _is_read_only(attribute: dict[str, Any]) -> bool:
    return attribute.get("DBInstanceType") == READ_ONLY_TYPE or bool(
        attribute.get("MasterInstanceId")
    )


def _read_only_ids(field: Any) -> list[str]:
    if not isinstance(field, dict):
        raise TypeError("ReadOnlyDBInstanceIds is not an object")
    entries = field.get("ReadOnlyDBInstanceId") or []
    if not isinstance(entries, list):
        raise TypeError("ReadOnlyDBInstanceIds.ReadOnlyDBInstanceId is not a list")
    ids = [e.get("DBInstanceId") if isinstance(e, dict) else None for e in entries]
    if not all(isinstance(i, str) and i for i in ids):
        raise ValueError("a ReadOnlyDBInstanceId entry has no DBInstanceId")
    return [str(i) for i in ids]


def modify_tde(clients: CloudClients, region: str, params: dict[str, Any]) -> Any:
    """ModifyDBInstanceTDE. It takes no ClientToken, so it is never sent again after a lost
    answer: DescribeDBInstanceTDE tells whether it took effect (kinds/rds_tde/writes.py)."""
    from reconciler.cloud.writes import write

    return write(
        clients,
        Op.RDS_MODIFY_DB_INSTANCE_TDE,
        region,
        models(),
        "modify_dbinstance_tde",
        params,
    )
