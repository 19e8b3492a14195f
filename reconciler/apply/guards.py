"""Every guard again at its write (docs/plan-format.md, "Every guard again at its write"):
right before the first write of a change, apply asks the guard of each of its writes (the
kind's WriteRule.guard: kinds/<kind>/write_guards.py) to read again the facts the plan's guard
rested on, not only the change's own target (compare.py), and refuses the write when a guard
refuses now. A guard that cannot read its facts raises (the change fails): an unread fact is
never a pass. Facts several guards share are read once per run (`once`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reconciler.apply import calls
from reconciler.cloud.clients import CloudClients
from reconciler.kinds.write_rule import WriteRefusal
from reconciler.plan.model import Change

T = TypeVar("T")

__all__ = ["WriteGuards", "WriteRefusal"]


class WriteGuards:
    """The guards of one apply run (thread-safe: `once` reads a shared fact at most once)."""

    def __init__(self, clients: CloudClients, ram_region: str) -> None:
        self.clients = clients
        self.ram_region = ram_region
        self._lock = threading.Lock()
        self._memo: dict[str, Any] = {}

    def once(self, name: str, read: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._memo:
                self._memo[name] = read()
            return self._memo[name]  # type: ignore[no-any-return]

    def check(self, change: Change, params: list[dict[str, Any] | None]) -> WriteRefusal | None:
        """The first refusal of the guards of `change`'s writes (`params`: each operation's
        parameters, references resolved; None for an operation on what the change itself
        creates first, e.g. a new key, which nothing uses yet), or None. Raises
        CloudCallError when a read fails."""
        region = str(change.region)
        for op, values in zip(change.op_names, params, strict=True):
            guard = calls.RULES[op].guard if op in calls.RULES else None
            if values is None or guard is None:
                continue
            found = guard(self, region, values)
            if found is not None:
                return found
        return None
