"""Which backup sets still need a key, and how to say it (pure: imports only core). The
planner's KeyInUse (plan/planner.py), the guard at the write (kinds/kms_key/write_guards.py)
and the key-switch warning (kinds/rds_encryption/plan.py) share it, so they say the same."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.core.facts import ObservedBackup

_NAMED = 5
"""How many instances a message names before it says `and N more`."""


@dataclass(frozen=True)
class BackupUse:
    """The unexpired backup sets encrypted with one key."""

    instances: list[str]
    count: int
    latest: str | None
    """The latest ExpectExpireTime; None when a set is kept until deleted by hand."""


def backup_use(sets: Iterable[ObservedBackup], key_id: str | None) -> BackupUse | None:
    found = [s for s in sets if key_id is not None and s.key_id == key_id]
    if not found:
        return None
    forever = any(s.expires is None for s in found)
    latest = None if forever else max(str(s.expires) for s in found)
    return BackupUse(sorted({s.instance_id for s in found}), len(found), latest)


def describe(use: BackupUse) -> str:
    """`3 backup sets of pgm-a, pgm-b (kept until 2026-12-15T21:49:17Z)`."""
    named = ", ".join(use.instances[:_NAMED])
    if len(use.instances) > _NAMED:
        named += f" and {len(use.instances) - _NAMED} more"
    return f"{count(use)} of {named} ({until(use)})"


def count(use: BackupUse) -> str:
    return "1 backup set" if use.count == 1 else f"{use.count} backup sets"


def until(use: BackupUse) -> str:
    """Until when the key is needed: `the last expires ...`, or kept until deleted by hand."""
    if use.latest:
        return f"the last expires {use.latest}"
    return "one has no expiry: it is kept until deleted by hand"


def all_sets(backups: dict[str, list[ObservedBackup]]) -> list[ObservedBackup]:
    return [s for sets in backups.values() for s in sets]
