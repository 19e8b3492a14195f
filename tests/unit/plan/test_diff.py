"""diff(): our own sorted FieldChange list over plain dicts, deepdiff hidden behind it."""

from __future__ import annotations

from reconciler.plan.diff import diff, format_path
from reconciler.plan.model import FieldChange


def test_equal_dicts_have_no_changes() -> None:
    assert diff({"a": 1, "b": {"c": [1, 2]}}, {"b": {"c": [1, 2]}, "a": 1}) == []


def test_added_removed_and_changed_leaves_sorted_by_path() -> None:
    before = {"tags": {"team": "ops", "owner": "alice"}, "state": "disabled"}
    after = {"tags": {"team": "dba", "env": "prod"}, "state": "enabled"}
    assert diff(before, after) == [
        FieldChange(path="state", before="disabled", after="enabled"),
        FieldChange(path="tags.env", before=None, after="prod"),
        FieldChange(path="tags.owner", before="alice", after=None),
        FieldChange(path="tags.team", before="ops", after="dba"),
    ]


def test_none_side_means_everything_is_added() -> None:
    assert diff(None, {"name": "x", "rotation": {"enabled": True}}) == [
        FieldChange(path="name", before=None, after="x"),
        FieldChange(path="rotation", before=None, after={"enabled": True}),
    ]


def test_type_change_is_reported_not_hidden() -> None:
    assert diff({"v": 1}, {"v": "1"}) == [FieldChange(path="v", before=1, after="1")]


def test_null_versus_absent_is_no_change() -> None:
    assert diff({"a": None}, {}) == []


def test_list_items_have_indexes_sorted_numerically() -> None:
    before = {"l": list(range(3))}
    after = {"l": list(range(12))}
    paths = [c.path for c in diff(before, after)]
    assert paths == [f"l[{i}]" for i in range(3, 12)]


def test_prefix_is_prepended() -> None:
    assert diff({"x": 1}, {"x": 2}, ["document"]) == [
        FieldChange(path="document.x", before=1, after=2)
    ]


def test_keys_that_are_not_identifiers_are_quoted() -> None:
    assert format_path(["tags", "acs:rds:instance-encryption"]) == (
        'tags["acs:rds:instance-encryption"]'
    )
    assert format_path(["Statement", 0, "Action", 2]) == "Statement[0].Action[2]"
    assert format_path(["a.b"]) == '["a.b"]'


def test_diff_is_deterministic_whatever_the_key_order() -> None:
    a = {str(i): i for i in range(20)}
    b = {str(i): -i for i in reversed(range(20))}
    assert diff(a, b) == diff(dict(reversed(list(a.items()))), b)
