"""The emulated clock: real UTC time plus an offset that `POST /_emulator/clock` advances.

It drives resource states only (restarts, maintenance windows, key deletion dates); request
timestamps and nonces are checked against the real clock. The offset is stored in the store's
meta table, so a restart on the same state file keeps the emulated time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from reconciler.emulator.store import Store

_OFFSET_KEY = "clock_offset_seconds"


class EmulatedClock:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        with store.transaction() as tx:
            self._offset = float(tx.get_meta(_OFFSET_KEY, "0") or 0)

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def now(self) -> datetime:
        """Emulated now, timezone-aware UTC."""
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> datetime:
        """Move the emulated clock forward (never backward) and persist the new offset."""
        if seconds < 0:
            raise ValueError("the emulated clock only moves forward")
        with self._lock:
            self._offset += seconds
            with self._store.transaction() as tx:
                tx.set_meta(_OFFSET_KEY, repr(self._offset))
        return self.now()


def iso(moment: datetime) -> str:
    """The cloud's timestamp format: `2024-01-02T03:04:05Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
