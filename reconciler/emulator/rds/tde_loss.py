"""What a lost TDE key does to a PostgreSQL instance, and when the instance last restarted.

Documented ("Configure TDE", docs/real-cloud.md "TDE and the key list"): a disabled or deleted
custom key stops snapshots, restores from snapshots and secondary rebuilds; a restart after
that makes the instance unavailable. Emulator choices (docs/emulator.md, "RDS: TDE"):

- The TDE key is lost while it is Disabled, PendingDeletion or deleted (KMS keeps each such
  period on the key: ``KeyRecord.unusable_periods``). The service key is never lost.
- While it is lost, CreateBackup is 403 ``InvalidKmsKey`` and no automatic set is taken (a
  day whose backup moment falls in a lost period has no set, also after the key is back).
- A restart that starts while the key is lost (RestartDBInstance, the restart of a disk-key
  change or of a minor version upgrade) leaves the instance locked like a disk key's loss:
  ``LockMode`` ``LockByEncryptionKey``, ``LockReason`` ``tde_`` + the disk reason (for example
  ``tde_encryption_key_disabled``), every O&M call 403 ``IncorrectDBInstanceLockMode``. The
  status stays as it is. The key enabled again unlocks it.
- Without a restart the instance is not locked: it keeps running on the data key it holds.

No HTTP and no writes: functions of an instance document, the world's KMS and a moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reconciler.emulator.rds import peers, rules

if TYPE_CHECKING:
    from reconciler.emulator.rds.models import RdsWorld

RESTART_STATUSES = frozenset({"Rebooting", "EngineVersionUpgrading"})
"""``busy`` statuses that are restarts (``Creating`` is not)."""
_CUSTOMER_KEY = "Customer_Provided_Key"


def lost_periods(world: RdsWorld, doc: dict[str, Any]) -> list[tuple[float, float | None]]:
    """``(since, until)`` of each period the instance's TDE custom key was unusable (until
    None: it still is); empty when TDE is off or on a generated key."""
    tde = doc.get("tde")
    if not tde or tde.get("mode") != _CUSTOMER_KEY:
        return []
    region = doc["RegionId"]
    key = peers.find_key(world, region, tde["key_id"])
    deleted = key is None
    if key is None:
        key = peers.deleted_key(world, region, tde["key_id"])
    if key is None:  # never known here: lost since ever
        return [(0.0, None)]
    periods = [(float(p[0] or 0.0), p[1]) for p in key.unusable_periods]
    usable = not deleted and key.state == "Enabled"
    if not usable and not (periods and periods[-1][1] is None):
        periods.append((0.0, None))  # unusable without a recorded start: since ever
    return periods


def lost_since(world: RdsWorld, doc: dict[str, Any]) -> float | None:
    """When the TDE key became unusable, if it is unusable now; else None."""
    periods = lost_periods(world, doc)
    return periods[-1][0] if periods and periods[-1][1] is None else None


def lost_at(periods: Sequence[tuple[float, float | None]], moment: float) -> bool:
    return any(since <= moment and (until is None or moment < until) for since, until in periods)


def check_key_usable(world: RdsWorld, doc: dict[str, Any]) -> None:
    """CreateBackup (a snapshot) of an instance whose TDE key is lost: 403 InvalidKmsKey."""
    if lost_since(world, doc) is not None:
        raise rules.invalid_kms_key("Kms key is disabled: the TDE key of the instance.")


def last_restart_at(doc: dict[str, Any], now: float) -> float | None:
    """The start of the instance's latest restart that has begun by ``now``, if any: a
    ``Rebooting``/``EngineVersionUpgrading`` phase, a disk-key change, a minor version upgrade,
    or one already folded into ``last_restart``."""
    starts = [doc.get("last_restart")]
    busy = doc.get("busy")
    if busy and busy.get("status") in RESTART_STATUSES:
        starts.append(busy.get("since"))
    for phase in (doc.get("pending"), doc.get("kernel_upgrade")):
        if phase:
            starts.append(phase["start"])
    begun = [s for s in starts if s is not None and s <= now]
    return max(begun) if begun else None


def lock_of(world: RdsWorld, doc: dict[str, Any]) -> tuple[str, str] | None:
    """(LockMode, LockReason) when a restart began while the TDE key was lost; else None."""
    since = lost_since(world, doc)
    restarted = last_restart_at(doc, world.now)
    if since is None or restarted is None or restarted < since:
        return None
    key = peers.find_key(world, doc["RegionId"], doc["tde"]["key_id"])
    mode, reason = rules.lock_for_key_state(None if key is None else key.state)
    if mode == rules.UNLOCKED:  # unusable in a state the disk rules do not name
        mode, reason = rules.LOCK_MODE_BY_KEY, rules.LOCK_REASONS["Disabled"]
    return mode, "tde_" + reason
