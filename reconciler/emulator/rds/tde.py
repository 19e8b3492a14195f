"""TDE (transparent data encryption) of RDS for PostgreSQL, as the SDK models shape it:
ModifyDBInstanceTDE(DBInstanceId, TDEStatus, EncryptionKey, RoleArn, IsRotate) and
DescribeDBInstanceTDE (TDEStatus, TDEMode, EncryptionKey). What TDE adds to
DescribeDBInstanceEncryptionKey and DescribeKmsAssociateResources is in ``views``.

State: ``doc["tde"]`` is ``{"key_id", "mode"}`` while TDE is on, absent or None while off.

Documented ("Configure TDE", ApsaraDB RDS for PostgreSQL; docs/real-cloud.md, "TDE and the key
list"): TDE cannot be disabled once enabled; enabling restarts the instance; a custom key needs
RDS authorized to use KMS (the same role as disk encryption); minor engine version 20221030 or
later. Emulator choices (docs/emulator.md, "RDS: TDE"):

- PostgreSQL only: another engine is 400 ``IncorrectDBInstanceType``.
- Enabling keeps the instance ``Rebooting`` for ``--restart-seconds`` (a documented status) and
  makes no task in the task center; TDE and its key are reported from the request on (the key
  is in use from the moment RDS takes it).
- No ``EncryptionKey``: ``Aliyun_Generate_Key``, on the region's service key (its id is what
  DescribeDBInstanceTDE and the key list name).
- A CMK passes the disk-encryption key checks: Enabled, tagged ``acs:rds:instance-encryption``,
  the role (``RoleArn``'s, else AliyunRDSInstanceEncryptionDefaultRole) allowed to use it; not
  the dedicated-class rule (undocumented for TDE).
- ``Disabled`` while on: 400 ``InvalidTDEStatus.Unsupported``; while off: success, no change.
  ``Enabled`` again with the same key or none: success, no change; with another key without
  ``IsRotate``: 400 ``InvalidParameter``. ``IsRotate=true`` while on moves TDE to the given key
  (or a new generated one) without a restart; while off it is 400 ``InvalidParameter``.
- A minor engine version older than 20221030, on the instance or on an attached read-only
  instance: 400 ``UnsupportedMinorVersion`` (naming the read-only instance). PostgreSQL older
  than 10: 400 ``IncorrectEngineVersion``; local SSDs: 400 ``Unsupported.StorageType``; a
  read-only instance: 400 ``IncorrectDBInstanceType`` (codes chosen). Checked when enabling,
  not on a rotation.
- DescribeDBInstanceTDE of a read-only instance answers its primary's TDE.
- A lost TDE key (Disabled, PendingDeletion, deleted) stops backups and locks the instance at
  its next restart: ``tde_loss``.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.dispatch import RequestContext
from reconciler.emulator.errors import ApiError
from reconciler.emulator.rds import kernel, models, peers, rules
from reconciler.emulator.rds.models import RdsWorld

ENABLED, DISABLED = "Enabled", "Disabled"
CLOUD_DISKS = rules.ALL_STORAGE - {"local_ssd"}
"""Every storage type but local SSDs is a cloud disk (ESSDs, general ESSD, standard SSD)."""
CUSTOMER_KEY, GENERATED_KEY = "Customer_Provided_Key", "Aliyun_Generate_Key"
REQUIRED = {
    "ModifyDBInstanceTDE": ("DBInstanceId", "TDEStatus"),
    "DescribeDBInstanceTDE": ("DBInstanceId",),
}


def state_of(doc: dict[str, Any]) -> dict[str, Any] | None:
    """``{"key_id", "mode"}`` while TDE is on, else None."""
    return doc.get("tde") or None


def key_of(doc: dict[str, Any]) -> str | None:
    tde = state_of(doc)
    return tde["key_id"] if tde else None


def users_of(world: RdsWorld, region: str, key_id: str) -> list[dict[str, Any]]:
    """Every instance of the region whose TDE uses the key, in creation order."""
    return [d for d in models.list_instances(world, region) if key_of(d) == key_id]


def _check_engine(doc: dict[str, Any]) -> None:
    if doc["Engine"] != rules.ENGINE:
        raise rules.invalid(
            "The emulator models TDE on PostgreSQL only.", "IncorrectDBInstanceType"
        )


def _check_minor_version(doc: dict[str, Any], what: str = "") -> None:
    release = kernel.release_of(doc.get("CurrentKernelVersion") or "")
    if release is None or release < kernel.TDE_MIN_RELEASE:
        raise rules.invalid(
            f"TDE needs minor engine version {kernel.TDE_MIN_RELEASE} or later{what}.",
            "UnsupportedMinorVersion",
        )


def check_prerequisites(world: RdsWorld, doc: dict[str, Any]) -> None:
    """What enabling TDE needs of the instance ("Configure TDE"): not a read-only instance
    (chosen: TDE is enabled on the primary), PostgreSQL 10 or later, cloud disks, minor engine
    version 20221030 or later on the primary and on every attached read-only instance."""
    if models.is_read_only(doc):
        raise rules.invalid(
            "TDE is enabled on the primary instance, not on a read-only instance.",
            "IncorrectDBInstanceType",
        )
    major = kernel.major_of(doc["EngineVersion"])
    if major is None or major < kernel.TDE_MIN_MAJOR:
        raise rules.invalid(
            f"TDE needs PostgreSQL {kernel.TDE_MIN_MAJOR} or later.", "IncorrectEngineVersion"
        )
    if doc["DBInstanceStorageType"] not in CLOUD_DISKS:
        raise rules.invalid("TDE needs cloud disks.", "Unsupported.StorageType")
    _check_minor_version(doc)
    for read_only in models.read_only_of(world, doc):
        _check_minor_version(read_only, f" on the read-only instance {read_only['DBInstanceId']}")


def resolve_key(
    world: RdsWorld, doc: dict[str, Any], key_ref: str | None, role_arn: str | None
) -> dict[str, Any]:
    """The TDE state a key reference means, after the same key checks as disk encryption."""
    peers.require_kms_activated(world)
    region = doc["RegionId"]
    if not key_ref:
        return {"key_id": peers.service_key_id(world, region), "mode": GENERATED_KEY}
    key = peers.find_key(world, region, key_ref)
    if key is None:
        raise peers.foreign_key_error(world, doc["RegionId"], key_ref) or rules.kms_api_error(
            f"The specified key {key_ref} is not found in KMS."
        )
    if key.is_service_key:
        return {"key_id": key.key_id, "mode": GENERATED_KEY}
    rules.check_key_state(key)
    rules.check_key_tagged(key)
    role_name = models.role_name_from_arn(role_arn) if role_arn else rules.ROLE_NAME
    peers.check_role_can_use_key(world, role_name, key)
    return {"key_id": key.key_id, "mode": CUSTOMER_KEY}


def request(
    world: RdsWorld,
    doc: dict[str, Any],
    status: str,
    key_ref: str | None,
    role_arn: str | None,
    rotate: bool,
) -> dict[str, Any]:
    """The instance document after a ModifyDBInstanceTDE request (see the module's rules)."""
    _check_engine(doc)
    if status not in (ENABLED, DISABLED):
        raise rules.invalid("TDEStatus must be Enabled or Disabled.", "InvalidTDEStatus")
    rules.check_not_locked(models.lock_of(world, doc)[0])
    rules.check_running(models.status_of(doc, world.now))
    current = state_of(doc)
    if status == DISABLED:
        if current:
            raise ApiError(
                400, "InvalidTDEStatus.Unsupported", "TDE cannot be disabled once enabled."
            )
        return doc
    if rotate and not current:
        raise rules.invalid("IsRotate needs TDE enabled.")
    if current and not rotate:
        if key_ref in (None, "", current["key_id"]):
            return doc
        raise rules.invalid("TDE is already enabled: rotate its key with IsRotate=true.")
    if not current:
        check_prerequisites(world, doc)
    doc = {**doc, "tde": resolve_key(world, doc, key_ref, role_arn)}
    if not current:  # enabling restarts the instance (documented); a rotation does not (chosen)
        doc = models.restart(world, doc)
    return doc


def seed(world: RdsWorld, doc: dict[str, Any], key_ref: str) -> dict[str, Any]:
    """For seeds: TDE on with a key of the instance's region (an alias, an id or ``service``);
    no role or key-state check (a seeded world may hold its history)."""
    _check_engine(doc)
    if key_ref == "service":
        return {
            **doc,
            "tde": {"key_id": peers.service_key_id(world, doc["RegionId"]), "mode": GENERATED_KEY},
        }
    key = peers.find_key(world, doc["RegionId"], key_ref, by_alias=True)
    if key is None:
        raise ApiError(404, "Forbidden.KeyNotFound", "The specified Key is not found.")
    mode = GENERATED_KEY if key.is_service_key else CUSTOMER_KEY
    return {**doc, "tde": {"key_id": key.key_id, "mode": mode}}


# --- the wire ---------------------------------------------------------------------------------


def modify_dbinstance_tde(ctx: RequestContext) -> dict[str, Any]:
    """SQL Server's parameters (DBName, Certificate, PrivateKey, PassWord) are not emulated."""
    world = RdsWorld(ctx)
    doc = models.load(world, ctx.required("DBInstanceId"))
    changed = request(
        world,
        doc,
        ctx.required("TDEStatus"),
        ctx.str_param("EncryptionKey"),
        ctx.str_param("RoleArn"),
        bool(ctx.bool_param("IsRotate", False)),
    )
    if changed is not doc:
        models.save(world, changed)
    return {}


def describe_dbinstance_tde(ctx: RequestContext) -> dict[str, Any]:
    """Off: ``TDEStatus`` Disabled only (chosen: no key, no mode to name). ``Databases`` is
    SQL Server's (database-level TDE) and never sent."""
    world = RdsWorld(ctx)
    doc = models.load(world, ctx.required("DBInstanceId"))
    if models.is_read_only(doc):  # chosen: a read-only instance follows its primary
        doc = models.load(world, doc["MasterInstanceId"])
    tde = state_of(doc)
    if not tde:
        return {"TDEStatus": DISABLED}
    return {"TDEStatus": ENABLED, "TDEMode": tde["mode"], "EncryptionKey": tde["key_id"]}


ACTIONS = {
    "ModifyDBInstanceTDE": modify_dbinstance_tde,
    "DescribeDBInstanceTDE": describe_dbinstance_tde,
}
