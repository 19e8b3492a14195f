"""kinds/rds_tde/read.py's read-only instances (the emulator has none yet, issue 19's tdeemu
adds them): a primary whose TDE is to be enabled gets its read-only ids, and each read-only
instance its own facts, one attribute read each; an unreadable list stops the reading. A narrow
unit test: the cloud calls are stand-ins, run at once by a synchronous reader."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.cloud import rds, rds_tde
from reconciler.cloud.answers import UNEXPECTED_ANSWER
from reconciler.core.facts import ObservedTde
from reconciler.errors import PermanentError
from reconciler.kinds.rds_tde.read import follow_up_reads
from reconciler.spec.models import Spec
from reconciler.state.reads import Facts, ReadScope

HZ = "cn-hangzhou"
PRIMARY, REPLICA = "pgm-bp1primary000001", "pgr-bp1replica000001"


class SyncReader:
    def __init__(self) -> None:
        self.facts = Facts()
        self.clients: Any = None
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.calls: list[tuple[str, str]] = []

    def submit(self, then: Callable[[Any], None], fn: Callable[..., Any], *args: Any) -> None:
        self.calls.append((fn.__name__, args[2]))
        then(fn(*args))


def _attribute(instance_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "DBInstanceId": instance_id,
        "CurrentKernelVersion": "rds_postgres_1400_20220830",
        "DBInstanceStorageType": "cloud_essd",
        **extra,
    }


ANSWERS = {
    PRIMARY: _attribute(
        PRIMARY,
        DBInstanceType="Primary",
        ReadOnlyDBInstanceIds={"ReadOnlyDBInstanceId": [{"DBInstanceId": REPLICA}]},
    ),
    REPLICA: _attribute(REPLICA, DBInstanceType="Readonly", MasterInstanceId=PRIMARY),
}


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> SyncReader:
    monkeypatch.setattr(rds_tde, "tde", lambda c, r, i: ObservedTde(enabled=False))
    monkeypatch.setattr(rds, "attribute", lambda c, r, i: ANSWERS[i])
    found = SyncReader()
    found.facts.items[PRIMARY] = (HZ, {"DBInstanceId": PRIMARY})
    return found


def _scope() -> ReadScope:
    spec = Spec.model_validate(
        {"instances": {PRIMARY: {"encryption": {"key": "service"}, "tde": {"key": "service"}}}}
    )
    return ReadScope(spec=spec)


def test_the_read_only_instances_of_a_primary_to_enable_are_read_once(reader: SyncReader) -> None:
    follow_up_reads(reader, _scope())
    extras = reader.facts.instance_extras
    assert extras[PRIMARY]["read_only_ids"] == [REPLICA]
    assert extras[PRIMARY]["tde"] == ObservedTde(enabled=False)
    assert extras[REPLICA] == {"kernel_version": "rds_postgres_1400_20220830"}
    assert reader.facts.items[REPLICA] == (HZ, ANSWERS[REPLICA])  # its own instance, even unlisted
    assert [c for c in reader.calls if c[0] == "<lambda>"] == [
        ("<lambda>", PRIMARY),  # DescribeDBInstanceTDE
        ("<lambda>", PRIMARY),  # its attribute
        ("<lambda>", REPLICA),  # the read-only instance's
    ]


def test_an_attribute_read_already_is_reused(reader: SyncReader) -> None:
    reader.facts.attributes[PRIMARY] = ANSWERS[PRIMARY]
    reader.facts.attributes[REPLICA] = ANSWERS[REPLICA]
    follow_up_reads(reader, _scope())
    assert len(reader.calls) == 1  # DescribeDBInstanceTDE only
    assert reader.facts.instance_extras[REPLICA]["kernel_version"].endswith("20220830")


def test_an_unreadable_read_only_list_stops_naming_the_action(
    reader: SyncReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = {**ANSWERS[PRIMARY], "ReadOnlyDBInstanceIds": {"ReadOnlyDBInstanceId": [{}]}}
    monkeypatch.setattr(rds, "attribute", lambda c, r, i: broken)
    with pytest.raises(PermanentError) as raised:
        follow_up_reads(reader, _scope())
    assert raised.value.code == UNEXPECTED_ANSWER
    assert raised.value.action == "rds:DescribeDBInstanceAttribute"
    assert raised.value.resource == PRIMARY
