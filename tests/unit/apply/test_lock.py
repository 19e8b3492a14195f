"""One apply at a time per lock file (reconciler/apply/lock.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from reconciler.apply.lock import ApplyLock, ApplyLocks, LockScope
from reconciler.errors import ApplyError


def test_a_second_apply_fails_at_once_naming_the_holder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with ApplyLock(tmp_path / "apply.lock"):
        started = time.monotonic()
        with pytest.raises(ApplyError) as raised, ApplyLock(tmp_path / "apply.lock"):
            pass
        assert time.monotonic() - started < 1.0
    message = str(raised.value)
    assert f"pid {os.getpid()}" in message
    assert socket.gethostname() in message
    assert "since 20" in message
    assert f"in {os.getcwd()}" in message
    assert str(tmp_path / "apply.lock") in message
    with ApplyLock(tmp_path / "apply.lock"):  # released: the next apply may run
        pass


def test_the_lock_is_held_across_processes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from reconciler.apply.lock import ApplyLock\n"
            f"with ApplyLock({str(tmp_path / 'apply.lock')!r}):\n"
            "    print('held', flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ApplyError) as raised, ApplyLock(tmp_path / "apply.lock"):
            pass
        assert f"pid {holder.pid}" in str(raised.value)
    finally:
        holder.communicate("\n", timeout=10)
    with ApplyLock(tmp_path / "apply.lock"):  # the process ended: its lock went with it
        pass


def test_locks_are_all_or_none(tmp_path) -> None:  # type: ignore[no-untyped-def]
    scopes = [LockScope("1", r, None) for r in ("cn-beijing", "cn-hangzhou", "cn-shanghai")]
    with ApplyLocks(tmp_path, [scopes[1]]):
        with pytest.raises(ApplyError, match="region cn-hangzhou"), ApplyLocks(tmp_path, scopes):
            pass
        with ApplyLocks(tmp_path, [scopes[0], scopes[2]]):  # the first one was let go
            pass


def test_the_state_folder_is_created_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "state" / "reconciler"
    with ApplyLocks(home, [LockScope("1", "cn-hangzhou", None)]):
        assert (home.stat().st_mode & 0o777) == 0o700


def test_a_state_folder_that_is_a_file_is_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "state"
    home.write_text("")
    with pytest.raises(ApplyError, match="cannot open the apply lock"):
        ApplyLocks(home, [LockScope("1", "cn-hangzhou", None)]).acquire()
