"""Turn a seed document into a world, through the services' own verbs (see ``seeds``)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.emulator import accounts
from reconciler.emulator.dispatch import RequestContext, registered_services
from reconciler.emulator.errors import ApiError
from reconciler.emulator.runtime import EmulatorState
from reconciler.emulator.services import load_services
from reconciler.emulator.store import Transaction

KMS_VERSION, RAM_VERSION, RDS_VERSION = "2016-01-20", "2015-05-01", "2014-08-15"
_TOP_KEYS = {
    "account",
    "accounts",
    "regions",
    "kms",
    "kms_keys",
    "kms_instances",
    "ram",
    "rds_instances",
    "users",
    "description",
}
_KEY_KEYS = {
    "region",
    "aliases",
    "description",
    "tags",
    "state",
    "pending_window_days",
    "rotation",
    "deletion_protection",
    "kms_instance",
}
_ACCOUNT_KEYS = (_TOP_KEYS - {"account", "accounts", "description"}) | {"access_key"}
_KMS_INSTANCE_KEYS = {"id", "region", "key_num", "end_date", "status"}
_INSTANCE_KEYS = {
    "id",
    "region",
    "zone",
    "class",
    "category",
    "storage_type",
    "storage_gb",
    "engine",
    "engine_version",
    "status",
    "maintain_time",
    "encryption",
    "description",
    "kernel_version",
    "tde",
    "backups",
    "read_only",
    "tags",
}
_READ_ONLY_KEYS = {"id", "zone", "class", "category", "storage_type", "kernel_version", "status"}


class SeedError(ValueError):
    """A seed that cannot be built; the message says which entry and why."""


def _check_keys(where: str, entry: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise SeedError(f"{where}: must be a mapping")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {', '.join(unknown)}")
    return entry


class _Builder:
    def __init__(self, state: EmulatorState, tx: Transaction) -> None:
        self.state = state
        self.tx = tx

    def context(self, service: str, action: str, params: dict[str, str]) -> RequestContext:
        return RequestContext(service, action, params, self.tx, self.state, "seed")

    def call(self, where: str, version: str, action: str, params: dict[str, Any]) -> dict:
        """Run a registered action handler as if the request came over the wire."""
        service = registered_services()[version]
        wire = {k: str(v) for k, v in params.items() if v is not None}
        try:
            return service.actions[action](self.context(service.name, action, wire))
        except ApiError as error:
            raise SeedError(f"{where}: {action} failed: {error.code}: {error.message}") from None

    # --- KMS ----------------------------------------------------------------------------------

    def region_service_key(self, region: str) -> None:
        from reconciler.emulator.kms import models as kms

        kms.ensure_service_key(self.context("kms", "Seed", {"RegionId": region}), region)

    def kms_key(self, where: str, entry: dict[str, Any]) -> None:
        entry = _check_keys(where, entry, _KEY_KEYS)
        region = entry.get("region")
        if not region:
            raise SeedError(f"{where}: region is required")
        rotation = entry.get("rotation") or {}
        tags = entry.get("tags") or {}
        params: dict[str, Any] = {
            "RegionId": region,
            "Description": entry.get("description"),
            "DKMSInstanceId": entry.get("kms_instance"),
        }
        if tags:
            params["Tags"] = json.dumps(
                [{"TagKey": k, "TagValue": str(v)} for k, v in tags.items()]
            )
        if rotation.get("enabled"):
            params["EnableAutomaticRotation"] = "true"
            params["RotationInterval"] = f"{int(rotation.get('interval_days', 365))}d"
        created = self.call(where, KMS_VERSION, "CreateKey", params)
        key = {"RegionId": region, "KeyId": created["KeyMetadata"]["KeyId"]}
        for alias in entry.get("aliases") or []:
            self.call(where, KMS_VERSION, "CreateAlias", {**key, "AliasName": alias})
        if entry.get("deletion_protection"):
            self.call(
                where,
                KMS_VERSION,
                "SetDeletionProtection",
                {**key, "EnableDeletionProtection": True},
            )
        self.key_state(where, key, entry)

    def kms_instance(self, where: str, entry: dict[str, Any]) -> None:
        from reconciler.emulator.kms import instances

        entry = _check_keys(where, entry, _KMS_INSTANCE_KEYS)
        for required in ("id", "region", "end_date"):
            if not entry.get(required):
                raise SeedError(f"{where}: {required} is required")
        region = str(entry["region"])
        try:
            instances.put_instance(
                self.context("kms", "Seed", {"RegionId": region}),
                region,
                key_num=int(entry.get("key_num", 1000)),
                end_date=entry["end_date"],
                status=str(entry.get("status", instances.CONNECTED)),
                instance_id=str(entry["id"]),
            )
        except ValueError as error:
            raise SeedError(f"{where}: {error}") from None

    def key_state(self, where: str, key: dict[str, str], entry: dict[str, Any]) -> None:
        state = entry.get("state", "Enabled")
        if state == "Disabled":
            self.call(where, KMS_VERSION, "DisableKey", key)
        elif state == "PendingDeletion":
            days = int(entry.get("pending_window_days", 7))
            self.call(
                where, KMS_VERSION, "ScheduleKeyDeletion", {**key, "PendingWindowInDays": days}
            )
        elif state != "Enabled":
            raise SeedError(f"{where}: state must be Enabled, Disabled or PendingDeletion")

    # --- RAM ----------------------------------------------------------------------------------

    def ram_policy(self, where: str, entry: dict[str, Any]) -> None:
        entry = _check_keys(where, entry, {"name", "document", "description"})
        document = entry.get("document")
        text = document if isinstance(document, str) else json.dumps(document)
        params = {"PolicyName": entry.get("name"), "PolicyDocument": text}
        self.call(
            where, RAM_VERSION, "CreatePolicy", {**params, "Description": entry.get("description")}
        )

    def ram_role(self, where: str, entry: dict[str, Any]) -> None:
        entry = _check_keys(where, entry, {"name", "trust", "description", "policies"})
        trust = entry.get("trust", "rds.aliyuncs.com")
        if isinstance(trust, str) and not trust.lstrip().startswith("{"):
            trust = {
                "Version": "1",
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": [trust]},
                    }
                ],
            }
        text = trust if isinstance(trust, str) else json.dumps(trust)
        name = entry.get("name")
        params = {"RoleName": name, "AssumeRolePolicyDocument": text}
        self.call(
            where, RAM_VERSION, "CreateRole", {**params, "Description": entry.get("description")}
        )
        for policy in entry.get("policies") or []:
            ref = {"name": policy} if isinstance(policy, str) else policy
            policy_type = ref.get("type") or (
                "Custom" if self._is_custom(ref["name"]) else "System"
            )
            attach = {"PolicyType": policy_type, "PolicyName": ref["name"], "RoleName": name}
            self.call(where, RAM_VERSION, "AttachPolicyToRole", attach)

    def _is_custom(self, name: str) -> bool:
        from reconciler.emulator.ram import models as ram

        return ram.get_policy(self.context("ram", "Seed", {}), name, "Custom") is not None

    def user(self, where: str, entry: dict[str, Any]) -> None:
        from reconciler.emulator import identity

        try:
            identity.put_user(self.context("ram", "Seed", {}), entry)
        except identity.UserError as error:
            raise SeedError(f"{where}: {error}") from None

    # --- RDS ----------------------------------------------------------------------------------

    def rds_instance(self, where: str, entry: dict[str, Any]) -> None:
        from reconciler.emulator.rds import models as rds

        entry = _check_keys(where, entry, _INSTANCE_KEYS)
        for required in ("id", "region", "class"):
            if not entry.get(required):
                raise SeedError(f"{where}: {required} is required")
        region = entry["region"]
        category = entry.get("category", "HighAvailability")
        fields = {
            "DBInstanceId": entry["id"],
            "RegionId": region,
            "ZoneId": entry.get("zone") or f"{region}-h",
            "Engine": entry.get("engine", "PostgreSQL"),
            "EngineVersion": str(entry.get("engine_version", "16.0")),
            "DBInstanceClass": entry["class"],
            "DBInstanceStorage": int(entry.get("storage_gb", 100)),
            "DBInstanceStorageType": entry.get("storage_type", "cloud_essd"),
            "Category": category,
            "DBInstanceNetType": "Intranet",
            "InstanceNetworkType": "VPC",
            "PayType": "Serverless" if category.startswith("serverless") else "Postpaid",
            "SecurityIPList": "127.0.0.1",
            "DBInstanceDescription": entry.get("description", ""),
            "MaintainTime": entry.get("maintain_time", rds.DEFAULT_MAINTAIN_TIME),
            "ServerlessConfig": None,
        }
        world = rds.RdsWorld(self.context("rds", "Seed", {"RegionId": region}))
        try:
            fields.update(_kernel_version(where, entry))
            doc = rds.create_instance(
                world,
                fields,
                encryption_key=_encryption_value(entry.get("encryption")),
                status=entry.get("status", "Running"),
                check_key_access=False,
            )
            if entry.get("tde"):
                from reconciler.emulator.rds import tde

                rds.save(world, tde.seed(world, doc, str(entry["tde"])))
        except ApiError as error:
            raise SeedError(f"{where}: {error.code}: {error.message}") from None
        self.backups(where, world, entry)
        self.instance_tags(where, entry)
        for i, item in enumerate(entry.get("read_only") or []):
            self.read_only(f"{where}.read_only[{i}]", world, fields, item)

    def instance_tags(self, where: str, entry: dict[str, Any]) -> None:
        """``tags: {env: prod}``: put on through TagResources, so its limits hold for seeds."""
        tags = entry.get("tags") or {}
        if not isinstance(tags, dict):
            raise SeedError(f"{where}.tags: must be a mapping of key to value")
        params: dict[str, Any] = {
            "RegionId": entry["region"],
            "ResourceType": "INSTANCE",
            "ResourceId.1": entry["id"],
        }
        for i, (key, value) in enumerate(tags.items(), start=1):
            params |= {f"Tag.{i}.Key": str(key), f"Tag.{i}.Value": _tag_value(value)}
        if tags:
            self.call(f"{where}.tags", RDS_VERSION, "TagResources", params)

    def read_only(
        self, where: str, world: Any, primary: dict[str, Any], entry: dict[str, Any]
    ) -> None:
        """A read-only instance attached to ``primary`` (its fields unless the entry overrides
        them): ``{id, zone, class, category, storage_type, kernel_version, status}``."""
        from reconciler.emulator.rds import models as rds

        entry = _check_keys(where, entry, _READ_ONLY_KEYS)
        if not entry.get("id"):
            raise SeedError(f"{where}: id is required")
        fields = {
            **primary,
            "DBInstanceId": entry["id"],
            "ZoneId": entry.get("zone") or primary["ZoneId"],
            "DBInstanceClass": entry.get("class") or primary["DBInstanceClass"],
            "Category": entry.get("category", primary["Category"]),
            "DBInstanceStorageType": entry.get("storage_type", primary["DBInstanceStorageType"]),
            "DBInstanceType": rds.READ_ONLY,
            "MasterInstanceId": primary["DBInstanceId"],
            "CurrentKernelVersion": None,
            **_kernel_version(where, entry),
        }
        try:
            rds.create_instance(world, fields, status=entry.get("status", "Running"))
        except ApiError as error:
            raise SeedError(f"{where}: {error.code}: {error.message}") from None

    def backups(self, where: str, world: Any, entry: dict[str, Any]) -> None:
        """The instance's backup sets from before the world's present (rds/backups.py)."""
        from reconciler.emulator.rds import backups

        for i, item in enumerate(entry.get("backups") or []):
            item = _check_keys(f"{where}.backups[{i}]", item, _BACKUP_KEYS)
            try:
                backups.seed_set(world, entry["id"], item)
            except ApiError as error:
                raise SeedError(f"{where}.backups[{i}]: {error.message}") from None


_BACKUP_KEYS = {"key", "taken_days_ago", "expires_in_days"}


def _kernel_version(where: str, entry: dict[str, Any]) -> dict[str, str]:
    """``kernel_version: rds_postgres_1600_20220830`` pins an older minor engine version."""
    from reconciler.emulator.rds import kernel

    pinned = entry.get("kernel_version")
    if pinned is None:
        return {}
    if not kernel.is_valid(str(pinned)):
        raise SeedError(f"{where}: kernel_version must look like rds_postgres_1600_20220830")
    return {"CurrentKernelVersion": str(pinned)}


def _tag_value(value: Any) -> str:
    """YAML reads ``true`` and ``null`` as non-strings: the tag holds their text as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _encryption_value(value: Any) -> str | None:
    """YAML ``off`` is the boolean False: off, None, "off", "disabled" all mean no encryption."""
    if value in (None, False, "off", "disabled", ""):
        return None
    if value in ("service", "ServiceKey", "service_key"):
        return "ServiceKey"
    return str(value)


def _kms_status(doc: dict[str, Any]) -> str | None:
    """``kms: {activated: false}`` (KMS not activated) or ``kms: {status: InDebt}`` (one of the
    documented AccountStatus values); None: unchanged."""
    from reconciler.emulator import kms_activation

    kms = _check_keys("kms", doc.get("kms") or {}, {"activated", "status"})
    activated, status = kms.get("activated"), kms.get("status")
    if activated is not None and not isinstance(activated, bool):
        raise SeedError("kms.activated: must be true or false")
    if status is not None and status not in kms_activation.STATUSES:
        raise SeedError(f"kms.status: must be one of {', '.join(kms_activation.STATUSES)}")
    if status is not None and activated is not None:
        raise SeedError("kms: give status or activated, not both")
    if activated is not None:
        return kms_activation.ENABLED if activated else kms_activation.NOT_ENABLED
    return status


def build_world(state: EmulatorState, doc: dict[str, Any]) -> None:
    """Build the seed's world in one transaction. ``kms.activated``/``kms.status`` is applied
    last, so a seed may still describe a history (keys, encrypted instances) from before KMS
    was deactivated. ``accounts:`` builds each further account's world the same way."""
    _check_keys("seed", doc, _TOP_KEYS)
    load_services()
    others = _check_keys("accounts", doc.get("accounts") or {}, set(doc.get("accounts") or {}))
    with state.store.transaction() as tx:
        _build_account(state, tx, doc, "")
        for account, entry in others.items():
            where = f"accounts.{account}"
            entry = _check_keys(where, entry or {}, _ACCOUNT_KEYS)
            try:
                accounts.declare(
                    tx, state.settings.account_id, str(account), entry.get("access_key")
                )
            except ValueError as error:
                raise SeedError(f"{where}: {error}") from None
            scope = accounts.scope_of(state.settings.account_id, str(account))
            _build_account(state, tx.in_account(scope), entry, f"{where}.")


def _build_account(state: EmulatorState, tx: Transaction, doc: dict[str, Any], at: str) -> None:
    """One account's world (``tx`` sees that account) from its part of the seed."""
    from reconciler.emulator import kms_activation

    ram = _check_keys(f"{at}ram", doc.get("ram") or {}, {"roles", "policies"})
    kms_status = _kms_status(doc)
    builder = _Builder(state, tx)
    for region in doc.get("regions") or []:
        builder.region_service_key(str(region))
    for i, entry in enumerate(doc.get("kms_instances") or []):
        builder.kms_instance(f"{at}kms_instances[{i}]", entry)
    for i, entry in enumerate(doc.get("kms_keys") or []):
        builder.kms_key(f"{at}kms_keys[{i}]", entry)
    for i, entry in enumerate(ram.get("policies") or []):
        builder.ram_policy(f"{at}ram.policies[{i}]", entry)
    for i, entry in enumerate(ram.get("roles") or []):
        builder.ram_role(f"{at}ram.roles[{i}]", entry)
    for i, entry in enumerate(doc.get("rds_instances") or []):
        builder.rds_instance(f"{at}rds_instances[{i}]", entry)
    for i, entry in enumerate(doc.get("users") or []):
        builder.user(f"{at}users[{i}]", entry)
    if kms_status is not None:
        kms_activation.set_status(tx, kms_status)
