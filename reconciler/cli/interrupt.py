"""SIGINT and SIGTERM: stop starting cloud calls, say so in one line, exit 130 / 143.

`install()` is called by `main()` only (a real process, main thread). The handler:
1. sets the process-wide cancellation flag (reconciler/cancellation.py): from then on every
   cloud call raises before it is sent, so queued work drains at once;
2. raises Interrupted in the main thread, which unwinds the command (an old `-o` file is
   removed, an in-process emulator stopped) up to RootGroup, which prints the line and exits;
3. starts a watchdog: if unwinding takes longer than GRACE_SECONDS (a call in flight that is
   slow to answer, a retry backoff), it runs the `on_leave` cleanups, prints the line and
   ends the process.
A second signal exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from reconciler import cancellation
from reconciler.errors import Interrupted

GRACE_SECONDS = 1.5
"""How long calls in flight may take to finish after the signal before the process leaves."""

_reported = threading.RLock()  # re-entrant: a second signal may land while the first prints
_said = False
_cleanups: list[Callable[[], None]] = []


def on_leave(cleanup: Callable[[], None]) -> None:
    """Run `cleanup` if the watchdog ends the process (the command's own error handling does
    not run then), e.g. removing an old `-o` file. It must be safe to run twice."""
    _cleanups.append(cleanup)


def install() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    if not cancellation.request(signum):  # the second signal: do not wait any longer
        leave(cancellation.interrupted() or Interrupted(signum))  # the first one's exit code
    watchdog = threading.Timer(GRACE_SECONDS, leave, args=(Interrupted(signum),))
    watchdog.daemon = True
    watchdog.start()
    raise Interrupted(signum)


def say(error: Interrupted) -> None:
    """Print the one line, once per process (the main thread and the watchdog may race)."""
    global _said
    with _reported:
        if _said:
            return
        _said = True
    with contextlib.suppress(OSError, ValueError):  # a closed or broken stdout
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):  # nor may stderr stop the exit
        print(
            f"Interrupted by {error.signal_name}: no cloud call was started after the signal.",
            file=sys.stderr,
            flush=True,
        )


def leave(error: Interrupted) -> None:
    """Say so and end the process now, without waiting for threads still in a call."""
    for cleanup in _cleanups:
        with contextlib.suppress(Exception):
            cleanup()
    say(error)
    os._exit(error.exit_code)
