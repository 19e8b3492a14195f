"""RDS backup sets (DescribeBackups) -> our models: the sets that still need a key (issue 18;
docs/real-cloud.md, "Backups that still need a key")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.cloud.answers import reading
from reconciler.cloud.clients import CloudClients
from reconciler.cloud.rds_wire import answer, models
from reconciler.core.facts import ObservedBackup

BACKUP_PAGE_SIZE = 100
"""The largest PageSize DescribeBackups takes (30, 50 or 100)."""
BACKUP_FAILED = "Failed"
"""The one BackupStatus whose set is not counted: a failed backup restores nothing."""


@dataclass(frozen=True)
class BackupPage:
    backups: list[ObservedBackup]
    total: int


def backups(clients: CloudClients, region: str, instance_id: str, page: int) -> BackupPage:
    """One page of an instance's backup sets (DescribeBackups), each with its disk key. Fail
    closed: a set whose `Encryption` names no key it could be read from stops the reading (a
    ValueError, labelled by `reading`), never "not encrypted" (docs/real-cloud.md, "Backups that
    still need a key")."""
    request = models().DescribeBackupsRequest(
        dbinstance_id=instance_id, page_size=BACKUP_PAGE_SIZE, page_number=page
    )
    with reading("rds:DescribeBackups", f"{instance_id} page {page}"):
        body = answer(clients, region, "DescribeBackups", "describe_backups", request)
        total = int(body["TotalRecordCount"])  # a string in the SDK model
        items = (body.get("Items") or {}).get("Backup") or [] if total else []
        if total and not items:
            raise ValueError(f"TotalRecordCount {total} but no Items.Backup on page {page}")
        if not isinstance(items, list):
            raise TypeError("Items.Backup is not a list")
        found = [
            _backup(item, instance_id)
            for item in items
            if str(item.get("BackupStatus") or "") != BACKUP_FAILED
        ]
        return BackupPage(backups=found, total=total)


def _backup(item: dict[str, Any], instance_id: str) -> ObservedBackup:
    backup_id = str(item["BackupId"])
    if str(item.get("DBInstanceId") or instance_id) != instance_id:
        raise ValueError(f"backup set {backup_id} belongs to {item.get('DBInstanceId')}")
    return ObservedBackup(
        backup_id=backup_id,
        instance_id=instance_id,
        key_id=backup_key(item.get("Encryption"), backup_id),
        expires=str(item["ExpectExpireTime"]) if item.get("ExpectExpireTime") else None,
    )


BACKUP_KEY_FIELDS = ("EncryptionKey", "encryptionKey", "KeyId", "keyId")
"""Where a set's `Encryption` JSON may name its key. The field names are undocumented (the
SDK's example is `{}`); the emulator writes EncryptionKey (docs/real-cloud.md)."""
NOT_ENCRYPTED_TYPES = ("None",)
"""EncryptionType values that state "not encrypted" (the emulator's choice; an allow-list)."""


def backup_key(text: Any, backup_id: str) -> str | None:
    """The KMS key a set's `Encryption` names; None only when it says "not encrypted" in a
    form we know. Anything else (`{}`, not JSON, another shape) is a ValueError: that set may
    need any key, so nobody may say it needs none."""
    try:
        found = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise ValueError(
            f"backup set {backup_id}: Encryption {str(text)[:80]!r} is not a JSON object"
        )
    keys = {str(found[f]) for f in BACKUP_KEY_FIELDS if found.get(f)}
    if len(keys) == 1:
        return keys.pop()
    if not keys and found.get("EncryptionType") in NOT_ENCRYPTED_TYPES:
        return None
    raise ValueError(
        f"backup set {backup_id}: Encryption {str(text)[:80]!r} names no key we can read, so "
        "the key it needs is unknown"
    )
