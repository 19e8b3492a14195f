"""One apply at a time per state directory: an exclusive, non-blocking flock on
`<state_dir>/apply.lock`, which also records who holds it (pid, host, start time).

The lock belongs to the open file, so the kernel releases it when the process ends, however
it ends: a stale file left by a crash never blocks the next apply. The file is never deleted
(deleting a locked file lets a third process lock a new file of the same name).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from reconciler.errors import ApplyError

LOCK_NAME = "apply.lock"


class ApplyLock:
    """`with ApplyLock(state_dir):` holds the lock for the block; a second holder fails at
    once with ApplyError naming the first (pid, host, start time)."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LOCK_NAME
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held past this call
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _describe(_read_holder(handle))
            handle.close()
            raise ApplyError(
                f"another apply is running in {self.state_dir} ({holder}); wait for it to "
                f"finish. If that process is gone, the lock is free again: retry"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_me(), sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
        self._handle = handle

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()

    def __enter__(self) -> ApplyLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _me() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def _read_holder(handle: IO[str]) -> dict[str, Any]:
    try:
        handle.seek(0)
        data = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "held by a process that has not written its name yet"
    return (
        f"held by pid {holder.get('pid', '?')} on host {holder.get('host', '?')} "
        f"since {holder.get('started_at', '?')}"
    )
