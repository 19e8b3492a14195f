"""Apply order: a topological order of the dependency edges (graphlib), ties broken by kind
in the registry's apply order (reconciler.kinds: policy, role, attachment, key, instance) and
then address, so the same input always gives the same order."""

from __future__ import annotations

import heapq
from graphlib import TopologicalSorter

from reconciler.kinds import apply_rank
from reconciler.plan.model import Change


def _rank(address: str) -> tuple[int, str]:
    return (apply_rank(address), address)


def order_changes(changes: dict[str, Change], edges: set[tuple[str, str]]) -> list[Change]:
    """Changes with `depends_on` filled in (only edges between changes present), in order."""
    deps: dict[str, set[str]] = {address: set() for address in changes}
    for first, then in edges:
        if first in changes and then in changes:
            deps[then].add(first)
    sorter: TopologicalSorter[str] = TopologicalSorter(deps)
    # No fallback for a cycle (graphlib.CycleError): the planner's edges cannot form one, and
    # any other order could disable a key before the instances leave it.
    sorter.prepare()
    ordered: list[str] = []
    ready: list[tuple[tuple[int, str], str]] = []
    while sorter.is_active():
        for address in sorter.get_ready():
            heapq.heappush(ready, (_rank(address), address))
        _, address = heapq.heappop(ready)
        ordered.append(address)
        sorter.done(address)
    return [
        changes[a].model_copy(update={"depends_on": sorted(deps[a], key=_rank)}) for a in ordered
    ]
