"""executor.apply_part, the executor of one part of a plan (a region's changes in a worker
process, app/apply_processes.py): it starts from what earlier parts made, shares one stop flag
with the parts beside it, and writes no journal start or end (the parent does)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from reconciler.apply import executor
from reconciler.apply.executor import ApplyOptions, Carried, ChangeOutcome, apply_part
from reconciler.errors import ApplyError
from tests.unit.apply.test_executor import Recorder, _instance, _plan

OPTIONS = ApplyOptions(allow_restart=True, parallelism=2)


class Entries:
    def __init__(self) -> None:
        self.found: list[dict[str, Any]] = []

    def append(self, entry: dict[str, Any]) -> None:
        self.found.append(entry)


def test_a_change_depending_on_an_earlier_parts_change_runs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(executor, "run_change", Recorder())
    plan = _plan(_instance("i1", "kms_key.a"), _instance("i2"))
    carried = Carried("cn-hangzhou", frozenset({"kms_key.a"}), {"kms_key.a": {"key_id": "k"}})
    result, after = apply_part(plan, object(), OPTIONS, lambda e: None, carried)  # type: ignore[arg-type]
    assert [o.status for o in result.outcomes] == ["done", "done"]
    assert after.done == {"kms_key.a", "rds_encryption.i1", "rds_encryption.i2"}
    assert after.outputs == {"kms_key.a": {"key_id": "k"}}


def test_a_dependency_on_no_earlier_change_is_refused() -> None:
    plan = _plan(_instance("i1", "kms_key.a"))
    with pytest.raises(ApplyError, match=r"depends on kms_key\.a"):
        apply_part(plan, object(), OPTIONS, lambda e: None, Carried("cn-hangzhou"))  # type: ignore[arg-type]


def test_a_stop_set_by_another_part_starts_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    monkeypatch.setattr(executor, "run_change", recorder)
    stop = threading.Event()
    stop.set()  # another worker's change failed
    result, _ = apply_part(
        _plan(_instance("i1"), _instance("i2")),
        object(),  # type: ignore[arg-type]
        OPTIONS,
        lambda e: None,
        Carried("cn-hangzhou"),
        stop,
    )
    assert [o.status for o in result.outcomes] == ["not_started", "not_started"]
    assert recorder.overlaps == []


def test_a_failure_sets_the_shared_stop(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def failing(change: Any, run: Any) -> ChangeOutcome:
        run.stop.set()  # as change._failed does
        return ChangeOutcome(change.address, "failed", "refused")

    monkeypatch.setattr(executor, "run_change", failing)
    stop = threading.Event()
    apply_part(
        _plan(_instance("i1")),
        object(),  # type: ignore[arg-type]
        OPTIONS,
        lambda e: None,
        Carried("cn-hangzhou"),
        stop,
    )
    assert stop.is_set()


def test_no_journal_start_or_end(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(executor, "run_change", Recorder())
    entries = Entries()
    options = ApplyOptions(allow_restart=True, journal=entries)  # type: ignore[arg-type]
    apply_part(_plan(_instance("i1")), object(), options, lambda e: None, Carried("x"))  # type: ignore[arg-type]
    assert entries.found == []
