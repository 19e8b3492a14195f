"""apply of two accounts carries them out at once (README, "Several accounts"): neither waits
for the other's restarts; a failed change in one stops new writes in both; one journal run
names each write's account; Ctrl-C stops both. Every restart takes RESTART_S on the emulated
clock (which follows real time), so the order of events shows what ran side by side."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.test_accounts import _spec, _two_account_world, base_env, run, two_accounts
from tests.e2e.test_apply_signals import start_apply, wait_for_writes
from tests.emulator.accounts_world import A_INSTANCE, B_INSTANCE

RESTART_S = 1.5
B_SECOND = "pgm-bp1bbbb000000002"
MODIFY = "rds:ModifyDBInstanceConfig"
ALPHA, BETA = f"alpha/rds_encryption.{A_INSTANCE}", f"beta/rds_encryption.{B_INSTANCE}"
BETA_SECOND = f"beta/rds_encryption.{B_SECOND}"


@pytest.fixture
def endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Two accounts (tests/e2e/test_accounts.py), B with a second unencrypted instance; the
    test runs in tmp_path (its own .reconciler/journal.jsonl)."""
    seed = _two_account_world()
    b_instances = next(iter(seed["accounts"].values()))["rds_instances"]
    b_instances.append({**b_instances[0], "id": B_SECOND})
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = Settings(restart_seconds=RESTART_S)
    with Emulator(":memory:", settings=settings, seed=str(path)) as emu:
        yield emu.endpoint


def _both(second: bool = False) -> dict[str, Any]:
    doc = two_accounts()
    if second:
        doc["instances"][B_SECOND] = {"account": "beta", "encryption": {"key": "service"}}
    return doc


def _apply(tmp_path: Path, endpoint: str, *args: str) -> Any:
    return run(tmp_path, endpoint, "apply", "--auto-approve", "--allow-restart", *args)


def _journal(tmp_path: Path) -> list[dict[str, Any]]:
    text = (tmp_path / ".reconciler" / "journal.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_neither_account_waits_for_the_others_restart(tmp_path: Path, endpoint: str) -> None:
    applied = run(
        tmp_path, endpoint, "apply", "--auto-approve", "--allow-restart", _spec(tmp_path, _both())
    )
    assert applied.exit_code == 0, applied.output
    lines = applied.output.splitlines()
    sent = [i for i, line in enumerate(lines) if line.endswith(f"sent {MODIFY}")]
    done = [i for i, line in enumerate(lines) if ": done: " in line]
    assert len(sent) == 2 and len(done) == 2, applied.output
    assert max(sent) < min(done), applied.output  # one after the other: alpha done, then beta sent


def test_one_journal_run_whose_writes_name_their_account(tmp_path: Path, endpoint: str) -> None:
    applied = run(
        tmp_path, endpoint, "apply", "--auto-approve", "--allow-restart", _spec(tmp_path, _both())
    )
    assert applied.exit_code == 0, applied.output
    entries = _journal(tmp_path)
    assert [e["event"] for e in entries if e["event"] in ("start", "end")] == ["start", "end"]
    assert entries[0]["changes"] == [ALPHA, BETA]
    assert entries[-1]["outcomes"] == {ALPHA: "done", BETA: "done"}
    writes = [e for e in entries if e["event"] in ("before", "after")]
    assert len(writes) == 4
    assert {(e["account"], e["address"]) for e in writes} == {("alpha", ALPHA), ("beta", BETA)}


def test_a_failed_change_stops_new_writes_in_every_account(tmp_path: Path, endpoint: str) -> None:
    fault = {"action": MODIFY, "code": "InvalidParameter", "status": 400, "times": 1}
    world.admin(endpoint, "POST", "faults", {**fault, "instance_id": A_INSTANCE})
    spec = _spec(tmp_path, _both(second=True))
    applied = _apply(tmp_path, endpoint, "--parallelism", "1", "--format", "json", spec)
    assert applied.exit_code == 1, applied.output
    outcomes = {o["address"]: o for o in json.loads(applied.stdout)["outcomes"]}
    assert list(outcomes) == [ALPHA, BETA, BETA_SECOND]
    assert outcomes[ALPHA]["status"] == "failed"
    assert "InvalidParameter" in outcomes[ALPHA]["detail"]
    # beta's first change may have been written before alpha's failed (it then finishes); its
    # second waits for the first (--parallelism 1, a restart of RESTART_S): never started
    assert outcomes[BETA]["status"] in ("done", "not_started")
    assert outcomes[BETA_SECOND]["status"] == "not_started"
    assert outcomes[BETA_SECOND]["detail"] == "not started: a change of account alpha failed"
    # beta's first change may have checked the stop flag just before alpha's failure landed,
    # and then write (a write in flight finishes); its second never wrote, nor announced it
    assert [e for e in _journal(tmp_path) if e.get("address") == BETA_SECOND] == []
    assert BETA_SECOND in applied.stderr  # the text summary too


def test_ctrl_c_stops_every_account_and_reports_them_all(tmp_path: Path, endpoint: str) -> None:
    spec = _spec(tmp_path, _both(second=True))
    process = start_apply(endpoint, spec, "--parallelism", "1", env=base_env(tmp_path))
    wait_for_writes(endpoint, process, 2)  # alpha's and beta's first
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stdout + stderr
    assert "Apply stopped" in stderr
    for address in (ALPHA, BETA, BETA_SECOND):
        assert address in stderr, stderr  # the partial result names every change
    assert world.calls(endpoint).get(MODIFY) == 2  # beta's second was never written
    last = _journal(tmp_path)[-1]
    assert last["event"] == "end" and set(last["outcomes"]) == {ALPHA, BETA, BETA_SECOND}
    assert last["outcomes"][BETA_SECOND] == "not_started"


def test_an_account_that_raises_still_shows_what_the_others_made(
    tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one account's apply (injected: our own function, not the SDK) is one error
    line, after the result that shows what the other account made."""
    import reconciler.app.apply as app_apply

    real = app_apply.apply

    def broken_for_beta(work: Any, *args: Any, **kwargs: Any) -> Any:
        if any(B_INSTANCE in change.address for change in work.plan.changes):
            raise RuntimeError("a bug in beta's apply")
        return real(work, *args, **kwargs)

    monkeypatch.setattr(app_apply, "apply", broken_for_beta)
    applied = _apply(tmp_path, endpoint, _spec(tmp_path, _both()))
    assert applied.exit_code == 1, applied.output
    assert "a bug in beta's apply" in applied.stderr
    assert "every account stopped starting writes" in applied.stderr
    assert f"{ALPHA}: " in applied.stderr  # alpha's outcome, written or not, is shown
    assert f"{BETA}: applying account beta stopped (RuntimeError" in applied.stderr
    assert _journal(tmp_path)[-1]["event"] == "end"
