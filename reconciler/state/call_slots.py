"""A worker's calls under way: at most `--parallelism`, the older unit's calls first.

A worker reads two units at once (state/processes.py, `units_at_once`). Shared fairly, both
would progress at the same pace and end together, so their two ends (the last reads, on ever
fewer threads) would still leave the threads idle at once. Here a free slot goes to the
waiting call of the unit the worker took first: that unit reads as if alone, and the younger
one uses only what it leaves, chiefly its end, so the worker's threads stay busy through the
change of units (docs/architecture.md, "Processes").
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CallSlots:
    """A counting semaphore whose waiters are served by rank (lower first), then arrival."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"at least one call slot is needed, not {slots}")
        self._free = slots
        self._lock = threading.Lock()
        self._waiting: list[tuple[int, int, threading.Event]] = []
        self._arrivals = itertools.count()

    @contextmanager
    def held(self, rank: int) -> Iterator[None]:
        self.acquire(rank)
        try:
            yield
        finally:
            self.release()

    def acquire(self, rank: int) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            heapq.heappush(self._waiting, (rank, next(self._arrivals), turn))
        turn.wait()  # release() handed its slot to this call

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                heapq.heappop(self._waiting)[2].set()
            else:
                self._free += 1
