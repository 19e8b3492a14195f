"""The apply journal: append-only JSON lines, one entry before each write and one after it.

An entry is flushed and fsynced before the call it announces is sent, so after a crash or a
signal the file says exactly which writes were made, which failed, and which are in doubt (a
`before` entry without its `after`: the call was sent and its answer never came, so it may
have taken effect). ClientTokens are written with the entry before the call: they come from
the plan, so a rerun of the same plan sends the same ones even where the journal is gone.

Entries (`event` says which):
    {"event": "start", "ts", "fingerprint", "changes"}                        once per run
    {"event": "before", "ts", "address", "op", "params", "client_token"}     before a write
    {"event": "after", "ts", "address", "op", "result": "ok" | "error" | "interrupted",
     "request_id", "error_code", "message", "outputs"}                        after it
    {"event": "end", "ts", "outcomes": {address: status}}                     once per run
`result: interrupted` means the call was stopped by SIGINT/SIGTERM before it (or a retry of
it) was sent. No entry holds a secret: parameters are plan data (ids, names, documents, tags),
and every string passes the same redaction as our error messages.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.cloud.redact import redact
from reconciler.errors import ApplyError

SECRET_NAMES = ("secret", "password", "token", "signature", "accesskey")
"""Parameter names (lower case, contained) whose values never reach the file. ClientToken is
the exception: it is an idempotency key derived from the plan, not a credential."""
KEPT_TOKENS = frozenset({"ClientToken"})


def scrub(params: dict[str, Any]) -> dict[str, Any]:
    """Params as the journal keeps them: secrets by name replaced, strings redacted."""
    clean: dict[str, Any] = {}
    for name, value in params.items():
        lowered = name.lower()
        if name not in KEPT_TOKENS and any(word in lowered for word in SECRET_NAMES):
            clean[name] = "(redacted)"
        elif isinstance(value, str):
            clean[name] = redact(value)
        else:
            clean[name] = value
    return clean


class Journal:
    """Append-only JSONL at `path` (its folder is created). Safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise ApplyError, before any write to the cloud, when entries cannot be appended: a
        write the journal cannot announce must not be made. Creates the folder and the file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kind = _not_a_file(self.path)
            if kind:
                raise ApplyError(
                    f"cannot write the apply journal {self.path}: it is {kind}, not a file; "
                    "move it away (nothing was written)"
                )
            with open(self.path, "a", encoding="utf-8"):
                pass
        except OSError as error:
            raise ApplyError(
                f"cannot write the apply journal {self.path}: {error.strerror}; fix its folder "
                "or its permissions (nothing was written)"
            ) from error

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry and make it durable (flush + fsync) before returning."""
        record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    def before(self, address: str, op: str, params: dict[str, Any]) -> None:
        self.append(
            {
                "event": "before",
                "address": address,
                "op": op,
                "params": scrub(params),
                "client_token": params.get("ClientToken"),
            }
        )

    def after(
        self,
        address: str,
        op: str,
        result: str,
        *,
        request_id: str | None = None,
        error_code: str | None = None,
        message: str | None = None,
        outputs: dict[str, str] | None = None,
    ) -> None:
        self.append(
            {
                "event": "after",
                "address": address,
                "op": op,
                "result": result,
                "request_id": request_id or None,
                "error_code": error_code,
                "message": redact(message) if message else None,
                "outputs": outputs or {},
            }
        )

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first; a torn last line (a crash mid-write) is skipped."""
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return found

    def in_doubt(self) -> list[dict[str, Any]]:
        """`before` entries with no `after` for the same address and op after them."""
        open_writes: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in self.entries():
            key = (entry.get("address", ""), entry.get("op", ""))
            if entry.get("event") == "before":
                open_writes[key] = entry
            elif entry.get("event") == "after":
                open_writes.pop(key, None)
        return list(open_writes.values())


def _not_a_file(path: Path) -> str | None:
    """What is at `path` (a link followed) when it is not a regular file; None when it is one
    or nothing is there. Opening a FIFO to append would block until someone reads it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    return "a folder" if stat.S_ISDIR(mode) else "a FIFO, device or socket"
