"""The executor's order and stopping rules, on plans built by hand (no cloud: each change's
work is replaced by a recorder)."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.apply import executor
from reconciler.apply.executor import ApplyOptions, ChangeOutcome, apply_plan, check_applicable
from reconciler.errors import ApplyError
from reconciler.plan.model import Change, Operation, Plan, ref

MODIFY = "rds:ModifyDBInstanceConfig"


def _instance(name: str, *deps: str, value: object = "ServiceKey", **extra: object) -> Change:
    return Change(
        address=f"rds_encryption.{name}",
        action="update",
        operations=[Operation(op=MODIFY, params={"DBInstanceId": name, "ConfigValue": value})],
        depends_on=list(deps),
        region="cn-hangzhou",
        target_id=name,
        **extra,  # type: ignore[arg-type]
    )


def _key(name: str, op: str = "kms:EnableKey", *deps: str) -> Change:
    return Change(
        address=f"kms_key.{name}",
        action="update",
        operations=[Operation(op=op, params={"KeyId": "key-1"})],
        depends_on=list(deps),
        region="cn-hangzhou",
        target_id="key-1",
    )


def _plan(*changes: Change) -> Plan:
    return Plan(fingerprint="sha256:x", changes=list(changes))


class Recorder:
    """Stands in for run_change: records overlap, returns a chosen status."""

    def __init__(self, statuses: dict[str, str] | None = None) -> None:
        self.statuses = statuses or {}
        self.running: set[str] = set()
        self.overlaps: list[set[str]] = []
        self.lock = threading.Lock()

    def __call__(self, change: Change, run: object) -> ChangeOutcome:
        with self.lock:
            self.running.add(change.address)
            self.overlaps.append(set(self.running))
        time.sleep(0.05)
        with self.lock:
            self.running.discard(change.address)
        return ChangeOutcome(change.address, self.statuses.get(change.address, "done"))  # type: ignore[arg-type]


def test_instances_overlap_but_other_changes_run_alone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    monkeypatch.setattr(executor, "run_change", recorder)
    plan = _plan(
        _key("a"),
        _instance("i1", "kms_key.a"),
        _instance("i2", "kms_key.a"),
        _instance("i3"),
        _key("b", "kms:DisableKey", "rds_encryption.i1", "rds_encryption.i2"),
    )
    result = apply_plan(plan, object(), ApplyOptions(allow_restart=True, parallelism=2))  # type: ignore[arg-type]
    assert result.ok
    assert max(len(s) for s in recorder.overlaps) == 2
    for overlap in recorder.overlaps:
        if any(a.startswith("kms_key.") for a in overlap):
            assert len(overlap) == 1


def test_dependents_of_a_scheduled_or_failed_change_do_not_start(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder({"rds_encryption.i1": "scheduled"})
    monkeypatch.setattr(executor, "run_change", recorder)
    plan = _plan(
        _instance("i1", restart=True, scheduled=True),
        _key("old", "kms:DisableKey", "rds_encryption.i1"),
    )
    result = apply_plan(plan, object(), ApplyOptions(allow_restart=True))  # type: ignore[arg-type]
    assert [o.status for o in result.outcomes] == ["scheduled", "not_started"]
    assert "rds_encryption.i1 is scheduled" in result.outcomes[1].detail
    assert not result.ok


def test_an_empty_plan_is_ok() -> None:
    assert apply_plan(_plan(), object(), ApplyOptions()).ok  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("plan", "words"),
    [
        (_plan(_instance("i1", "kms_key.a"), _key("a")), "depends on kms_key.a"),
        (_plan(_instance("i1", value=ref("kms_key.a", "key_id"))), "refers to kms_key.a"),
        (_plan(_key("a", "kms:DeleteEverything")), "kms:DeleteEverything"),
    ],
)
def test_a_malformed_plan_is_refused_before_anything(plan: Plan, words: str) -> None:
    with pytest.raises(ApplyError) as raised:
        check_applicable(plan, ApplyOptions(allow_restart=True))
    assert words in str(raised.value) and "nothing was applied" in str(raised.value)


def test_an_instance_change_aimed_at_another_instance_is_malformed() -> None:
    """Defence in depth below the saved-plan check: apply_plan itself never writes to an
    instance other than the one the address names (issue 16, finding 1)."""
    change = Change(
        address="rds_encryption.pgm-a",
        action="update",
        target_id="pgm-a",
        region="cn-hangzhou",
        operations=[
            Operation(
                op="rds:ModifyDBInstanceConfig",
                params={"DBInstanceId": "pgm-b", "ConfigValue": "disabled"},
            )
        ],
    )
    plan = Plan(fingerprint="sha256:x", changes=[change])
    with pytest.raises(ApplyError, match=r"writes to .*pgm-b.*not to pgm-a alone"):
        check_applicable(plan, ApplyOptions(allow_restart=True))
