"""The guard of the kind `kms_key`'s retiring writes (DisableKey, ScheduleKeyDeletion), checked
again right before the write (docs/plan-format.md, "Every guard again at its write"): the key's
users, from the cloud's census (DescribeKmsAssociateResources) and the task center
(DescribeHistoryTasks, every page of the region). An instance on the key, switching or
scheduled to switch to it, or with a pending change whose target cannot be read, would be
locked: KeyInUse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.cloud import kms, rds
from reconciler.core.rules import account_of_arn
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
    users = [u.instance_id for u in rds.key_users(reads.clients, region, key_id, account)]
    switching = [
        f"{t.instance_id} (task {t.task_id}, {t.status.lower()}"
        + (", its target could not be read)" if t.target_unread else ")")
        for t in _tasks(reads, region)
        if (t.encryption_target == key_id or t.target_unread) and t.instance_id not in users
    ]
    named = [*users, *switching]
    if not named:
        return None
    shown = ", ".join(named[:_NAMED]) + (
        f" and {len(named) - _NAMED} more" if len(named) > _NAMED else ""
    )
    return WriteRefusal(
        RefusalCode.KEY_IN_USE,
        f"key {key_id} is in use now by {shown}: disabling or deleting it would lock "
        "them. Move them off the key, then plan again",
    )


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
