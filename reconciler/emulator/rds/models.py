"""RDS instance state and verbs (no HTTP). One JSON document per instance in the store.

Statuses are derived lazily from the emulated clock, so no background thread exists:
- ``busy`` = ``{"status": "Creating", "until": t}`` shows that status until ``t``;
- ``pending`` = an encryption change ``{"value", "start", "end"}``: the instance is ``Running``
  (old key) before ``start``, ``CONFIG_ENCRYPTING`` in ``[start, end)``, and from ``end`` on it
  is ``Running`` on the new key. :func:`settle` folds a finished change into the document.

Emulator choices where the cloud is undocumented:
- The new key is reported by DescribeDBInstanceEncryptionKey only once the change has finished.
- A new change while another waits for the maintenance window replaces it (last one wins);
  a change while ``CONFIG_ENCRYPTING`` (or any status but Running) is IncorrectDBInstanceState.
- A change to the value the instance already has succeeds without a status change.
- The rules are checked when the change is requested, not again when a scheduled one starts.
- DeleteDBInstance removes the instance at once (no ``Deleting`` phase); it works on a locked
  instance.
- Only a Disabled, PendingDeletion or deleted CMK locks an instance; a CMK that lost its
  ``acs:rds:instance-encryption`` tag does not (RDS keeps its data key until the next use).
"""

from __future__ import annotations

import functools
from typing import Any

from reconciler.emulator.dispatch import RequestContext, stable_token
from reconciler.emulator.errors import ApiError
from reconciler.emulator.rds import kernel, peers, rules, tasks, tde_loss
from reconciler.emulator.rds.rules import InstanceFacts
from reconciler.emulator.store import Transaction, index_field

KIND = "rds_instance"
TOKEN_KIND = "rds_client_token"
_REGION_ID_PREFIX = {"cn-hangzhou": "bp1", "cn-shanghai": "uf6", "cn-beijing": "2ze"}


class RdsWorld:
    """What one request sees: its context (store transaction, settings) and one emulated now.

    ``now`` is read once so that every status a request computes agrees with the others.
    """

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.tx: Transaction = ctx.tx
        self.now: float = ctx.now().timestamp()
        self.restart_seconds: float = float(ctx.state.settings.restart_seconds)
        self.account_id: str = ctx.account_id


def new_instance_id(world: RdsWorld, region: str) -> str:
    """``pgm-`` + a region prefix + lowercase letters and digits, 20 characters like the cloud;
    made from the store's instance counter, so the same on every fresh run (never random)."""
    prefix = _REGION_ID_PREFIX.get(region) or stable_token(len(region), 3, region)
    while True:
        serial = world.ctx.next_serial("rds_instance")
        instance_id = "pgm-" + prefix + stable_token(serial, 13, world.account_id)
        if world.tx.get(KIND, region, instance_id) is None:  # a seeded or older id
            return instance_id


# --- reading ----------------------------------------------------------------------------------


def settle(doc: dict[str, Any], now: float) -> dict[str, Any]:
    """Fold finished phases into the document (a pure function of the document and time)."""
    doc = dict(doc)
    busy = doc.get("busy")
    if busy and now >= busy["until"]:
        doc["busy"] = None
        if busy.get("since") is not None:  # a restart: its start stays known (tde_loss)
            doc["last_restart"] = max(doc.get("last_restart") or 0.0, busy["since"])
    doc = _settle_kernel_upgrade(doc, now)
    pending = doc.get("pending")
    if pending and now >= pending["end"]:
        doc["last_restart"] = max(doc.get("last_restart") or 0.0, pending["start"])
        if doc["encryption"].get("key_id") != pending["value"].get("key_id"):
            # The key it leaves, and until when: backup sets keep it (rds/backups.py, key_at).
            past = {"key_id": doc["encryption"].get("key_id"), "until": pending["end"]}
            doc["key_history"] = [*(doc.get("key_history") or []), past]
        doc["encryption"] = pending["value"]
        doc["pending"] = None
    return doc


def status_of(doc: dict[str, Any], now: float) -> str:
    busy = doc.get("busy")
    if busy and now < busy["until"]:
        return busy["status"]
    pending = doc.get("pending")
    if pending and pending["start"] <= now < pending["end"]:
        return "CONFIG_ENCRYPTING"
    upgrade = doc.get("kernel_upgrade")
    if upgrade and upgrade["start"] <= now < upgrade["end"]:
        return UPGRADING
    return doc["status"]


def lock_of(world: RdsWorld, doc: dict[str, Any]) -> tuple[str, str]:
    """(LockMode, LockReason), derived from the state of the instance's CMK right now: the
    disk's CMK, else a TDE key lost before the instance's latest restart (``tde_loss``)."""
    encryption = doc["encryption"]
    if encryption["kind"] == "cmk":
        key = peers.find_key(world, doc["RegionId"], encryption["key_id"])
        lock = rules.lock_for_key_state(None if key is None else key.state)
        if lock[0] != rules.UNLOCKED:
            return lock
    return tde_loss.lock_of(world, doc) or (rules.UNLOCKED, "")


def load(world: RdsWorld, instance_id: str) -> dict[str, Any]:
    """The settled document of one instance (any region; the request's region first), or 404."""
    doc = world.tx.get(KIND, world.ctx.region, instance_id)
    if doc is not None:
        return settle(doc, world.now)
    for region, doc_id in world.tx.list_ids(KIND):
        if doc_id == instance_id:
            doc = world.tx.get(KIND, region, doc_id)
            assert doc is not None
            return settle(doc, world.now)
    raise rules.not_found(instance_id)


def list_instances(
    world: RdsWorld,
    region: str,
    offset: int = 0,
    limit: int | None = None,
    where: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Settled documents of a region in creation order (a slice when ``limit`` is given),
    only those whose stored fields equal ``where``'s values when it is given."""
    docs = world.tx.list(KIND, region, limit=limit, offset=offset, where=where)
    return [settle(doc, world.now) for doc in docs]


def count_instances(world: RdsWorld, region: str, where: dict[str, str] | None = None) -> int:
    return world.tx.count(KIND, region, where=where)


def save(world: RdsWorld, doc: dict[str, Any]) -> None:
    world.tx.put(KIND, doc["RegionId"], doc["DBInstanceId"], doc)


def facts(doc: dict[str, Any]) -> InstanceFacts:
    return InstanceFacts(
        engine=doc["Engine"],
        category=doc["Category"],
        storage_type=doc["DBInstanceStorageType"],
        class_code=doc["DBInstanceClass"],
    )


# --- encryption -------------------------------------------------------------------------------


def resolve_encryption(
    world: RdsWorld,
    doc: dict[str, Any],
    value: str,
    role_arn: str | None = None,
    *,
    at_creation: bool = False,
) -> dict[str, Any]:
    """Check a ConfigValue / EncryptionKey against every rule; return the encryption it means.

    ``ServiceKey`` (PostgreSQL) / ``serviceKey`` (SQL Server) -> the service key; ``disabled``
    -> off (PostgreSQL only); anything else is a CMK id of the instance's region (a seed may
    name an alias). Raises the rule's ApiError.
    """
    instance = facts(doc)
    if value == rules.DISABLED_WORD:
        rules.check_can_disable(instance)
        return {"kind": "off", "key_id": None}
    rules.check_supports_encryption(instance, at_creation=at_creation)
    peers.require_kms_activated(world)
    if value in (rules.SERVICE_KEY_WORD, rules.service_key_word(doc["Engine"])):
        return {"kind": "service", "key_id": peers.service_key_id(world, doc["RegionId"])}
    if doc["Engine"] != rules.SQLSERVER:
        rules.check_cmk_allowed_for_class(instance)
    key = peers.find_key(world, doc["RegionId"], value)
    if key is None:
        raise peers.foreign_key_error(world, doc["RegionId"], value) or rules.kms_api_error(
            f"The specified key {value} is not found in KMS."
        )
    if key.is_service_key:
        return {"kind": "service", "key_id": key.key_id}
    rules.check_key_state(key)
    rules.check_key_tagged(key)
    role_name = role_name_from_arn(role_arn) if role_arn else rules.ROLE_NAME
    peers.check_role_can_use_key(world, role_name, key)
    return {"kind": "cmk", "key_id": key.key_id}


def role_name_from_arn(role_arn: str) -> str:
    """``acs:ram::<uid>:role/<name>`` -> name (role names compare case-insensitively)."""
    _, sep, name = role_arn.rpartition(":role/")
    if not sep or not name:
        raise rules.invalid("The specified RoleARN is not valid.", "InvalidParameter.RoleARN")
    return name


def request_encryption_change(
    world: RdsWorld,
    doc: dict[str, Any],
    value: str,
    switch_mode: str,
    switch_time: float | None = None,
) -> dict[str, Any]:
    """Start (Immediate) or schedule (MaintainTime) a change of the instance's encryption.

    A ``switch_time`` in the future delays an Immediate change to that moment (emulator choice:
    the SDK documents SwitchTime as "the time at which the modification takes effect"). The
    change is a task of the task center (see ``tasks``); a change that has not started yet and
    is replaced (or made needless by a change to the current value) is Canceled there.
    """
    rules.check_not_locked(lock_of(world, doc)[0])
    rules.check_running(status_of(doc, world.now))
    target = resolve_encryption(world, doc, value)
    doc = dict(doc)
    replaced = doc.get("pending")
    if replaced:  # not started (else the instance would not be Running): it never will
        tasks.cancel(world.tx, doc["RegionId"], replaced.get("task_id"), world.now)
    if target == doc["encryption"]:
        doc["pending"] = None  # already there: nothing to do, and no scheduled change either
        return doc
    if switch_mode == "MaintainTime":
        start = rules.window_start_at_or_after(world.now, doc["MaintainTime"])
    else:
        start = max(world.now, switch_time or world.now)
    pending = {"value": target, "start": start, "end": start + world.restart_seconds}
    pending["task_id"] = tasks.create(world.ctx, doc, pending, value, switch_mode, world.now)
    doc["pending"] = pending
    return doc


# --- client tokens ----------------------------------------------------------------------------


def replay(world: RdsWorld, action: str, token: str | None, params: dict[str, Any]) -> Any:
    """The first answer for a ClientToken already used by ``action``, or None.

    The same token with other parameters is 400 IdempotentParameterMismatch. Tokens are kept
    for the life of the store (the cloud keeps them for a limited time; undocumented).
    """
    if not token:
        return None
    seen = world.tx.get(TOKEN_KIND, "", f"{action}:{token}")
    if seen is None:
        return None
    if seen["params"] != params:
        raise ApiError(
            400,
            "IdempotentParameterMismatch",
            "The request uses the same client token as a previous, but non-identical request.",
        )
    return seen["response"]


def remember(world: RdsWorld, action: str, token: str | None, params: dict, response: Any) -> None:
    if token:
        world.tx.put(TOKEN_KIND, "", f"{action}:{token}", {"params": params, "response": response})


def resource_group_of(world: RdsWorld, doc: dict[str, Any]) -> str:
    """The instance's resource group: the one CreateDBInstance named, else the account's
    default group (an ``rg-acfm`` id made from the account; chosen)."""
    return doc.get("ResourceGroupId") or default_resource_group(world.account_id)


@functools.lru_cache(maxsize=256)
def default_resource_group(account_id: str) -> str:
    return "rg-acfm" + stable_token(1, 10, "resource-group:" + account_id)


# --- lifecycle --------------------------------------------------------------------------------

DEFAULT_MAINTAIN_TIME = "18:00Z-22:00Z"


def _check_choice(name: str, value: str, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise rules.invalid(f"The specified {name} {value!r} is not valid.", f"Invalid{name}")


def validate_new_instance(fields: dict[str, Any]) -> None:
    """Shape checks of CreateDBInstance that are not encryption rules (codes chosen)."""
    _check_choice("Engine", fields["Engine"], rules.ENGINES)
    _check_choice("Category", fields["Category"], rules.ALL_CATEGORIES)
    _check_choice("DBInstanceStorageType", fields["DBInstanceStorageType"], rules.ALL_STORAGE)
    serverless_class = ".serverless." in fields["DBInstanceClass"]
    if serverless_class != (fields["Category"] in rules.SERVERLESS_CATEGORIES):
        raise rules.invalid(
            "A serverless class needs a serverless Category and the other way round.",
            "InvalidDBInstanceClass",
        )
    if serverless_class and fields["DBInstanceStorageType"] not in {"cloud_essd", "general_essd"}:
        raise rules.invalid(
            "Serverless instances use cloud_essd or general_essd storage.",
            "InvalidDBInstanceStorageType",
        )
    rules.parse_window(fields["MaintainTime"])


def create_instance(
    world: RdsWorld,
    fields: dict[str, Any],
    *,
    encryption_key: str | None = None,
    role_arn: str | None = None,
    status: str = "Creating",
    check_key_access: bool = True,
    dry_run: bool = False,
) -> dict[str, Any]:
    """A new instance from CreateDBInstance-shaped ``fields``; ``Creating`` for restart_seconds.

    Seeds pass ``status`` (the world's present) and ``check_key_access=False``: a seeded world
    may hold a CMK the role cannot reach today (its history), but the instance-level rules
    (engine, edition, storage, class type) still hold. ``dry_run``: every check, nothing saved
    (CreateDBInstance ``DryRun=true``: "performs a precheck but does not create the instance").
    """
    validate_new_instance(fields)
    if dry_run:
        instance_id = fields.get("DBInstanceId") or "pgm-dryrun"
    else:
        instance_id = fields.get("DBInstanceId") or new_instance_id(world, fields["RegionId"])
    if world.tx.get(KIND, fields["RegionId"], instance_id) is not None:
        raise rules.invalid(f"The instance {instance_id} already exists.", "DBInstanceIdExists")
    doc: dict[str, Any] = {
        **fields,
        "DBInstanceId": instance_id,
        "status": "Running" if status == "Creating" else status,
        "busy": None,
        "pending": None,
        "encryption": {"kind": "off", "key_id": None},
        "CreationTime": world.ctx.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ConnectionString": f"{instance_id}.pg.rds.aliyuncs.com",
        "Port": "5432",
        # the newest minor engine version, as the real cloud creates it; a seed may pin one
        "CurrentKernelVersion": fields.get("CurrentKernelVersion")
        or kernel.newest(fields["Engine"], fields["EngineVersion"]),
    }
    if status == "Creating":
        doc["busy"] = {"status": "Creating", "until": world.now + world.restart_seconds}
    if encryption_key:
        doc["encryption"] = (
            resolve_encryption(world, doc, encryption_key, role_arn, at_creation=True)
            if check_key_access
            else resolve_encryption_unchecked(world, doc, encryption_key)
        )
    if not dry_run:
        save(world, doc)
    return doc


def resolve_encryption_unchecked(world: RdsWorld, doc: dict[str, Any], value: str) -> dict:
    """For seeds: the instance rules hold, the key must exist, its state/tags/role may not."""
    if value == rules.DISABLED_WORD:
        return {"kind": "off", "key_id": None}
    rules.check_supports_encryption(facts(doc), at_creation=True)
    if value == rules.SERVICE_KEY_WORD:
        return {"kind": "service", "key_id": peers.service_key_id(world, doc["RegionId"])}
    rules.check_cmk_allowed_for_class(facts(doc))
    key = peers.find_key(world, doc["RegionId"], value, by_alias=True)
    if key is None:  # a seed's error, not a wire answer: KMS's own code names it best
        raise ApiError(404, "Forbidden.KeyNotFound", "The specified Key is not found.")
    return {"kind": "service" if key.is_service_key else "cmk", "key_id": key.key_id}


def delete_instance(world: RdsWorld, instance_id: str) -> None:
    """Removes the instance at once; a change it still waited for is Canceled."""
    doc = load(world, instance_id)
    pending = doc.get("pending")
    if pending:
        tasks.cancel(world.tx, doc["RegionId"], pending.get("task_id"), world.now)
    world.tx.delete(KIND, doc["RegionId"], instance_id)


def modify_maintain_time(world: RdsWorld, instance_id: str, window: str) -> dict[str, Any]:
    """A new window applies at once; a change already scheduled keeps its computed start."""
    doc = load(world, instance_id)
    rules.check_not_locked(lock_of(world, doc)[0])
    rules.parse_window(window)
    doc["MaintainTime"] = window
    save(world, doc)
    return doc


def instances_using_key(world: RdsWorld, region: str, key_id: str) -> list[dict[str, Any]]:
    """Every instance of the region (any engine) that uses the key: on it, switching to it
    (CONFIG_ENCRYPTING: RDS holds the new key from the moment the change starts), or scheduled
    to switch to it (a MaintainTime or SwitchTime change not started yet). An instance that is
    switching or scheduled to switch away still uses its current key until the change is done.
    """
    return [d for d in list_instances(world, region) if key_id in keys_in_use(d)]


def keys_in_use(doc: dict[str, Any]) -> set[str]:
    """The key ids a settled instance document uses, holds or is scheduled to take."""
    keys = {doc["encryption"]["key_id"]}
    pending = doc.get("pending")
    if pending:
        keys.add(pending["value"].get("key_id"))
    return {k for k in keys if k}


# --- restarts, minor version upgrades and read-only instances (issue 19) ----------------------

UPGRADING = "EngineVersionUpgrading"
"""The documented DBInstanceStatus "the database engine version of the instance is being
upgraded" ("Instance state table"), shown while a minor version upgrade runs."""
READ_ONLY = "Readonly"
index_field("MasterInstanceId")  # a primary lists its read-only instances by it


def restart(world: RdsWorld, doc: dict[str, Any], status: str = "Rebooting") -> dict[str, Any]:
    """The document restarting from now for ``--restart-seconds`` in ``status``."""
    until = world.now + world.restart_seconds
    return {**doc, "busy": {"status": status, "since": world.now, "until": until}}


def _settle_kernel_upgrade(doc: dict[str, Any], now: float) -> dict[str, Any]:
    """A finished minor version upgrade: the instance runs the target from its end on."""
    upgrade = doc.get("kernel_upgrade")
    if not upgrade or now < upgrade["end"]:
        return doc
    last = max(doc.get("last_restart") or 0.0, upgrade["start"])
    return {
        **doc,
        "CurrentKernelVersion": upgrade["target"],
        "kernel_upgrade": None,
        "last_restart": last,
    }


def read_only_of(world: RdsWorld, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The read-only instances attached to a primary, settled, in creation order. Which
    instances have any is known once per region until the store changes (store.Derived): a
    page of 100 instances without read-only ones costs no query per instance."""
    region = doc["RegionId"]
    primaries = world.tx.derived(
        ("rds_primaries", region), lambda: world.tx.values_of(KIND, region, "MasterInstanceId")
    )
    if doc["DBInstanceId"] not in primaries:
        return []
    return list_instances(world, region, where={"MasterInstanceId": doc["DBInstanceId"]})


def is_read_only(doc: dict[str, Any]) -> bool:
    return doc.get("DBInstanceType") == READ_ONLY
