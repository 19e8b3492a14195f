"""The cyclic garbage collector paused over work that allocates much and makes no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block.

    Loading a spec of 10,000 instances, or planning them (a dump of every fact and of the
    spec for the fingerprint and the spec digest), allocates some 100,000s of containers, none
    of them in a cycle; batches of them would start collections that scan the young objects
    again and, once enough survive a while, every object alive (the spec, the facts: a full
    collection of some 300,000 objects is ~110 ms, a third of the plan's CPU). Reference
    counting still frees everything as usual; anything cyclic waits for the next collection
    once the collector is back on. Left off when it was off already (nested, or someone
    else's pause)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
