"""One apply at a time per account and region on a machine, whatever the working directory:
an exclusive, non-blocking flock on one file per (account, region[, endpoint]) in the user's
state folder, which also records who holds it (pid, host, working directory, start time).

    with ApplyLocks(lock_home(), [LockScope("1234567890123456", "cn-hangzhou", None)]):
        ...                                     # ApplyError naming the holder if one is held

The folder is $RECONCILER_STATE_HOME, else $XDG_STATE_HOME/reconciler, else
~/.local/state/reconciler. The endpoint (--endpoint, or the state file of --emulator) is part
of the name: two emulators are two clouds and do not exclude each other; the real cloud has
none. Locks are taken in sorted order (two applies wanting the same two locks cannot each hold
one and wait), without waiting: a held lock fails at once.

A lock belongs to the open file, so the kernel releases it when the process ends, however it
ends: a stale file left by a crash never blocks the next apply. The files are never deleted
(deleting a locked file lets a third process lock a new file of the same name).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from reconciler.errors import ApplyError

ACCOUNT_WIDE = "global"
"""The `region` of a lock on what belongs to the whole account (the RAM role and policy)."""
UNKNOWN_ACCOUNT = "unknown-account"
"""The account part of a lock's name when the account could not be read (KMS not activated)."""


@dataclass(frozen=True, order=True)
class LockScope:
    """What one lock file guards: an account's region (or ACCOUNT_WIDE) in one cloud."""

    account: str | None
    region: str
    endpoint: str | None  # None: the real cloud

    def file_name(self) -> str:
        name = f"apply-{self.account or UNKNOWN_ACCOUNT}-{self.region}"
        if self.endpoint is not None:
            name += "-" + hashlib.sha256(self.endpoint.encode()).hexdigest()[:16]
        return name + ".lock"

    def describe(self) -> str:
        where = f"account {self.account or '(unknown)'}, " + (
            "account-wide (RAM)" if self.region == ACCOUNT_WIDE else f"region {self.region}"
        )
        return where + (f", endpoint {self.endpoint}" if self.endpoint else "")


def lock_home(environ: Mapping[str, str] | None = None) -> Path:
    """The user's state folder for locks (see the module docstring). A relative
    XDG_STATE_HOME is ignored, as the XDG spec says."""
    env = os.environ if environ is None else environ
    if env.get("RECONCILER_STATE_HOME"):
        return Path(env["RECONCILER_STATE_HOME"])
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "reconciler"
    return Path.home() / ".local" / "state" / "reconciler"


class ApplyLock:
    """One lock file. `acquire` fails at once with ApplyError naming the holder."""

    def __init__(self, path: str | os.PathLike[str], scope: LockScope | None = None) -> None:
        self.path = Path(path)
        self.scope = scope
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held past this call
        except OSError as error:
            raise ApplyError(f"cannot open the apply lock {self.path}: {error.strerror}") from error
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _describe(_read_holder(handle))
            handle.close()
            what = f" of {self.scope.describe()}" if self.scope else ""
            raise ApplyError(
                f"another apply holds the lock{what} ({holder}; lock file {self.path}); wait "
                "for it to finish. If that process is gone, the lock is free again: retry"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_me(self.scope), sort_keys=True) + "\n")
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


class ApplyLocks:
    """The locks of several scopes, taken in sorted order; all or none are held."""

    def __init__(self, home: str | os.PathLike[str], scopes: Iterable[LockScope]) -> None:
        self.home = Path(home)
        self.locks = [ApplyLock(self.home / s.file_name(), s) for s in sorted(set(scopes))]

    def acquire(self) -> None:
        held: list[ApplyLock] = []
        try:
            for lock in self.locks:
                lock.acquire()
                held.append(lock)
        except BaseException:
            for lock in reversed(held):
                lock.release()
            raise

    def release(self) -> None:
        for lock in reversed(self.locks):
            lock.release()

    def __enter__(self) -> ApplyLocks:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _me(scope: LockScope | None) -> dict[str, Any]:
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was removed
        cwd = "?"
    record: dict[str, Any] = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "cwd": cwd,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    if scope is not None:
        record.update(account=scope.account, region=scope.region, endpoint=scope.endpoint)
    return record


def _read_holder(handle: IO[str]) -> dict[str, Any]:
    try:
        handle.seek(0)
        data = json.loads(handle.read(4096) or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "held by a process that has not written its name yet"
    return (
        f"held by pid {holder.get('pid', '?')} on host {holder.get('host', '?')} "
        f"in {holder.get('cwd', '?')} since {holder.get('started_at', '?')}"
    )
