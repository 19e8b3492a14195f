"""A file named by `-o`: a regular file, written atomically and only on success; on failure an
old regular file at that path is removed, so a stale plan is never posted or applied by the
next CI step. Nothing else is ever replaced or removed (docs/exit-codes.md).

    out = OutFile.prepare("plan.json")   # checks the path and its folder BEFORE any cloud call
    ...
    out.commit(text)                     # temp file in the same folder + os.replace
    out.abandon()                        # on failure: remove the old file; says what it did

A path that exists and is not a regular file (a symbolic link, even to a regular file; a FIFO;
a device such as /dev/stdout or /dev/full; a folder) is refused: os.replace would replace the
link or the device node itself, and removing it on failure would delete what is not ours. Right
before replacing or removing, the path is checked again with lstat: commit replaces only a
regular file or nothing, and abandon removes only the very file prepare saw (same device and
inode), never one someone else put there since.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import threading
from pathlib import Path

from reconciler.errors import ReconcilerError

WHAT_TO_DO = "-o writes regular files only: name a regular file or a new path"


class OutFileError(ReconcilerError):
    """The `-o` destination cannot be written (checked before reading the cloud)."""


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


Identity = tuple[int, int, int, int]
"""(mode, device, inode, modification time in ns): a file removed and made again, even where
the inode number is reused, or rewritten in place, is not the one seen before."""


def _identity(path: Path) -> Identity | None:
    """The identity of what is at `path` itself (a link is not followed); None when nothing is
    there."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    return info.st_mode, info.st_dev, info.st_ino, info.st_mtime_ns


def refuse_unless_regular(path: Path, what: str) -> Identity | None:
    """Raise OutFileError when something other than a regular file is at `path`; else return
    its identity (None: nothing there)."""
    try:
        found = _identity(path)
    except OSError as error:
        raise OutFileError(f"cannot save the {what} to {path}: {error.strerror}") from error
    kind = None if found is None else _kind(found[0])
    if kind is not None:
        raise OutFileError(f"cannot save the {what} to {path}: it is {kind}; {WHAT_TO_DO}")
    return found


class OutFile:
    def __init__(self, path: Path, what: str, seen: Identity | None) -> None:
        self.path = path
        self.what = what
        self._seen = seen  # the regular file prepare found (None: none); abandon removes only it
        # Commit or abandon, once: the watchdog may race the main thread, and a second signal
        # may re-enter from the main thread itself (hence re-entrant).
        self._settled = threading.RLock()
        self._done = False

    @classmethod
    def prepare(cls, name: str, what: str = "plan") -> OutFile:
        """Check that `name` can be written: it is a regular file or absent, and its folder
        exists and is writable. Nothing is created yet."""
        path = Path(name)
        folder = path.parent
        seen = refuse_unless_regular(path, what)
        if not folder.is_dir():
            raise OutFileError(f"cannot save the {what} to {name}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutFileError(f"cannot save the {what} to {name}: folder {folder} is not writable")
        return cls(path, what, seen)

    def _claim(self) -> bool:
        with self._settled:
            if self._done:
                return False
            self._done = True
            return True

    def commit(self, text: str) -> None:
        """Write `text` to a temporary file beside the target, then rename it over the target:
        a reader sees the old file or the whole new one, never half of it."""
        if not self._claim():
            return
        fd, temp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            refuse_unless_regular(self.path, self.what)  # again: something may have appeared
            os.replace(temp, self.path)
        except (OSError, OutFileError) as error:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            if isinstance(error, OutFileError):
                raise
            raise OutFileError(
                f"cannot save the {self.what} to {self.path}: {error.strerror}"
            ) from error

    def abandon(self, why: str) -> str | None:
        """The run failed: remove the old regular file prepare found at the path, and nothing
        else. Returns the line to print (None when commit or abandon already ran)."""
        if not self._claim():
            return None
        try:
            now = _identity(self.path)
        except OSError as error:
            return self._not_removed(error.strerror or "cannot be read")
        if now is None:
            return f"{self.what.capitalize()} not saved to {self.path}: {why}."
        if _kind(now[0]) is not None:
            return self._not_removed(f"it is now {_kind(now[0])}, not a regular file")
        if now != self._seen:
            return self._not_removed("it changed since this run started")
        try:
            self.path.unlink()
        except FileNotFoundError:
            return f"{self.what.capitalize()} not saved to {self.path}: {why}."
        except OSError as error:
            return self._not_removed(error.strerror or "cannot be removed")
        return f"Removed the old {self.path}: {why}, so it must not be used."

    def _not_removed(self, reason: str) -> str:
        return (
            f"Left {self.path} as it is ({reason}): it is NOT the result of this run; check "
            "it before anything posts or applies it."
        )
