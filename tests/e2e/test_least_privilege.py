"""Least privilege: the CLI runs as a RAM user whose only policy is the document
`reconciler permissions --mode MODE` prints, against the emulator, which checks every call of
that user's key with the RAM policy evaluator. Where a command works, the document is made a
custom policy with CreatePolicy and attached to the user, as docs/permissions.md says; where
an action is taken out, the user's document is replaced (an inline document) between runs.

plan and drift (and import) work with their read documents alone, and apply with its document
alone (a greenfield CMK rollout on the demo world converges). Each fails clearly with less: one
action removed from the document, the command exits 1 and names that action; apply says what it
made before failing, and the next plan shows exactly what it did not report as done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import READ_PREFIXES, PlanRun, only_reads, run_cli

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
REGIONS = ("--region", "cn-hangzhou", "--region", "cn-shanghai")
USER_KEY = {"id": "ci-reconciler", "secret": "ci-reconciler-secret-1"}
USER_ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": USER_KEY["id"],
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": USER_KEY["secret"],
    "CI": "1",
}
DENIED_CODES = ("Forbidden.RAM", "Forbidden.NoPermission", "NoPermission")
GREENFIELD_ACTIONS = [
    "kms:CreateAlias",
    "kms:CreateKey",
    "kms:DescribeAccountKmsStatus",
    "kms:DescribeKey",
    "kms:GetKmsInstance",  # the KMS instance the demo's keys are created in
    "kms:GetKmsInstanceQuotaInfos",
    "kms:ListAliases",  # the keys to create: is one there already, without its alias?
    "kms:ListKeys",
    "kms:ListResourceTags",
    "kms:SetDeletionProtection",
    "kms:TagResource",
    "ram:AttachPolicyToRole",
    "ram:CreatePolicy",
    "ram:CreateRole",
    "ram:GetPolicy",
    "ram:GetRole",
    "ram:ListPoliciesForRole",
    "rds:DescribeDBInstanceAttribute",
    "rds:DescribeDBInstanceEncryptionKey",
    "rds:DescribeDBInstanceTDE",  # the demo fleet enables TDE on one instance
    "rds:DescribeDBInstances",
    "rds:DescribeHistoryTasks",
    "rds:ModifyDBInstanceConfig",
    "rds:ModifyDBInstanceTDE",
]
"""Every action the demo world's greenfield apply calls (checked below)."""


@pytest.fixture(autouse=True)
def own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # apply's lock and journal
    return tmp_path


@pytest.fixture
def demo() -> Iterator[Emulator]:
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed="demo") as emu:
        yield emu


def document(mode: str, without: str | None = None) -> dict[str, Any]:
    """The document `reconciler permissions --mode MODE` prints, less one action."""
    printed = run_cli("permissions", "--mode", mode)
    assert printed.exit_code == 0, printed.stderr
    doc = json.loads(printed.stdout)
    if without is not None:
        for statement in doc["Statement"]:
            statement["Action"] = [a for a in statement["Action"] if a != without]
        doc["Statement"] = [s for s in doc["Statement"] if s["Action"]]
        assert without in printed.stdout, f"{without} is not in the {mode} document"
    return doc


def grant(endpoint: str, doc: dict[str, Any]) -> None:
    """The user whose key the CLI uses, with `doc` as its only policy (replacing any)."""
    world.admin(
        endpoint, "POST", "users", {"name": "ci", "access_keys": [USER_KEY], "documents": [doc]}
    )


def attach_as_custom_policy(endpoint: str, mode: str) -> None:
    """What docs/permissions.md tells an administrator to do: CreatePolicy with the printed
    document (by the account), and attach it to the user the CLI runs as."""
    from alibabacloud_ram20150501 import models

    printed = run_cli("permissions", "--mode", mode).stdout
    name = f"reconciler-{mode}"
    world.ram(endpoint).create_policy(
        models.CreatePolicyRequest(policy_name=name, policy_document=printed)
    )
    user = {"name": "ci", "access_keys": [USER_KEY], "policies": [name]}
    assert world.admin(endpoint, "POST", "users", user)["user"]["policies"] == [
        {"name": name, "type": "Custom"}
    ]


def as_user(endpoint: str, *args: str) -> PlanRun:
    result = CliRunner().invoke(
        cli, ["--endpoint", endpoint, *args], env=USER_ENV, catch_exceptions=False
    )
    return PlanRun(result.exit_code, result.stdout, result.stderr)


def called(endpoint: str, *args: str) -> set[str]:
    """The actions a run with the account's own key calls (what the user will need)."""
    world.reset_calls(endpoint)
    done = run_cli("--endpoint", endpoint, *args)
    assert done.exit_code in (0, 2), done.stdout + done.stderr
    return set(world.calls(endpoint))


def assert_names_the_refusal(run: PlanRun, action: str) -> None:
    """Exit 1, and the output names the action and a not-authorised code."""
    output = run.stdout + run.stderr
    assert run.exit_code == 1, output
    assert action in output, output
    assert any(code in output for code in DENIED_CODES), output
    assert USER_KEY["secret"] not in output


# --- plan ------------------------------------------------------------------------------------


def test_plan_works_with_the_plan_document_alone(demo: Emulator) -> None:
    attach_as_custom_policy(demo.endpoint, "plan")
    world.reset_calls(demo.endpoint)
    planned = as_user(demo.endpoint, "plan", SPECS, "--format", "json", "--detailed-exitcode")
    assert planned.exit_code == 2, planned.stderr  # the demo world has changes to make
    assert planned.plan["summary"]["create"] > 0
    assert only_reads(world.calls(demo.endpoint)) == []


def test_plan_fails_naming_each_action_missing_from_its_document(demo: Emulator) -> None:
    needed = called(demo.endpoint, "plan", SPECS)
    assert needed <= set(json.dumps(document("plan")).split('"'))
    assert len(needed) >= 8
    for action in sorted(needed):
        grant(demo.endpoint, document("plan", without=action))
        planned = as_user(demo.endpoint, "plan", SPECS, "--format", "json")
        assert_names_the_refusal(planned, action)
        assert planned.stdout == ""  # no plan document is printed from a partial read


# --- drift and import ------------------------------------------------------------------------


def test_drift_and_import_work_with_the_drift_document_alone(demo: Emulator) -> None:
    attach_as_custom_policy(demo.endpoint, "drift")
    drift = as_user(demo.endpoint, "drift", SPECS, "--format", "json")
    assert drift.exit_code == 2, drift.stderr  # the demo world differs from specs/
    assert json.loads(drift.stdout)["items"]
    imported = as_user(demo.endpoint, "import", *REGIONS)
    assert imported.exit_code == 0, imported.stderr
    assert "pgm-bp1ded0000000001" in imported.stdout


@pytest.mark.parametrize(
    "command", [("drift", SPECS, "--format", "json"), ("import", *REGIONS)], ids=["drift", "import"]
)
def test_drift_and_import_fail_naming_each_missing_action(
    demo: Emulator, command: tuple[str, ...]
) -> None:
    needed = called(demo.endpoint, *command)
    assert len(needed) >= 7
    for action in sorted(needed):
        grant(demo.endpoint, document("drift", without=action))
        run = as_user(demo.endpoint, *command)
        assert_names_the_refusal(run, action)


# --- apply -----------------------------------------------------------------------------------


def test_apply_converges_with_the_apply_document_alone(demo: Emulator) -> None:
    attach_as_custom_policy(demo.endpoint, "apply")
    done = as_user(
        demo.endpoint, "apply", SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible"
    )
    assert done.exit_code == 0, done.stdout + done.stderr
    assert "Apply complete!" in done.stdout
    again = as_user(demo.endpoint, "plan", SPECS, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout


def test_the_greenfield_rollout_calls_these_actions(demo: Emulator) -> None:
    needed = called(
        demo.endpoint, "apply", SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible"
    )
    assert sorted(needed) == GREENFIELD_ACTIONS
    assert needed <= {a for s in document("apply")["Statement"] for a in s["Action"]}


def test_the_plan_document_cannot_apply_and_nothing_is_written(demo: Emulator) -> None:
    before = run_cli("--endpoint", demo.endpoint, "plan", SPECS, "--format", "json").plan
    grant(demo.endpoint, document("plan"))
    world.reset_calls(demo.endpoint)
    refused = as_user(
        demo.endpoint, "apply", SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible"
    )
    assert_names_the_refusal(refused, "ram:CreatePolicy")  # the first write of the plan
    writes = only_reads(world.calls(demo.endpoint))
    assert writes == ["ram:CreatePolicy"]  # tried once, refused, nothing else attempted
    after = run_cli("--endpoint", demo.endpoint, "plan", SPECS, "--format", "json").plan
    assert _without_tokens(after["changes"]) == _without_tokens(before["changes"])


def _without_tokens(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes with their ClientTokens left out: each plan has its own (they derive from
    its created_at too)."""
    return [
        {
            **c,
            "operations": [
                {**op, "params": {k: v for k, v in op["params"].items() if k != "ClientToken"}}
                for op in c["operations"]
            ],
        }
        for c in changes
    ]


def _apply_json(endpoint: str) -> tuple[PlanRun, dict[str, Any] | None]:
    run = as_user(
        endpoint,
        "apply",
        SPECS,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
        "--format",
        "json",
    )
    try:
        return run, json.loads(run.stdout)
    except ValueError:
        return run, None


@pytest.mark.parametrize("action", GREENFIELD_ACTIONS)
def test_apply_without_one_action_fails_naming_it_and_says_what_it_did(action: str) -> None:
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed="demo") as emu:
        grant(emu.endpoint, document("apply", without=action))
        world.reset_calls(emu.endpoint)
        run, result = _apply_json(emu.endpoint)
        assert_names_the_refusal(run, action)
        if result is None:  # refused while reading, before any change: nothing was written
            assert only_reads(world.calls(emu.endpoint)) == []
            assert not action.split(":", 1)[1].startswith(("Create", "Attach", "Modify", "Tag"))
        else:
            _assert_reported_as_it_is(emu.endpoint, action, result)
        # With the whole document, the same apply picks up where it stopped and converges.
        grant(emu.endpoint, document("apply"))
        done = as_user(
            emu.endpoint,
            "apply",
            SPECS,
            "--auto-approve",
            "--allow-restart",
            "--allow-irreversible",
        )
        assert done.exit_code == 0, done.stdout + done.stderr
        again = as_user(emu.endpoint, "plan", SPECS, "--detailed-exitcode")
        assert again.exit_code == 0, again.stdout + again.stderr


def _assert_reported_as_it_is(endpoint: str, action: str, result: dict[str, Any]) -> None:
    """Nothing half-applied without saying so: what apply reports as done is done (the next
    plan does not plan it again); what it reports as not started, or as failed without saying
    that its write was submitted, is still planned; a failed change that made writes before
    the refused one says which."""
    assert result["ok"] is False
    outcomes = {o["address"]: o for o in result["outcomes"]}
    failed = [o for o in outcomes.values() if o["status"] == "failed"]
    assert failed and all(action in o["detail"] for o in failed)
    for outcome in failed:
        writes_made = len(outcome["request_ids"]) - 1  # the last id is the refused call's
        if writes_made > 0 and not action.split(":", 1)[1].startswith(READ_PREFIXES):
            assert "made before it:" in outcome["detail"], outcome["detail"]
    replanned = run_cli("--endpoint", endpoint, "plan", SPECS, "--format", "json").plan
    still_planned = {c["address"] for c in replanned["changes"]}
    for address, outcome in outcomes.items():
        if outcome["status"] in ("done", "scheduled"):
            assert address not in still_planned, address
        elif "was submitted" not in outcome["detail"]:
            assert address in still_planned, address
        # else: the write was made and only the wait for it was refused, as the detail says


# --- narrowed resources (docs/permissions.md, "Narrowing the resources") -----------------------


def narrowed_apply_document(role: str = "aliyunrdsinstanceencryptiondefaultrole") -> dict:
    """The apply document with the resources docs/permissions.md suggests for the demo spec."""
    account = world.ACCOUNT
    names = {a for s in document("apply")["Statement"] for a in s["Action"]}

    def statement(actions: set[str], *resources: str) -> dict[str, Any]:
        return {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}

    anywhere = {
        "rds:DescribeKmsAssociateResources",
        "kms:DescribeAccountKmsStatus",
        "kms:GetKmsInstance",
        "kms:GetKmsInstanceQuotaInfos",
    }
    rds = {a for a in names if a.startswith("rds:")} - anywhere
    containers = {"kms:CreateKey", "kms:ListKeys", "kms:ListAliases"}
    kms = {a for a in names if a.startswith("kms:")} - anywhere - containers
    ram = {a for a in names if a.startswith("ram:")}
    return {
        "Version": "1",
        "Statement": [
            statement(rds, f"acs:rds:*:{account}:dbinstance/*"),
            statement(kms, f"acs:kms:*:{account}:key/*", f"acs:kms:*:{account}:alias/*"),
            statement({"kms:CreateKey", "kms:ListKeys"}, f"acs:kms:*:{account}:key"),
            statement({"kms:ListAliases"}, f"acs:kms:*:{account}:alias"),
            statement(anywhere, "*"),
            statement(
                ram,
                f"acs:ram::{account}:role/{role}",
                f"acs:ram::{account}:policy/AliyunRDSInstanceEncryptionRolePolicy",
            ),
        ],
    }


def test_apply_converges_with_the_narrowed_resources_the_docs_suggest(demo: Emulator) -> None:
    grant(demo.endpoint, narrowed_apply_document())
    done = as_user(
        demo.endpoint, "apply", SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible"
    )
    assert done.exit_code == 0, done.stdout + done.stderr
    again = as_user(demo.endpoint, "plan", SPECS, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr


def test_a_document_narrowed_to_another_role_cannot_read_the_spec_s_role(demo: Emulator) -> None:
    grant(demo.endpoint, narrowed_apply_document(role="someotherrole"))
    planned = as_user(demo.endpoint, "plan", SPECS)
    assert_names_the_refusal(planned, "ram:GetRole")
    assert "role/aliyunrdsinstanceencryptiondefaultrole" in planned.stderr
