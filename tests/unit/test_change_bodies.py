"""Each kind's typed change bodies (reconciler/kinds/<kind>/body.py, issue 17): they read back
every golden plan's `after` and `before` exactly (same keys, same order, same values), and a
body that is not what the planner writes fails closed with the address and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.kinds import KINDS, kind_of
from reconciler.kinds.body import ChangeBodyError
from reconciler.kinds.kms_key.body import KeyAfter
from reconciler.kinds.rds_encryption.body import InstanceAfter
from reconciler.plan.model import Change, load_plan

CASES = Path(__file__).resolve().parents[1] / "cases"
GOLDEN = sorted(CASES.glob("*/plan.json"))


def _changes() -> list[Change]:
    return [c for path in GOLDEN for c in load_plan(path.read_text()).changes]


def _ordered(value: Any) -> Any:
    """`value` with every dict as its list of items, so that key order counts."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def test_the_golden_plans_hold_a_change_of_every_kind() -> None:
    kinds = {kind_of(c.address).name for c in _changes()}
    assert kinds == {k.name for k in KINDS}


@pytest.mark.parametrize("change", _changes(), ids=lambda c: c.address)
def test_a_kinds_typed_after_and_before_round_trip_a_golden_change(change: Change) -> None:
    kind = kind_of(change.address)
    assert _ordered(kind.after(change).wire()) == _ordered(change.after)
    before = kind.before(change)
    assert (before.wire() if before else None) == change.before
    assert _ordered(before.wire() if before else None) == _ordered(change.before)


def _instance_change() -> Change:
    return next(c for c in _changes() if c.address.startswith("rds_encryption."))


def _with(change: Change, **body: Any) -> Change:
    return change.model_copy(update=body)


def test_an_instance_after_reads_as_fields() -> None:
    change = _instance_change()
    after = InstanceAfter.of(change)
    assert after.config_value == change.after["config_value"]
    assert kind_of(change.address).maintenance_window(change) == after.maintenance_window


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda a: {k: v for k, v in a.items() if k != "switch_time_mode"}, "switch_time_mode"),
        (lambda a: {**a, "switch_time_mode": "Whenever"}, "switch_time_mode"),
        (lambda a: {**a, "maintenance_window": 3}, "maintenance_window"),
        (lambda a: {**a, "encryption": {"key": True}}, "encryption.key"),
        (lambda a: {**a, "extra": 1}, "extra"),
    ],
)
def test_a_malformed_instance_after_names_the_address_and_the_field(edit: Any, field: str) -> None:
    change = _instance_change()
    bad = _with(change, after=edit(dict(change.after)))
    with pytest.raises(ChangeBodyError) as raised:
        kind_of(change.address).after(bad)
    assert f"{change.address}: its after is not what the planner writes: {field}" in str(
        raised.value
    )


def test_an_absent_or_non_object_after_fails_closed() -> None:
    change = _instance_change()
    for after in (None, []):
        with pytest.raises(ChangeBodyError, match="its after is not an object"):
            kind_of(change.address).after(_with(change, after=after))


def test_a_key_after_does_not_take_a_string_for_a_flag() -> None:
    change = next(c for c in _changes() if c.address.startswith("kms_key."))
    bad = _with(change, after={**change.after, "deletion_protection": "true"})
    with pytest.raises(ChangeBodyError, match="deletion_protection"):
        KeyAfter.of(bad)


def test_a_malformed_before_fails_closed() -> None:
    change = _instance_change()
    with pytest.raises(ChangeBodyError, match="its before is not what the planner writes"):
        kind_of(change.address).before(_with(change, before={"encryption": {}}))
