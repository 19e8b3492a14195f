"""Counts every HTTP request we send, per `service:Action` (retries included)."""

from __future__ import annotations

import threading
from collections import Counter


class CallCounter:
    """Thread-safe call counts; `--stats` prints them."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._retries: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, service: str, action: str) -> None:
        with self._lock:
            self._counts[f"{service}:{action}"] += 1

    def count_retry(self, service: str, action: str) -> None:
        with self._lock:
            self._retries[f"{service}:{action}"] += 1

    def add(self, counts: dict[str, int], retries: dict[str, int]) -> None:
        """Add another counter's counts (a worker process's: state/processes.py)."""
        with self._lock:
            self._counts.update(counts)
            self._retries.update(retries)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def by_action(self) -> dict[str, int]:
        """Counts sorted by name, so output never flaps."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def retries(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._retries.items()))
