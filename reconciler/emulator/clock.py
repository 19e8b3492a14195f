"""The emulated clock: real UTC time plus an offset that `POST /_emulator/clock` advances (by a
number of seconds, or to an instant).

It drives resource states only (restarts, maintenance windows, key deletion dates); request
timestamps and nonces are checked against the real clock. The offset is stored in the store's
meta table, so a restart on the same state file keeps the emulated time.

The offset is bounded (one advance at most ~100 years, the total at most ~1000 years) so every
date the services compute from it stays a valid date. A stored offset outside that (written by
an older emulator, e.g. `advance_seconds: 1e300`) is clamped when the state is opened, with one
warning, instead of failing every later call.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import UTC, datetime, timedelta

from reconciler.emulator.store import Store

_OFFSET_KEY = "clock_offset_seconds"
_YEAR_SECONDS = 365.25 * 86400
_LOG = logging.getLogger(__name__)


class ClockRangeError(ValueError):
    """An advance that is negative, not finite, or would move the clock past its bounds."""


def _stored_offset(text: str | None) -> float:
    """The stored offset, clamped into 0..MAX_OFFSET_SECONDS (see the module doc)."""
    try:
        offset = float(text or 0)
    except ValueError:
        offset = math.nan
    clamped = 0.0 if math.isnan(offset) else min(max(offset, 0.0), EmulatedClock.MAX_OFFSET_SECONDS)
    if clamped != offset:
        _LOG.warning(
            "the state's emulated clock offset %r is out of range; using %r seconds",
            text,
            clamped,
        )
    return clamped


class EmulatedClock:
    MAX_ADVANCE_SECONDS = 100 * _YEAR_SECONDS
    MAX_OFFSET_SECONDS = 1000 * _YEAR_SECONDS

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        with store.transaction() as tx:
            self._offset = _stored_offset(tx.get_meta(_OFFSET_KEY, "0"))

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def now(self) -> datetime:
        """Emulated now, timezone-aware UTC."""
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> datetime:
        """Move the emulated clock forward (never backward) and persist the new offset.

        ClockRangeError (nothing changed) for a negative or non-finite advance, one past
        MAX_ADVANCE_SECONDS, or one that would take the offset past MAX_OFFSET_SECONDS."""
        with self._lock:
            self._move(seconds)
        return self.now()

    def advance_to(self, moment: datetime) -> datetime:
        """Move the emulated clock forward to `moment` (timezone-aware): what a test needs to
        stand at a chosen time of day, whatever the real hour. ClockRangeError (nothing changed)
        for a moment before the emulated now, or one `advance` would refuse."""
        with self._lock:
            seconds = (moment - self.now()).total_seconds()
            if seconds < 0:
                raise ClockRangeError(
                    f"advance_to {iso(moment)} is before the emulated now {iso(self.now())}; "
                    "the emulated clock only moves forward"
                )
            self._move(seconds)
        return self.now()

    def _move(self, seconds: float) -> None:
        """Add `seconds` to the offset and persist it; the caller holds the lock."""
        if not (math.isfinite(seconds) and 0 <= seconds <= self.MAX_ADVANCE_SECONDS):
            raise ClockRangeError(
                f"advance_seconds must be within 0..{self.MAX_ADVANCE_SECONDS:.0f} (100 years); "
                "the emulated clock only moves forward"
            )
        if self._offset + seconds > self.MAX_OFFSET_SECONDS:
            raise ClockRangeError(
                f"the emulated clock is {self._offset:.0f} s ahead; advancing "
                f"{seconds:.0f} s more would pass its limit of "
                f"{self.MAX_OFFSET_SECONDS:.0f} s (1000 years)"
            )
        self._offset += seconds
        with self._store.transaction() as tx:
            tx.set_meta(_OFFSET_KEY, repr(self._offset))


def iso(moment: datetime) -> str:
    """The cloud's timestamp format: `2024-01-02T03:04:05Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
