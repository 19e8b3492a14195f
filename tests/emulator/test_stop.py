"""Stopping an emulator while a call is under way (a test's fixture ending while the tool's
worker still calls): the call loses its connection, as when a server goes down, and the
emulator logs nothing; it is not an internal error (one line each, which tests fail on)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.emulator.conftest import sdk_client


def test_a_call_under_way_when_the_emulator_stops_is_dropped_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator = Emulator(state_path=":memory:")
    emulator.start()
    world.admin(emulator.endpoint, "POST", "latency", {"ms": 400})  # the call sleeps in dispatch
    kms = sdk_client("kms", emulator.endpoint, read_timeout=5000)
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["answer"] = kms.describe_account_kms_status()
        except Exception as error:  # the connection is gone
            outcome["error"] = error

    caller = threading.Thread(target=call)
    with caplog.at_level(logging.DEBUG, logger="reconciler.emulator"):
        caller.start()
        threading.Event().wait(0.15)  # the call is in its latency
        emulator.stop()
        caller.join(timeout=10)
    assert "answer" not in outcome
    assert "error" in outcome, "the call never ended"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == []
