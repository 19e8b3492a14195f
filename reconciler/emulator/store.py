"""SQLite state of the emulator (standard library only).

One generic document table: `(kind, region, id) -> JSON`. Services pick their own kinds
("kms_key", "ram_role", "rds_instance", ...); global services use region "". A `meta` table
holds emulator-wide values (the clock offset).

Accounts (docs/emulator.md, "Accounts and STS"): a transaction reads and writes ONE account's
documents. The default account's are stored as they always were (a state file from before
accounts keeps working); another account's kinds and meta keys carry `@<account id>`
(`rds_instance@2234567890123456`). `Transaction.in_account(scope)` gives the view of another
account inside the same transaction; `account_scope(scope)` makes every `Store.transaction()`
of the current thread open in that account (the admin API's `?account=`). Kinds registered with
`cloud_wide_kind` (who owns an access key, STS credentials, the declared accounts) and meta
keys starting with a `CLOUD_WIDE_META` prefix (id counters, the clock) are shared by all.

Concurrency: one connection guarded by one lock, and `Store.transaction()` holds the lock for
the whole request, so requests are serialised at the store (a request is tens of microseconds
of SQLite work) and a request either commits everything or nothing. A file store uses WAL with
synchronous=NORMAL: a committed request survives a crash or kill of the emulator process.

Opening a path the store cannot use raises `EmulatorStateError` (one line, saying what to do)
BEFORE anything is written: a directory, a missing folder, an unreadable file, a file that is
not a SQLite database (it may be the user's YAML) or a SQLite database of another program. A
file the emulator did not create is never changed: no schema is added to it, no -wal beside it.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from reconciler.emulator.errors import EmulatorStateError

T = TypeVar("T")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, region, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS docs_in_order ON docs (kind, region);
"""
# docs_in_order: rows of one kind and region in rowid (creation) order, so a page of a list is
# read straight off the index instead of sorting the whole kind.

_SQLITE_HEADER = b"SQLite format 3\x00"
_OWN_TABLE = "docs"
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_INDEXED_FIELDS: set[str] = set()
_CLOUD_WIDE_KINDS: set[str] = set()
CLOUD_WIDE_META = ("serial:", "clock_")
"""Meta keys shared by every account: id counters (ids are unique in the whole cloud) and the
emulated clock (one clock for the whole cloud)."""
_SCOPE: contextvars.ContextVar[str] = contextvars.ContextVar("emulator_account_scope", default="")


def cloud_wide_kind(kind: str) -> None:
    """Store documents of ``kind`` once for the whole emulated cloud, not per account."""
    _CLOUD_WIDE_KINDS.add(kind)


@contextmanager
def account_scope(scope: str) -> Iterator[None]:
    """Every ``Store.transaction()`` of this thread inside the block opens in account
    ``scope`` ("" = the default account)."""
    token = _SCOPE.set(scope)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def index_field(name: str) -> None:
    """Index documents' top-level field `name` in stores opened from now on (services call it
    at import for the fields they filter lists on): a `list`/`count` with `where` on it then
    reads only the matching documents of a page instead of testing every document."""
    if not _FIELD_NAME.match(name):
        raise ValueError(f"bad document field name {name!r}")
    _INDEXED_FIELDS.add(name)


def _field(name: str) -> str:
    """The SQL expression of a top-level field (the same text in indexes and queries)."""
    return f"json_extract(body, '$.{name}')"


def _select(
    columns: str, kind: str, region: str | None, where: dict[str, str] | None
) -> tuple[str, list[Any]]:
    sql, args = f"SELECT {columns} FROM docs WHERE kind=?", [kind]
    if region is not None:
        sql += " AND region=?"
        args.append(region)
    for name, value in (where or {}).items():
        if not _FIELD_NAME.match(name):  # it becomes part of a JSON path
            raise ValueError(f"bad document field name {name!r}")
        sql += f" AND {_field(name)} = ?"
        args.append(value)
    return sql, args


class Derived:
    """Values computed from the store's documents, kept until the next write: every write
    (put, delete, set_meta) and every rollback forgets them all (docs/emulator.md,
    "Performance"). Read and filled only with the store's lock held (inside a transaction),
    so a value never outlives the state it was computed from. Values must be immutable or
    never changed by their readers."""

    __slots__ = ("texts", "values")

    def __init__(self) -> None:
        self.values: dict[Hashable, Any] = {}
        self.texts: dict[tuple[str, str, str], str] = {}
        """The stored JSON of documents read since the last write, by (stored kind, region,
        id): a document listed in a page and then read alone is read from SQLite once."""

    def forget(self) -> None:
        self.values.clear()
        self.texts.clear()

    def keep_text(self, key: tuple[str, str, str], text: str) -> None:
        if len(self.texts) < MAX_KEPT_TEXTS:
            self.texts[key] = text


MAX_KEPT_TEXTS = 50_000
"""At most this many documents' JSON kept between two writes (~100 MB for the largest)."""


class Transaction:
    """Reads and writes inside one store transaction. Documents are plain JSON-able dicts."""

    def __init__(
        self, conn: sqlite3.Connection, scope: str = "", derived: Derived | None = None
    ) -> None:
        self._conn = conn
        self._derived = derived if derived is not None else Derived()
        self.scope = scope
        """The account this view reads and writes ("" = the default account)."""

    def in_account(self, scope: str) -> Transaction:
        """The same transaction, seen from account ``scope`` ("" = the default account)."""
        return self if scope == self.scope else Transaction(self._conn, scope, self._derived)

    def derived(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, or what it gave for ``key`` in this account since the store's last
        write (see `Derived`). ``compute`` reads this transaction; a write it makes forgets
        older values and the new one is kept (it describes the state after the write)."""
        values, full_key = self._derived.values, (self.scope, key)
        if full_key in values:
            return values[full_key]  # type: ignore[no-any-return]
        value = compute()
        values[full_key] = value
        return value

    def _kind(self, kind: str) -> str:
        if not self.scope or kind in _CLOUD_WIDE_KINDS:
            return kind
        return f"{kind}@{self.scope}"

    def _meta(self, key: str) -> str:
        if not self.scope or key.startswith(CLOUD_WIDE_META):
            return key
        return f"{key}@{self.scope}"

    def get(self, kind: str, region: str, doc_id: str) -> dict[str, Any] | None:
        """A fresh copy of the document (decoded from its JSON on every call: callers may
        change what they get), or None."""
        key = (self._kind(kind), region, doc_id)
        text = self._derived.texts.get(key)
        if text is None:
            row = self._conn.execute(
                "SELECT body FROM docs WHERE kind=? AND region=? AND id=?", key
            ).fetchone()
            if row is None:
                return None
            text = row[0]
            self._derived.keep_text(key, text)
        return json.loads(text)

    def put(self, kind: str, region: str, doc_id: str, doc: dict[str, Any]) -> None:
        """Insert or replace; an existing document keeps its place in `list` order."""
        kind = self._kind(kind)
        self._derived.forget()
        self._conn.execute(
            "INSERT INTO docs (kind, region, id, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, region, id) DO UPDATE SET body=excluded.body",
            (kind, region, doc_id, json.dumps(doc, separators=(",", ":"))),
        )

    def delete(self, kind: str, region: str, doc_id: str) -> bool:
        kind = self._kind(kind)
        self._derived.forget()
        cur = self._conn.execute(
            "DELETE FROM docs WHERE kind=? AND region=? AND id=?", (kind, region, doc_id)
        )
        return cur.rowcount > 0

    def list(
        self,
        kind: str,
        region: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        where: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Documents of a kind (in one region, or all when region is None), in creation order.

        `where` keeps only documents whose top-level string fields equal the given values
        (tested by SQLite on the stored JSON, so unmatched documents are never decoded)."""
        stored_kind = self._kind(kind)
        sql, args = _select("region, id, body", stored_kind, region, where)
        sql += " ORDER BY rowid"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        keep, docs = self._derived.keep_text, []
        for doc_region, doc_id, text in self._conn.execute(sql, args):
            keep((stored_kind, doc_region, doc_id), text)
            docs.append(json.loads(text))
        return docs

    def list_ids(self, kind: str, region: str | None = None) -> list[tuple[str, str]]:
        """(region, id) pairs of a kind, in creation order."""
        sql, args = "SELECT region, id FROM docs WHERE kind=?", [self._kind(kind)]
        if region is not None:
            sql += " AND region=?"
            args.append(region)
        return list(self._conn.execute(sql + " ORDER BY rowid", args))

    def count(
        self, kind: str, region: str | None = None, where: dict[str, str] | None = None
    ) -> int:
        sql, args = _select("COUNT(*)", self._kind(kind), region, where)
        return int(self._conn.execute(sql, args).fetchone()[0])

    def values_of(self, kind: str, region: str, name: str) -> frozenset[Any]:
        """The distinct non-null values of top-level field ``name`` among a region's documents
        of ``kind`` (read off its index when `index_field` declared it)."""
        sql, args = _select(f"DISTINCT {_field(name)}", self._kind(kind), region, None)
        rows = self._conn.execute(f"{sql} AND {_field(name)} IS NOT NULL", args)
        return frozenset(row[0] for row in rows)

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute(
            "SELECT value FROM meta WHERE key=?", (self._meta(key),)
        ).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._derived.forget()
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            (self._meta(key), value),
        )


class _TransactionScope:
    """The context manager behind `Store.transaction` (a class: cheaper than a generator)."""

    __slots__ = ("_conn", "_derived", "_lock")

    def __init__(self, lock: threading.RLock, conn: sqlite3.Connection, derived: Derived) -> None:
        self._lock = lock
        self._conn = conn
        self._derived = derived

    def __enter__(self) -> Transaction:
        self._lock.acquire()
        try:
            self._conn.execute("BEGIN")
        except BaseException:
            self._lock.release()
            raise
        return Transaction(self._conn, _SCOPE.get(), self._derived)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is not None:
                self._derived.forget()  # values computed from the writes rolled back
            self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self._lock.release()


def _check_path(path: str) -> bool:
    """Refuse a path that cannot be an emulator state file; True when the file is new."""
    file = Path(path)
    if file.is_dir():
        raise EmulatorStateError(
            f"cannot use {path} as the emulator state: it is a directory; "
            f"give a file path such as {file / 'emulator.sqlite'}"
        )
    if not file.exists():
        folder = file.absolute().parent
        if not folder.is_dir():
            raise EmulatorStateError(
                f"cannot create the emulator state {path}: the folder {folder} does not exist"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise EmulatorStateError(
                f"cannot create the emulator state {path}: permission denied in {folder}"
            )
        return True
    try:
        with file.open("rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise EmulatorStateError(f"cannot read the emulator state {path}: {reason}") from None
    if head and head != _SQLITE_HEADER:
        raise EmulatorStateError(
            f"{path} is not an emulator state file (not a SQLite database); "
            "choose another path for the emulator state"
        )
    return not head


def _connect(path: str) -> sqlite3.Connection:
    """A connection to a usable state file, its schema in place (see the module doc)."""
    new = path == ":memory:" or _check_path(path)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        if not new:
            tables = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if tables and _OWN_TABLE not in tables:
                raise EmulatorStateError(
                    f"{path} is a SQLite database of another program, not an emulator state "
                    "file; choose another path for the emulator state"
                )
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        for name in sorted(_INDEXED_FIELDS):
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS docs_by_{name} ON docs (kind, region, {_field(name)})"
            )
    except EmulatorStateError:
        conn.close()
        raise
    except sqlite3.Error as error:
        conn.close()
        raise EmulatorStateError(
            f"cannot use {path} as the emulator state: {error}; "
            "choose another path for the emulator state"
        ) from None
    return conn


class Store:
    """The emulator's database: a file path, or ":memory:"."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = _connect(path)
        self._derived = Derived()

    def transaction(self) -> _TransactionScope:
        """Commit on a normal exit, roll back on an exception (which propagates).

        `with store.transaction() as tx:` holds the store's lock for the whole block. The
        transaction is DEFERRED: with one connection behind one lock nothing can come
        between its reads and its first write, and a request that only reads never takes
        SQLite's write lock (IMMEDIATE would, and cost a read-only request ~30 us more)."""
        return _TransactionScope(self._lock, self._conn, self._derived)

    def derived(self, key: Hashable, compute: Callable[[Transaction], T]) -> T:
        """`Transaction.derived` of the current thread's account without a transaction when
        the value is known (no BEGIN/COMMIT: the lock alone keeps it consistent); else
        ``compute`` runs in a transaction of its own."""
        full_key = (_SCOPE.get(), key)
        with self._lock:
            if full_key in self._derived.values:
                return self._derived.values[full_key]  # type: ignore[no-any-return]
            with self.transaction() as tx:
                return tx.derived(key, lambda: compute(tx))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
