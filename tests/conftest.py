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


REPO = Path(__file__).resolve().parents[1]
_UNTRACKED = pytest.StashKey[set[str] | None]()


def _untracked_in_repo() -> set[str] | None:
    """Files git does not track and does not ignore in the checkout; None outside a checkout."""
    import subprocess

    try:
        listed = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "--others", "--exclude-standard"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return set(listed.stdout.splitlines())


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_xdist_worker(session.config):  # the controller checks for every worker
        session.config.stash[_UNTRACKED] = _untracked_in_repo()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A test that writes into the checkout (a report, a plan, a state file in the cwd)
    fails the run: tests write under tmp_path only."""
    before = session.config.stash.get(_UNTRACKED, None)
    after = _untracked_in_repo()
    if before is None or after is None:
        return
    left = sorted(after - before)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"tests left files in the checkout: {', '.join(left)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
