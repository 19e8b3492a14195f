"""The guard of the kind `kms_key`'s retiring writes (DisableKey, ScheduleKeyDeletion), checked
again right before the write (docs/plan-format.md, "Every guard again at its write"): the key's
users, from the cloud's census (DescribeKmsAssociateResources) and the task center
(DescribeHistoryTasks, every page of the region), and the backup sets of every instance of the
region (DescribeBackups, kinds/kms_key/backups.py). An instance on the key, switching or
scheduled to switch to it, or with a pending change whose target cannot be read, would be
locked, and an unexpired backup set on the key could not be restored: KeyInUse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.cloud import kms, rds
from reconciler.core.backups import BackupUse, backup_use, describe
from reconciler.core.facts import ObservedKeyUser
from reconciler.core.rules import DISK_USE, account_of_arn, key_use_notes
from reconciler.kinds.write_rule import GuardReads, Params, WriteRefusal
from reconciler.plan.actions import RefusalCode

_NAMED = 5
"""How many users a KeyInUse refusal names before it says `and N more`."""


def key_not_in_use(reads: GuardReads, region: str, params: Params) -> WriteRefusal | None:
    key_id = str(params["KeyId"])
    metadata = kms.describe_key(reads.clients, region, key_id)
    if metadata is None:
        return None  # gone: nothing to lock (the compare-and-set reports the key moved)
    account = account_of_arn(str(metadata.get("Arn") or ""))
    census = rds.key_users(reads.clients, region, key_id, account)
    counted = {u.instance_id for u in census}
    users = _labelled(census)
    switching = [
        f"{t.instance_id} (task {t.task_id}, {t.status.lower()}"
        + (", its target could not be read)" if t.target_unread else ")")
        for t in _tasks(reads, region)
        if (t.encryption_target == key_id or t.target_unread) and t.instance_id not in counted
    ]
    named = [*users, *switching]
    backups = _backups_now(reads, region, key_id)
    if not named and backups is None:
        return None
    if not named:
        return WriteRefusal(
            RefusalCode.KEY_IN_USE,
            f"key {key_id} is still needed by {describe(backups)}: disabling or deleting it "
            "now would leave them unrestorable. Keep it enabled until they expire (or delete "
            "them), then plan again",
        )
    shown = ", ".join(named[:_NAMED]) + (
        f" and {len(named) - _NAMED} more" if len(named) > _NAMED else ""
    )
    return WriteRefusal(
        RefusalCode.KEY_IN_USE,
        f"key {key_id} is in use now by {shown}"
        + (f", and still needed by {describe(backups)}" if backups is not None else "")
        + ": disabling or deleting it would lock them. Move them off the key, then plan again",
    )


def _labelled(census: list[ObservedKeyUser]) -> list[str]:
    """One name per instance, saying a use other than the disk's: a TDE user keeps the key
    for good (TDE cannot be turned off)."""
    uses: dict[str, set[str]] = {}
    for user in census:
        uses.setdefault(user.instance_id, set()).add(user.used_by)
    return [
        instance_id + ("" if found == {DISK_USE} else f" ({'; '.join(key_use_notes(found))})")
        for instance_id, found in uses.items()
    ]


def _backups_now(reads: GuardReads, region: str, key_id: str) -> BackupUse | None:
    """The region's backup sets on the key, read again (kinds/kms_key/backups.py: the same
    calls as the plan's read; a failed page or an unreadable Encryption raises: no write)."""
    from reconciler.kinds.kms_key.backups import region_backups

    return backup_use(region_backups(reads.clients, region), key_id)


def _tasks(reads: GuardReads, region: str) -> list[Any]:
    now = datetime.now(UTC)
    first = rds.pending_tasks(reads.clients, region, 1, now)
    tasks = list(first.tasks)
    pages = -(-first.total // rds.TASK_PAGE_SIZE)
    for number in range(2, pages + 1):
        tasks.extend(rds.pending_tasks(reads.clients, region, number, now).tasks)
    return tasks


def kms_instance_ready(reads: GuardReads, region: str, params: Params) -> WriteRefusal | None:
    """CreateKey in a KMS instance: the instance still exists, is Connected and has room
    (GetKmsInstance + GetKmsInstanceQuotaInfos right before the write). A default key
    (no DKMSInstanceId) is left to CreateKey's own answer: the one default key of a region
    is not read here (docs/real-cloud.md, "KMS instances and default keys")."""
    instance_id = params.get("DKMSInstanceId")
    if not instance_id:
        return None
    found = kms.kms_instance(reads.clients, region, str(instance_id))
    if found is None:
        return WriteRefusal(
            RefusalCode.KMS_INSTANCE_NOT_FOUND, f"no KMS instance {instance_id} exists in {region}"
        )
    if found.status != "Connected":
        return WriteRefusal(
            RefusalCode.KMS_INSTANCE_NOT_READY,
            f"the KMS instance {instance_id} is {found.status}, not Connected",
        )
    if found.keys_used >= found.key_num:
        return WriteRefusal(
            RefusalCode.KMS_INSTANCE_KEY_QUOTA,
            f"the KMS instance {instance_id} holds {found.keys_used} of its {found.key_num} keys",
        )
    return None
