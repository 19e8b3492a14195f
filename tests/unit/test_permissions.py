"""reconciler/permissions.py: one list of the actions the tool calls, checked against the code
that calls them; the documents derived from it; `reconciler permissions`; docs/permissions.md."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import permissions as perms
from reconciler.apply.calls import WRITES
from reconciler.cli import cli
from reconciler.emulator.policy_eval import is_allowed, parse_policy
from reconciler.emulator.ram.models import MAX_DOCUMENT_CHARS
from reconciler.permissions import ACTIONS, Mode
from reconciler.plan.actions import Op

REPO = Path(__file__).resolve().parents[2]
CLOUD = REPO / "reconciler" / "cloud"
DOCS = REPO / "docs" / "permissions.md"
_SENDERS = {"call", "answer", "write", "_kms_write", "_ram_write"}
_ACTION_NAME = re.compile(r"[A-Z][A-Za-z]+")


def sent_by_the_code() -> set[str]:
    """`service:Action` for every action name (or Op) that reconciler/cloud/{rds,kms,ram}.py
    (and their companions, e.g. rds_backups.py) passes to a function that sends a call
    (clients.call, answer, write and the per-service wrappers)."""
    found = set()
    for service in perms.SERVICES:
        for path in sorted(CLOUD.glob(f"{service}.py")) + sorted(CLOUD.glob(f"{service}_*.py")):
            found |= _sent_by(service, path)
    return found


def _sent_by(service: str, path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        func = node.func if isinstance(node, ast.Call) else None
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in _SENDERS:
            continue
        for arg in node.args:  # type: ignore[attr-defined]
            value = arg.value if isinstance(arg, ast.Constant) else None
            if isinstance(value, str) and _ACTION_NAME.fullmatch(value):
                found.add(f"{service}:{value}")
            op = _op_named(arg)
            if op is not None:
                assert op.value.startswith(f"{service}:"), f"{op} sent by {path.name}"
                found.add(op.value)
    return found


def _op_named(arg: ast.expr) -> Op | None:
    """The Op of an `Op.MEMBER` argument (the writes name their action by its Op)."""
    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "Op":
        return Op[arg.attr]
    return None


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- the one list against the code -----------------------------------------------------------


def test_the_list_holds_exactly_the_actions_the_code_sends() -> None:
    sent = sent_by_the_code()
    assert len(sent) > 20  # the scan found the calls (a renamed helper would empty it)
    listed = {a.name for a in ACTIONS if not a.implied}
    assert sent - listed == set(), "called but missing from reconciler/permissions.py"
    assert listed - sent == set(), "listed but never called: drop it or mark it implied"


def test_the_writes_are_the_plan_operations_apply_carries_out() -> None:
    writes = {a.name for a in ACTIONS if a.kind == "write" and not a.implied}
    assert writes == set(WRITES) == {op.value for op in Op}
    assert {a.name for a in ACTIONS if a.kind == "write"} <= {
        a.name for a in perms.actions_for(Mode.APPLY)
    }


def test_every_action_is_listed_once_with_a_reason_and_a_resource() -> None:
    names = [a.name for a in ACTIONS]
    assert len(names) == len(set(names))
    for action in ACTIONS:
        assert action.service in perms.SERVICES
        assert action.why and action.resource
        assert action.commands <= {"plan", "drift", "import", "apply"}
        assert action.commands, action.name


def test_only_the_undocumented_rotation_delete_is_implied() -> None:
    assert [a.name for a in ACTIONS if a.implied] == ["ram:DeletePolicyVersion"]


# --- the documents ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
def test_each_document_is_a_valid_ram_policy_within_the_size_limit(mode: Mode) -> None:
    text = perms.document_text(mode)
    assert parse_policy(text)  # the emulator's evaluator (RAM's rules) reads it
    from reconciler.emulator.ram.models import validate_document

    validate_document(text)  # what CreatePolicy checks, the 6,144-character limit included
    compact = json.dumps(json.loads(text), separators=(",", ":"))
    assert len(text) <= MAX_DOCUMENT_CHARS and len(compact) <= MAX_DOCUMENT_CHARS


@pytest.mark.parametrize("mode", list(Mode))
def test_a_document_allows_its_actions_and_nothing_else(mode: Mode) -> None:
    document = perms.policy_document(mode)
    own = {a.name for a in perms.actions_for(mode)}
    for action in ACTIONS:
        allowed = is_allowed([document], action.name, "acs:rds:cn-hangzhou:1:dbinstance/pgm-x")
        assert allowed == (action.name in own), action.name
    assert not is_allowed([document], "rds:DeleteDBInstance", "*")
    assert not is_allowed([document], "kms:Decrypt", "*")


def test_plan_and_drift_only_read_and_apply_holds_every_read_and_write() -> None:
    reads = {a.name for a in ACTIONS if a.kind == "read"}
    for mode in (Mode.PLAN, Mode.DRIFT):
        assert all(a.kind == "read" for a in perms.actions_for(mode))
    audit_only = {"rds:DescribeRegions"}  # every region of the account: drift and import only
    assert {a.name for a in perms.actions_for(Mode.PLAN)} == reads - audit_only
    assert {a.name for a in perms.actions_for(Mode.APPLY)} == {a.name for a in ACTIONS} - audit_only


def test_drift_reads_plan_s_nineteen_actions_and_the_account_s_regions() -> None:
    """What docs/permissions.md says; when one gains a read, change the docs with it."""
    plan, drift = perms.actions_for(Mode.PLAN), perms.actions_for(Mode.DRIFT)
    assert len(plan) == 19
    assert [a.name for a in drift if a not in plan] == ["rds:DescribeRegions"]
    assert "plan's 19 actions and `rds:DescribeRegions`" in DOCS.read_text()


def test_drift_covers_import() -> None:
    """import is not a mode of its own: drift's document covers what import reads."""
    drift = {a.name for a in perms.actions_for(Mode.DRIFT)}
    assert {a.name for a in ACTIONS if "import" in a.commands} <= drift


def test_statements_come_per_service_in_a_stable_order() -> None:
    document = perms.policy_document(Mode.APPLY)
    services = [s["Action"][0].split(":")[0] for s in document["Statement"]]
    assert services == ["rds", "kms", "ram"]
    assert all(s["Resource"] == "*" and s["Effect"] == "Allow" for s in document["Statement"])
    assert perms.document_text(Mode.APPLY) == perms.document_text("apply")


# --- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plan", "drift", "apply"])
def test_the_command_prints_the_document_alone(mode: str) -> None:
    code, out, err = run("permissions", "--mode", mode)
    assert code == 0, err
    assert out == perms.document_text(mode)
    assert json.loads(out) == perms.policy_document(mode)


def test_without_a_mode_every_document_keyed_by_mode() -> None:
    code, out, _ = run("permissions")
    assert code == 0
    assert json.loads(out) == {m.value: perms.policy_document(m) for m in Mode}


def test_markdown_is_the_table_of_every_action() -> None:
    code, out, _ = run("permissions", "--format", "markdown")
    assert code == 0
    assert out == perms.actions_table()
    for action in ACTIONS:
        assert f"`{action.name}`" in out


def test_usage_errors_exit_1() -> None:
    assert run("permissions", "--mode", "import")[0] == 1
    code, _, err = run("permissions", "--mode", "plan", "--format", "markdown")
    assert code == 1 and "--mode" in err


def test_root_help_lists_the_command() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert re.search(r"^\s+permissions\s+\S", out, re.MULTILINE)


def test_global_options_are_accepted_and_ignored() -> None:
    code, out, _ = run("--endpoint", "127.0.0.1:9", "permissions", "--mode", "plan")
    assert code == 0 and out == perms.document_text("plan")


# --- docs/permissions.md ---------------------------------------------------------------------


def _generated_block(text: str, command: str) -> str:
    """The fenced block right after `<!-- generated: COMMAND -->`."""
    marker = f"<!-- generated: {command} -->"
    assert marker in text, f"docs/permissions.md lacks {marker}"
    after = text.split(marker, 1)[1]
    match = re.match(r"\s*```(?:json)?\n(.*?)```", after, re.DOTALL)
    if match:
        return match.group(1)
    table = re.match(r"\s*\n((?:\|.*\n)+)", after)
    assert table, f"no block after {marker}"
    return table.group(1)


@pytest.mark.parametrize("mode", ["plan", "drift", "apply"])
def test_the_docs_carry_each_document_as_the_command_prints_it(mode: str) -> None:
    text = DOCS.read_text()
    command = f"reconciler permissions --mode {mode}"
    assert _generated_block(text, command) == run("permissions", "--mode", mode)[1]


def test_the_docs_carry_the_table_as_the_command_prints_it() -> None:
    text = DOCS.read_text()
    command = "reconciler permissions --format markdown"
    assert _generated_block(text, command) == run("permissions", "--format", "markdown")[1]


# --- derived from the kinds (issue 17) -------------------------------------------------------


def test_the_list_is_every_kinds_declaration_and_the_accounts_in_order() -> None:
    from reconciler.kinds import KINDS

    declared = [a for kind in KINDS for a in kind.api_actions()] + list(perms.ACCOUNT_ACTIONS)
    assert sorted(a.name for a in declared) == sorted(a.name for a in ACTIONS)
    orders = [a.order for a in ACTIONS]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)


def test_each_write_is_declared_by_the_one_kind_whose_changes_make_it() -> None:
    from reconciler.kinds import KINDS

    declared: list[str] = []
    for kind in KINDS:
        writes = {a.name for a in kind.api_actions() if a.kind == "write" and not a.implied}
        assert writes == {op.value for op in kind.writes()}, kind.name
        assert all(a.commands == {"apply"} for a in kind.api_actions() if a.kind == "write")
        declared += sorted(writes)
    assert sorted(declared) == sorted(op.value for op in Op)  # each Op by exactly one kind
    assert all(a.kind == "read" for a in perms.ACCOUNT_ACTIONS)


def test_an_action_declared_twice_or_two_at_one_place_is_refused() -> None:
    one, other = ACTIONS[0], ACTIONS[1]
    with pytest.raises(ValueError, match="same place"):
        perms.ordered([one, replace(other, rank=one.rank)])
    with pytest.raises(ValueError, match="more than once"):
        perms.ordered([one, replace(one, rank=99)])
    assert perms.ordered([other, one]) == (one, other)
