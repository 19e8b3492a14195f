"""A file named by `-o`: written atomically and only on success; on failure an old file at
that path is removed, so a stale plan is never posted or applied by the next CI step.

    out = OutFile.prepare("plan.json")   # checks the folder BEFORE any cloud call
    ...
    out.commit(text)                     # temp file in the same folder + os.replace
    out.abandon()                        # on failure: remove an old file; says what it did
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

from reconciler.errors import ReconcilerError


class OutFileError(ReconcilerError):
    """The `-o` destination cannot be written (checked before reading the cloud)."""


class OutFile:
    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        # Commit or abandon, once: the watchdog may race the main thread, and a second signal
        # may re-enter from the main thread itself (hence re-entrant).
        self._settled = threading.RLock()
        self._done = False

    @classmethod
    def prepare(cls, name: str, what: str = "plan") -> OutFile:
        """Check that `name` can be written: its folder exists and is writable, and it is not
        itself a folder. Nothing is created yet."""
        path = Path(name)
        folder = path.parent
        if path.is_dir():
            raise OutFileError(f"cannot save the {what} to {name}: it is a folder")
        if not folder.is_dir():
            raise OutFileError(f"cannot save the {what} to {name}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutFileError(f"cannot save the {what} to {name}: folder {folder} is not writable")
        return cls(path, what)

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
            os.replace(temp, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise OutFileError(
                f"cannot save the {self.what} to {self.path}: {error.strerror}"
            ) from error

    def abandon(self, why: str) -> str | None:
        """The run failed: remove an old file at the path. Returns the line to print (None when
        commit or abandon already ran)."""
        if not self._claim():
            return None
        try:
            self.path.unlink()
        except FileNotFoundError:
            return f"{self.what.capitalize()} not saved to {self.path}: {why}."
        except OSError as error:
            return (
                f"Could not remove the old {self.path} ({error.strerror}): it is NOT the result "
                "of this run; delete it before anything posts or applies it."
            )
        return f"Removed the old {self.path}: {why}, so it must not be used."
