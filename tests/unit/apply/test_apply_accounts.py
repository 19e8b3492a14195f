"""app/apply_accounts.py's bookkeeping, narrowly: what a run of several accounts does when one
account's apply raises (a bug), and how each account's journal entries are written. The whole
path (real SDK, emulator, CLI) is tests/e2e/test_accounts_at_once.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from reconciler.app.apply_accounts import AccountJournal, AccountRun, _run_all
from reconciler.apply.journal import Journal
from reconciler.apply.results import ApplyResult, ChangeOutcome


def _run(name: str, *addresses: str) -> AccountRun:
    work: Any = SimpleNamespace(order=addresses, plan=SimpleNamespace(changes=[]), made=())
    return AccountRun(name, work, clients=None)  # type: ignore[arg-type]


def test_an_account_that_raises_stops_the_others_and_lists_its_changes_as_unknown() -> None:
    stop = threading.Event()
    stopped_seen = threading.Event()

    def one(run: AccountRun) -> ApplyResult:
        if run.name == "broken":
            raise RuntimeError("a bug")
        if stop.wait(timeout=10):
            stopped_seen.set()
        return ApplyResult([ChangeOutcome("rds_encryption.b", "done")])

    found, error = _run_all([_run("broken", "rds_encryption.a"), _run("fine")], one, stop)
    assert isinstance(error, RuntimeError)
    assert stopped_seen.is_set()  # the other account was told to stop its new writes
    [unknown] = found["broken"].outcomes
    assert unknown.status == "failed" and "outcome is unknown" in unknown.detail
    assert "RuntimeError: a bug" in unknown.detail
    assert found["fine"].outcomes == [ChangeOutcome("rds_encryption.b", "done")]


def test_each_accounts_journal_entries_carry_it_and_the_run_is_the_callers(
    tmp_path: Path,
) -> None:
    shared = Journal(tmp_path / "journal.jsonl")
    alpha = AccountJournal(shared, "alpha", prefix=True)
    alone = AccountJournal(shared, "only", prefix=False)
    alpha.append({"event": "start", "changes": ["x"]})  # the caller writes the run's own
    alpha.before("rds_encryption.pgm-1", "rds:ModifyDBInstanceConfig", {"DBInstanceId": "pgm-1"})
    alone.after("rds_encryption.pgm-2", "rds:ModifyDBInstanceConfig", "ok")
    alpha.append({"event": "end", "outcomes": {}})
    entries = [json.loads(line) for line in shared.path.read_text().splitlines()]
    assert [(e["event"], e["account"], e["address"]) for e in entries] == [
        ("before", "alpha", "alpha/rds_encryption.pgm-1"),
        ("after", "only", "rds_encryption.pgm-2"),
    ]
