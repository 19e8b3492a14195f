"""One apply at a time per account and region on a machine, whatever the working directory
(docs/exit-codes.md, The apply lock): the locks live in the user's state folder
($RECONCILER_STATE_HOME here), one per (account, region[, endpoint])."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import workflow
from reconciler.apply.lock import ACCOUNT_WIDE, ApplyLocks, LockScope, lock_home
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import PlanRun, only_reads, run_cli

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
ACCOUNT = Settings().account_id


def apply_in(folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> PlanRun:
    monkeypatch.chdir(folder)
    return run_cli(
        *args, "apply", SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible"
    )


def held_by_this_test(endpoint: str, region: str = "cn-shanghai") -> ApplyLocks:
    return ApplyLocks(lock_home(), [LockScope(ACCOUNT, region, endpoint)])


def test_an_apply_from_another_folder_fails_at_once_naming_the_holder(
    demo: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state_home: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    with held_by_this_test(demo.endpoint) as held:
        world.reset_calls(demo.endpoint)
        run = apply_in(second, monkeypatch, "--endpoint", demo.endpoint)
    assert run.exit_code == 1
    assert run.stderr.startswith("Error: another apply holds the lock of account ")
    assert run.stderr.count("\n") == 1
    lock_file = held.locks[0].path
    assert lock_file.parent == state_home
    for words in (ACCOUNT, "region cn-shanghai", f"in {first}", str(lock_file), "pid ", " since "):
        assert words in run.stderr, run.stderr
    calls = world.calls(demo.endpoint)
    assert only_reads(calls) == [], "nothing was written"
    assert calls == {"kms:DescribeKey": 1}, "only the account was read before the lock"
    assert not (second / ".reconciler" / "apply.lock").exists()
    done = apply_in(second, monkeypatch, "--endpoint", demo.endpoint)
    assert done.exit_code == 0, done.stderr


def test_an_account_wide_lock_excludes_an_apply_that_may_change_ram(
    demo: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with held_by_this_test(demo.endpoint, ACCOUNT_WIDE):
        run = apply_in(tmp_path, monkeypatch, "--endpoint", demo.endpoint)
    assert run.exit_code == 1
    assert "account-wide (RAM)" in run.stderr


def test_another_region_does_not_exclude(
    demo: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with held_by_this_test(demo.endpoint, "ap-southeast-1"):
        run = apply_in(tmp_path, monkeypatch, "--endpoint", demo.endpoint)
    assert run.exit_code == 0, run.stderr


def test_another_endpoint_does_not_exclude_and_the_same_one_does(
    demo: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(restart_seconds=0)
    with (
        Emulator(":memory:", settings=settings, seed="demo") as other,
        held_by_this_test(other.endpoint),
    ):
        run = apply_in(tmp_path, monkeypatch, "--endpoint", demo.endpoint)
        assert run.exit_code == 0, run.stderr
        same = apply_in(tmp_path, monkeypatch, "--endpoint", other.endpoint)
        assert same.exit_code == 1 and "another apply holds the lock" in same.stderr


def test_the_real_cloud_is_not_an_emulator(tmp_path: Path) -> None:
    loaded = workflow.load([SPECS])
    real = {s.file_name() for s in workflow.lock_scopes(loaded, ACCOUNT, None)}
    emulated = {s.file_name() for s in workflow.lock_scopes(loaded, ACCOUNT, "127.0.0.1:1")}
    assert real == {
        f"apply-{ACCOUNT}-cn-hangzhou.lock",
        f"apply-{ACCOUNT}-cn-shanghai.lock",
        f"apply-{ACCOUNT}-{ACCOUNT_WIDE}.lock",
    }
    assert not real & emulated


def test_two_emulator_state_files_are_two_clouds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    state = str(tmp_path / "one" / "emulator.sqlite")
    other = str(tmp_path / "two" / "emulator.sqlite")
    identity = f"emulator:{Path(state).resolve()}"
    with ApplyLocks(lock_home(), [LockScope(ACCOUNT, "cn-hangzhou", identity)]):
        blocked = run_cli("--emulator", "--emulator-state", state, "apply", SPECS, "--auto-approve")
        free = run_cli(
            "--emulator", "--emulator-state", other, "apply", SPECS, "--auto-approve",
            "--allow-restart", "--allow-irreversible",
        )  # fmt: skip
    assert blocked.exit_code == 1 and "another apply holds the lock" in blocked.stderr
    assert free.exit_code == 0, free.stderr


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"RECONCILER_STATE_HOME": "/s", "XDG_STATE_HOME": "/x"}, "/s"),
        ({"XDG_STATE_HOME": "/x"}, "/x/reconciler"),
        ({"XDG_STATE_HOME": "relative"}, str(Path.home() / ".local/state/reconciler")),
        ({}, str(Path.home() / ".local/state/reconciler")),
    ],
)
def test_the_state_folder(environ: dict[str, str], expected: str) -> None:
    assert str(lock_home(environ)) == expected
