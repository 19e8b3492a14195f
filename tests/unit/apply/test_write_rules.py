"""Each kind declares its writes by `Op` (kinds/<kind>/writes.py); apply/calls.py is their
union and knows no kind. A write that is not idempotent is never sent again, so it must say how
a lost answer is read back; a failed read-back is never taken for an answer."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import calls
from reconciler.cloud.writes import Written
from reconciler.core.ops import Op
from reconciler.errors import PermanentError
from reconciler.kinds import KINDS, RDS_ENCRYPTION
from reconciler.kinds.rds_encryption.writes import ram_not_ready, wait_for
from reconciler.kinds.write_rule import (
    ReadBack,
    ReadBackFailed,
    WriteRule,
    read_back_by,
)
from reconciler.plan.model import Change


def _send(clients: Any, region: str, params: dict[str, Any]) -> Written:
    return Written()


def _seen(clients: Any, region: str, params: dict[str, Any], change: Change) -> ReadBack:
    return ReadBack(True, "read back: it took effect")


def test_every_op_is_a_write_of_exactly_one_kind() -> None:
    declared = [op for kind in KINDS for op in kind.writes()]
    assert sorted(declared) == sorted(Op)
    assert set(calls.RULES) == set(calls.WRITES) == set(Op)


def test_each_kind_writes_exactly_the_write_actions_it_declares() -> None:
    """The permissions (api_actions) and the writes of a kind name the same ops."""
    for kind in KINDS:
        actions = {a.name for a in kind.api_actions() if a.kind == "write" and not a.implied}
        assert actions == set(kind.writes()), kind.name


def test_the_tables_of_apply_are_read_from_the_rules() -> None:
    assert {
        Op.KMS_CREATE_KEY,
        Op.KMS_CREATE_ALIAS,
        Op.RAM_CREATE_POLICY,
        Op.RAM_CREATE_ROLE,
        Op.RAM_ATTACH_POLICY_TO_ROLE,
        Op.RAM_DETACH_POLICY_FROM_ROLE,
        Op.RDS_MODIFY_DB_INSTANCE_TDE,  # no ClientToken: read back with DescribeDBInstanceTDE
    } == calls.NOT_IDEMPOTENT
    assert calls.PRODUCES == {Op.KMS_CREATE_KEY: ("key_id", "arn")}
    assert all(calls.RULES[op].read_back is not None for op in calls.NOT_IDEMPOTENT)
    assert all(calls.WRITES[op] is rule.send for op, rule in calls.RULES.items())


class _Kind:
    def __init__(self, name: str, writes: Mapping[Op, WriteRule]) -> None:
        self.name = name
        self._writes = writes

    def writes(self) -> Mapping[Op, WriteRule]:
        return self._writes


def test_an_op_two_kinds_write_is_refused() -> None:
    rule = WriteRule(_send, idempotent=True)
    kinds = [_Kind("a", {Op.KMS_ENABLE_KEY: rule}), _Kind("b", {Op.KMS_ENABLE_KEY: rule})]
    with pytest.raises(ValueError, match="two kinds"):
        calls.union(kinds)  # type: ignore[arg-type]


def test_a_write_that_is_not_idempotent_without_a_read_back_is_refused() -> None:
    with pytest.raises(ValueError, match="read-back"):
        WriteRule(_send, idempotent=False)


def test_a_write_that_is_not_idempotent_is_never_sent_again_after_a_refusal() -> None:
    with pytest.raises(ValueError, match="idempotent"):
        WriteRule(_send, idempotent=False, read_back=_seen, busy_resource=lambda p: "x")


def test_a_failed_read_back_is_an_error_never_an_answer() -> None:
    def check(clients: Any, region: str, params: dict[str, Any]) -> bool:
        raise PermanentError("ram:GetRole", "Forbidden.RAM", "denied")

    read_back = read_back_by(check)
    with pytest.raises(ReadBackFailed, match="reading back whether it took effect failed"):
        read_back(None, "cn-hangzhou", {}, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("found", "took"), [(True, True), (False, False)])
def test_a_read_back_says_what_it_saw(found: bool, took: bool) -> None:
    seen = read_back_by(lambda c, r, p: found)(None, "r", {}, None)  # type: ignore[arg-type]
    assert seen.took_effect is took
    assert seen.detail.startswith("read back: it")


def test_only_the_instance_changes_wait_after_the_write() -> None:
    waiting = {op for op, rule in calls.RULES.items() if rule.after is not None}
    assert set(RDS_ENCRYPTION.writes()) == {Op.RDS_MODIFY_DB_INSTANCE_CONFIG}
    assert waiting == {Op.RDS_MODIFY_DB_INSTANCE_CONFIG, Op.RDS_MODIFY_DB_INSTANCE_TDE}


@pytest.mark.parametrize(("mode", "scheduled"), [("Immediate", False), ("MaintainTime", True)])
def test_an_instance_change_for_the_window_is_scheduled_not_waited_for(
    mode: str, scheduled: bool
) -> None:
    params = {"DBInstanceId": "pgm-1", "ConfigValue": "key-1", "SwitchTimeMode": mode}
    wait = wait_for(params)
    assert (wait.resource_id, wait.target, wait.scheduled) == ("pgm-1", "key-1", scheduled)
    assert wait.done == "pgm-1 is Running with encryption key key-1"


@pytest.mark.parametrize(
    ("code", "value", "retried"),
    [
        ("IncorrectDBInstanceState.NotAuthorized", "key-1", False),  # busy, not a refusal
        ("Forbidden.RAM", "key-1", False),  # the tool's own identity: never retried
        ("NoPermission", "key-1", False),
        ("Forbidden.KeyAccess", "key-1", True),
        ("InvalidBYOK.NotAuthorized", "key-1", True),
        ("Forbidden.KeyAccess", "ServiceKey", False),  # no RAM role is involved
        ("Forbidden.KeyAccess", "disabled", False),
        ("InvalidBYOK.NotEnabled", "key-1", False),
    ],
)
def test_which_refusals_of_an_instance_change_may_be_ram_not_yet_propagated(
    code: str, value: str, retried: bool
) -> None:
    error = PermanentError("rds:ModifyDBInstanceConfig", code, "refused", status=403)
    assert ram_not_ready(error, {"ConfigValue": value}) is retried


KIND_AGNOSTIC = ("calls.py", "change.py", "executor.py", "guards.py")
"""apply modules that carry writes out by asking the op's rule: they name no op and import
no kind's own modules (only the registry, kinds/base.py and kinds/write_rule.py)."""


def _named_ops_and_kind_modules(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found += [f"Op.{node.attr}"] if node.value.id == "Op" else []
        elif isinstance(node, ast.ImportFrom):
            found += [node.module] if _a_kinds_own(node.module or "") else []
    return found


def _a_kinds_own(module: str) -> bool:
    shared = ("reconciler.kinds.base", "reconciler.kinds.write_rule")
    return module.startswith("reconciler.kinds.") and module not in shared


@pytest.mark.parametrize("name", KIND_AGNOSTIC)
def test_apply_names_no_op_and_no_kind_where_it_writes(name: str) -> None:
    path = Path(__file__).resolve().parents[3] / "reconciler" / "apply" / name
    assert _named_ops_and_kind_modules(path) == []


def test_the_scanner_finds_an_op_named_and_a_kind_imported(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from reconciler.kinds.ram.apply import attached\nif op == Op.KMS_CREATE_KEY:\n    pass\n"
    )
    assert _named_ops_and_kind_modules(sample) == [
        "reconciler.kinds.ram.apply",
        "Op.KMS_CREATE_KEY",
    ]


def test_the_writes_that_can_lock_or_decrypt_a_database_are_guarded_at_the_write() -> None:
    """Disabling or deleting a key, and changing an instance's encryption or TDE, each re-check the
    plan's guards right before they are sent (docs/plan-format.md, "Every guard again at its
    write"); dropping one of these guards fails here. CreateKey re-reads its KMS instance
    (exists, Connected, room)."""
    from reconciler.apply import calls
    from reconciler.core.ops import Op

    guarded = {op for op, rule in calls.RULES.items() if rule.guard is not None}
    assert guarded == {
        Op.KMS_CREATE_KEY,
        Op.KMS_DISABLE_KEY,
        Op.KMS_SCHEDULE_KEY_DELETION,
        Op.RDS_MODIFY_DB_INSTANCE_CONFIG,
        Op.RDS_MODIFY_DB_INSTANCE_TDE,
    }
