"""One `Op` enum for every API write a plan may contain (issue 17): apply has a function to send
each, the permissions list names each, docs/plan-format.md documents each; none of them names
an operation that is not an Op."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler import permissions
from reconciler.apply import calls
from reconciler.core.ops import Op

DOCS = Path(__file__).resolve().parents[3] / "docs" / "plan-format.md"


def documented_ops(text: str) -> list[str]:
    """The ops named in the first cell of each row of the `## Operations` table."""
    section = text.split("\n## Operations\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [op for row in rows for op in re.findall(r"`([a-z]+:[A-Za-z]+)`", row.split("|")[1])]


def test_the_docs_table_parser_reads_every_op_of_a_row() -> None:
    table = "| op | params |\n|---|---|\n| `kms:A`, `kms:B` | `KeyId`, `ram:NotAnOp` |\n"
    text = f"# Plan\n\n## Operations\n\n{table}\n## Next\n\n| `rds:Later` | x |\n"
    assert documented_ops(text) == ["kms:A", "kms:B"]


def test_every_op_has_a_write_function_and_nothing_else_does() -> None:
    assert set(calls.WRITES) == set(Op)
    assert all(isinstance(op, Op) for op in calls.WRITES)


def test_every_op_has_a_permission_and_every_write_permission_is_an_op_or_implied() -> None:
    writes = [a for a in permissions.ACTIONS if a.kind == "write"]
    assert {a.name for a in writes if not a.implied} == set(Op)
    assert all(isinstance(a.name, Op) for a in writes if not a.implied)
    assert all(a.name not in set(Op) for a in permissions.ACTIONS if a.kind == "read")


def test_every_op_has_a_row_in_the_docs_operations_table_and_every_row_is_an_op() -> None:
    documented = documented_ops(DOCS.read_text(encoding="utf-8"))
    assert len(documented) == len(set(documented)), "an op documented twice"
    assert set(documented) == set(Op)


def test_the_op_tables_of_apply_key_on_the_enum_not_on_strings() -> None:
    guarded = frozenset(op for op, rule in calls.RULES.items() if rule.guard is not None)
    for table in (calls.NOT_IDEMPOTENT, calls.PRODUCES, guarded):
        assert table and all(isinstance(op, Op) for op in table)


def test_an_op_is_its_wire_string_so_the_plan_json_is_unchanged() -> None:
    assert Op.KMS_CREATE_KEY == "kms:CreateKey"
    for op in Op:
        service, action = op.value.split(":")
        assert service in permissions.SERVICES and action[0].isupper()
