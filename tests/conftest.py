"""Fixtures for every test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's state folder (apply locks) of this test: never the real home's."""
    folder = tmp_path_factory.mktemp("state-home")
    monkeypatch.setenv("RECONCILER_STATE_HOME", str(folder))
    return folder
