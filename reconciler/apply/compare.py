"""Compare-and-set: right before a change's first write, read its target again and compare it
with the change's `before` (the view the plan was made from). When they differ, someone changed
the resource since the plan: the change is not made (docs/plan-format.md, Change: `before`).

Each kind reads its own target, in the planner's vocabulary, by the rules the planner uses too
(reconciler.core.rules; apply never imports the planner): reconciler/kinds/<kind>/apply.py.
"""

from __future__ import annotations

import threading

from reconciler.cloud import kms
from reconciler.cloud.clients import CloudClients
from reconciler.kinds import find_kind, prefix_of
from reconciler.plan.model import Change


class ServiceKeys:
    """The id of alias/acs/rds per region, read at most once per run (thread-safe)."""

    def __init__(self, clients: CloudClients) -> None:
        self._clients = clients
        self._ids: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def id(self, region: str) -> str | None:
        with self._lock:
            if region in self._ids:
                return self._ids[region]
        found = kms.service_key(self._clients, region).key_id
        with self._lock:
            self._ids[region] = found
        return found


def moved(
    change: Change, clients: CloudClients, ram_region: str, service_keys: ServiceKeys
) -> str | None:
    """What differs between the target now and the plan's `before`; None when nothing does.
    Raises CloudCallError when the target cannot be read (the change is then not made)."""
    kind = find_kind(change.address)
    if kind is None:
        return f"apply does not know resources of kind {prefix_of(change.address)}"
    return kind.moved(change, clients, ram_region, service_keys)
