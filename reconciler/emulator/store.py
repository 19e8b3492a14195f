"""SQLite state of the emulator (standard library only).

One generic document table: `(kind, region, id) -> JSON`. Services pick their own kinds
("kms_key", "ram_role", "rds_instance", ...); global services use region "". A `meta` table
holds emulator-wide values (the clock offset).

Concurrency: one connection guarded by one lock, and `Store.transaction()` holds the lock for
the whole request, so requests are serialised at the store (a request is tens of microseconds
of SQLite work) and a request either commits everything or nothing. A file store uses WAL with
synchronous=NORMAL: a committed request survives a crash or kill of the emulator process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, region, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Transaction:
    """Reads and writes inside one store transaction. Documents are plain JSON-able dicts."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, kind: str, region: str, doc_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT body FROM docs WHERE kind=? AND region=? AND id=?", (kind, region, doc_id)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, kind: str, region: str, doc_id: str, doc: dict[str, Any]) -> None:
        """Insert or replace; an existing document keeps its place in `list` order."""
        self._conn.execute(
            "INSERT INTO docs (kind, region, id, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, region, id) DO UPDATE SET body=excluded.body",
            (kind, region, doc_id, json.dumps(doc, separators=(",", ":"))),
        )

    def delete(self, kind: str, region: str, doc_id: str) -> bool:
        cur = self._conn.execute(
            "DELETE FROM docs WHERE kind=? AND region=? AND id=?", (kind, region, doc_id)
        )
        return cur.rowcount > 0

    def list(
        self, kind: str, region: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Documents of a kind (in one region, or all when region is None), in creation order."""
        sql, args = "SELECT body FROM docs WHERE kind=?", [kind]
        if region is not None:
            sql += " AND region=?"
            args.append(region)
        sql += " ORDER BY rowid"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return [json.loads(row[0]) for row in self._conn.execute(sql, args)]

    def list_ids(self, kind: str, region: str | None = None) -> list[tuple[str, str]]:
        """(region, id) pairs of a kind, in creation order."""
        sql, args = "SELECT region, id FROM docs WHERE kind=?", [kind]
        if region is not None:
            sql += " AND region=?"
            args.append(region)
        return list(self._conn.execute(sql + " ORDER BY rowid", args))

    def count(self, kind: str, region: str | None = None) -> int:
        sql, args = "SELECT COUNT(*) FROM docs WHERE kind=?", [kind]
        if region is not None:
            sql += " AND region=?"
            args.append(region)
        return int(self._conn.execute(sql, args).fetchone()[0])

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            (key, value),
        )


class Store:
    """The emulator's database: a file path, or ":memory:"."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Commit on a normal exit, roll back on an exception (which propagates)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
