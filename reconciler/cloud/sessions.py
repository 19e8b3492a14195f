"""The first call to a host goes alone, so that the SDK opens its HTTP session there once.

The SDK keeps one HTTP session per host, pool size and process (darabonba's session cache)
and makes it on the first call that finds none, without a lock: threads whose first calls to
a host start together each make one, TLS context included, though all but one are thrown
away. A TLS context costs about 36 ms of CPU on a 2-core CI machine, so 16 threads starting
at once spent about 0.6 s of CPU on them, at every run's start and in every worker process
(docs/architecture.md, "Processes"). Here the first call to each host is made alone; the
others wait for its answer, one round trip once per host and process.

Process-wide, as the SDK's cache is: a forked worker starts with the fork server's, which
made no call.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

_OPEN: set[Hashable] = set()
"""Hosts (and pool sizes) the SDK has a session for in this process."""
_OPENING: dict[Hashable, threading.Event] = {}
_LOCK = threading.Lock()


@contextmanager
def session_opened(host: Hashable) -> Iterator[None]:
    """Around a call to `host`: the first such call runs at once, the others after it."""
    if host in _OPEN:  # every call but the first few: no lock taken
        yield
        return
    with _LOCK:
        opening = _OPENING.get(host)
        first = opening is None and host not in _OPEN
        if first:
            opening = _OPENING[host] = threading.Event()
    if not first:
        if opening is not None:
            opening.wait()
        yield
        return
    try:
        yield
    finally:  # answered or failed, the SDK made its session before sending (had the call
        # failed before the SDK, e.g. cancelled, the others would only race as they did)
        with _LOCK:
            _OPEN.add(host)
            _OPENING.pop(host).set()
