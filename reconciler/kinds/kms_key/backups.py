"""The backup sets a key's retirement or an instance's key switch must weigh (issue 18: backups
are key users; docs/real-cloud.md, "Backups that still need a key").

Snapshots of an encrypted cloud disk are encrypted with the instance's key, so a backup set
still needs the key it was taken with after the instance moved to another key, and until it
expires. DescribeBackups takes one instance (DBInstanceId is required), so:

- per region of a key the spec disables or deletes: DescribeDBInstances of every engine (100 a
  page), then per instance listed, managed or not, DescribeBackups (100 a page) until every
  page is in. A region is read once however many of its keys retire; a region with no key to
  retire costs nothing;
- per managed instance on a CMK that the spec moves elsewhere (outside those regions): its
  DescribeBackups pages, for the SnapshotsKeepOldKey warning.

Call bound: ceil(I/100) + sum over those instances of ceil(B/100), I being the instances of the
regions read and B each one's backup sets (README, "Measured"). A failed page stops the reading,
and a set whose Encryption cannot be read stops it too (cloud/rds_backups.py, `backup_key`): never
"no backups".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reconciler.cloud import rds, rds_backups
from reconciler.cloud.clients import CloudClients
from reconciler.core.facts import ObservedBackup

if TYPE_CHECKING:  # pragma: no cover - types only (apply's guard imports this module)
    from reconciler.state.reads import Reader


def read_region(reader: Reader, region: str) -> None:
    """Every instance's backup sets in the region (once per region)."""
    if region in reader.facts.backup_regions:
        return
    reader.facts.backup_regions.add(region)
    _list_page(reader, region, 1)


def read_instance(reader: Reader, region: str, instance_id: str) -> None:
    """One instance's backup sets, unless its region (or it) is read already."""
    facts = reader.facts
    if region in facts.backup_regions or instance_id in facts.backups:
        return
    facts.backups[instance_id] = []
    _backup_page(reader, region, instance_id, 1)


def _list_page(reader: Reader, region: str, number: int) -> None:
    def then(page: rds.InstancePage) -> None:
        if number == 1:
            for later in range(2, math.ceil(page.total / rds.PAGE_SIZE) + 1):
                _list_page(reader, region, later)
        for item in page.items:
            instance_id = str(item["DBInstanceId"])
            if instance_id not in reader.facts.backups:
                reader.facts.backups[instance_id] = []
                _backup_page(reader, region, instance_id, 1)

    reader.submit(then, _all_engines, reader.clients, region, number)


def _all_engines(clients: CloudClients, region: str, number: int) -> rds.InstancePage:
    return rds.list_instances(clients, region, number, all_engines=True)


def _backup_page(reader: Reader, region: str, instance_id: str, number: int) -> None:
    def then(page: rds_backups.BackupPage) -> None:
        facts = reader.facts
        facts.backups[instance_id] = sorted(
            [*facts.backups[instance_id], *page.backups], key=_order
        )
        if number == 1:
            for later in range(2, math.ceil(page.total / rds_backups.BACKUP_PAGE_SIZE) + 1):
                _backup_page(reader, region, instance_id, later)

    reader.submit(then, rds_backups.backups, reader.clients, region, instance_id, number)


def _order(backup: ObservedBackup) -> tuple[str, str]:
    return (backup.expires or "~", backup.backup_id)


def region_backups(clients: CloudClients, region: str) -> list[ObservedBackup]:
    """The same reads, one after another, for the guard at the write (one key, right before
    DisableKey or ScheduleKeyDeletion)."""
    found: list[ObservedBackup] = []
    for item in _every(lambda n: _all_engines(clients, region, n), rds.PAGE_SIZE):
        instance_id = str(item["DBInstanceId"])
        pages = _every(
            lambda n, i=instance_id: rds_backups.backups(clients, region, i, n),
            rds_backups.BACKUP_PAGE_SIZE,
        )
        found.extend(pages)
    return found


def _every(read: Callable[[int], Any], size: int) -> list[Any]:
    """Every page's items: page 1, then as many as its total says."""
    first = read(1)
    items = list(_items(first))
    for number in range(2, math.ceil(first.total / size) + 1):
        items.extend(_items(read(number)))
    return items


def _items(page: rds.InstancePage | rds_backups.BackupPage) -> list[Any]:
    return page.items if isinstance(page, rds.InstancePage) else page.backups
