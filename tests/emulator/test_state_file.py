"""The state file: a path the emulator cannot use is one typed error with one clear line, and
a file the emulator did not create is never changed; a store holding a bad value from an older
version does not make every later call fail."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from reconciler.emulator.errors import EmulatorSetupError, EmulatorStateError
from reconciler.emulator.server import Emulator
from reconciler.emulator.store import Store
from tests.emulator import raw_http as rh
from tests.emulator import wire_client as wc


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text
    return text


def test_state_on_a_directory(tmp_path: Path) -> None:
    with pytest.raises(EmulatorStateError) as info:
        Store(str(tmp_path))
    text = _one_line(info.value)
    assert "directory" in text and str(tmp_path) in text


def test_state_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "state.sqlite"
    with pytest.raises(EmulatorStateError) as info:
        Store(str(path))
    assert "does not exist" in _one_line(info.value)
    assert not path.parent.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_state_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite"
    Store(str(path)).close()
    path.chmod(0)
    try:
        with pytest.raises(EmulatorStateError) as info:
            Store(str(path))
        assert "permission" in _one_line(info.value).lower()
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize(
    "content",
    [
        b"defaults:\n  region: cn-hangzhou\nkms_keys: {}\n",
        b"SQLite format 2\x00" + b"\x00" * 200,
        os.urandom(4096),
        b"x",
    ],
    ids=["yaml", "near-header", "random", "one-byte"],
)
def test_state_on_a_file_that_is_not_a_database(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "main.yaml"
    path.write_bytes(content)
    before = _digest(path)
    with pytest.raises(EmulatorStateError) as info:
        Emulator(state_path=str(path))
    text = _one_line(info.value)
    assert "not an emulator state file" in text and str(path) in text
    assert "another" in text  # says what to do: choose another path
    assert "delet" not in text.lower() and "remov" not in text.lower()
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.yaml"]  # no -wal/-shm beside it


def test_state_on_another_programs_database(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('ann')")
    conn.close()
    before = _digest(path)
    with pytest.raises(EmulatorStateError) as info:
        Store(str(path))
    text = _one_line(info.value)
    assert "another program" in text and "delet" not in text.lower()
    assert _digest(path) == before
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    conn.close()
    assert tables == ["users"]


def test_state_errors_are_value_errors(tmp_path: Path) -> None:
    """`emulator serve` already turns ValueError into one line; the types say more."""
    assert issubclass(EmulatorStateError, EmulatorSetupError)
    assert issubclass(EmulatorSetupError, ValueError)


def test_empty_file_and_new_file_are_fine(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    Store(str(empty)).close()
    Store(str(tmp_path / "new.sqlite")).close()
    Store(str(tmp_path / "new.sqlite")).close()  # and again, reopened


def _set_meta(path: Path, key: str, value: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE meta SET value=? WHERE key=?", (value, key))
        if conn.execute("SELECT changes()").fetchone()[0] == 0:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
    conn.close()


@pytest.mark.parametrize("stored", ["1e300", "inf", "-inf", "nan", "-5", "abc", "1e30"])
def test_store_with_a_bad_clock_offset_keeps_answering(
    tmp_path: Path, stored: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An older emulator stored `advance_seconds: 1e300`: a restart clamps it, says so once,
    and every call answers."""
    path = tmp_path / "old.sqlite"
    Store(str(path)).close()
    _set_meta(path, "clock_offset_seconds", stored)
    with Emulator(state_path=str(path)) as emu:
        assert wc.call(emu.endpoint, "kms", "CreateKey")[0] == 200
        assert wc.call(emu.endpoint, "kms", "ListKeys")[0] == 200
        clock = rh.exchange(
            emu.endpoint, rh.request_bytes("GET", "/_emulator/clock", emu.endpoint, [])
        )
        assert clock.status == 200, clock.body
        offset = clock.json()["offset_seconds"]
        assert 0 <= offset <= emu.state.clock.MAX_OFFSET_SECONDS
    assert any("clock offset" in record.getMessage() for record in caplog.records)
