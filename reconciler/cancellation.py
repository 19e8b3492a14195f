"""Process-wide cancellation: after SIGINT or SIGTERM, no new cloud call starts.

The command line turns the signals into `request(signum)` (reconciler/cli/interrupt.py); the
cloud layer calls `raise_if_cancelled()` right before it sends each request, retries
included (CloudClients.call), so queued work drains at once instead of reading the rest of
the cloud. Calls already in flight may finish. Nothing here prints.
"""

from __future__ import annotations

import threading

from reconciler.errors import Interrupted

_requested = threading.Event()
_lock = threading.Lock()
_signal_number: int | None = None


def request(signal_number: int) -> bool:
    """Ask every thread to stop starting cloud calls; True the first time it is asked."""
    global _signal_number
    with _lock:
        if _requested.is_set():
            return False
        _signal_number = signal_number
        _requested.set()
        return True


def requested() -> bool:
    return _requested.is_set()


def interrupted() -> Interrupted | None:
    """The error to report when cancellation was requested, else None."""
    with _lock:
        return Interrupted(_signal_number) if _signal_number is not None else None


def raise_if_cancelled() -> None:
    """Raise Interrupted once cancellation was requested (a cheap check: one Event read)."""
    if _requested.is_set():
        error = interrupted()
        if error is not None:
            raise error


def reset() -> None:
    """Forget a request (tests; a process that was interrupted exits instead)."""
    global _signal_number
    with _lock:
        _signal_number = None
        _requested.clear()


def sleep(seconds: float) -> None:
    """time.sleep that wakes as soon as cancellation is requested (the caller checks then):
    apply's workers wait with it, so a signal stops them well within the CLI's grace."""
    _requested.wait(seconds)
