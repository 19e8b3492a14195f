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


def _tasks(reads: GuardReads, region: str) -> list[Any]:
    now = datetime.now(UTC)
    first = rds.pending_tasks(reads.clients, region, 1, now)
    tasks = list(first.tasks)
    pages = -(-first.total // rds.TASK_PAGE_SIZE)
    for number in range(2, pages + 1):
        tasks.extend(rds.pending_tasks(reads.clients, region, number, now).tasks)
    return tasks
