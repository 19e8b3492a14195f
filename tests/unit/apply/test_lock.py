"""One apply at a time per state directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from reconciler.apply.lock import ApplyLock
from reconciler.errors import ApplyError


def test_a_second_apply_fails_at_once_naming_the_holder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with ApplyLock(tmp_path / ".reconciler"):
        started = time.monotonic()
        with pytest.raises(ApplyError) as raised, ApplyLock(tmp_path / ".reconciler"):
            pass
        assert time.monotonic() - started < 1.0
    message = str(raised.value)
    assert f"pid {os.getpid()}" in message
    assert socket.gethostname() in message
    assert "since 20" in message
    with ApplyLock(tmp_path / ".reconciler"):  # released: the next apply may run
        pass


def test_the_lock_is_held_across_processes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from reconciler.apply.lock import ApplyLock\n"
            f"with ApplyLock({str(tmp_path)!r}):\n"
            "    print('held', flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ApplyError) as raised, ApplyLock(tmp_path):
            pass
        assert f"pid {holder.pid}" in str(raised.value)
    finally:
        holder.communicate("\n", timeout=10)
    with ApplyLock(tmp_path):  # the process ended: its lock went with it
        pass
