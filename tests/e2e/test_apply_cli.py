"""`reconciler apply` through the CLI, against the emulator through the real SDK.

Every test ends with a second plan that reports no changes (`plan --detailed-exitcode` exits
0): apply converged, and nothing is planned twice. Each test runs in its own folder, so the
lock and the journal (`.reconciler/`) are its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import PlanRun, only_reads, run_cli

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
FLEET_CHANGES = 11  # the demo fleet's plan: 5 RAM/KMS changes, 4 disks, one TDE, the legacy tag


@pytest.fixture(autouse=True)
def own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def apply(endpoint: str, *args: str) -> PlanRun:
    return run_cli("--endpoint", endpoint, "apply", *args)


def assert_converged(endpoint: str, *paths: str) -> None:
    """The second plan: no changes, exit 0 with --detailed-exitcode."""
    again = run_cli("--endpoint", endpoint, "plan", *(paths or (SPECS,)), "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout


def writes(endpoint: str) -> list[str]:
    return only_reads(world.calls(endpoint))


def set_encryption(endpoint: str, instance_id: str, value: str) -> None:
    """An out-of-band change, as someone in the console would make it."""
    from alibabacloud_rds20140815 import models

    world.rds(endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=instance_id,
            config_name="encryptionKey",
            config_value=value,
            switch_time_mode="Immediate",
        )
    )


def save_plan(endpoint: str, path: Path, *paths: str) -> dict[str, Any]:
    made = run_cli("--endpoint", endpoint, "plan", *(paths or (SPECS,)), "-o", str(path))
    assert made.exit_code == 0, made.stderr
    return json.loads(path.read_text())


# --- greenfield ----------------------------------------------------------------------------


def test_greenfield_cmk_rollout_with_the_embedded_emulator(tmp_path: Path) -> None:
    """The demo: `--emulator` on a fresh state file, the repo's specs/."""
    state = str(tmp_path / "state" / "emulator.sqlite")
    done = run_cli(
        "--emulator",
        "--emulator-state",
        state,
        "apply",
        SPECS,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert done.exit_code == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(f"Apply complete! {FLEET_CHANGES} changed, 0 scheduled.")
    assert "rds_encryption.pgm-bp1ded0000000001: done" in done.stdout
    # The lock and the journal live next to the emulator's state file.
    lines = (tmp_path / "state" / "journal.jsonl").read_text().splitlines()
    journal = [json.loads(line) for line in lines]
    assert journal[0]["event"] == "start" and journal[-1]["event"] == "end"
    assert set(journal[-1]["outcomes"].values()) == {"done"}
    again = run_cli("--emulator", "--emulator-state", state, "plan", SPECS, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr


def test_greenfield_against_an_endpoint(demo: Emulator, own_folder: Path) -> None:
    done = apply(demo.endpoint, SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert "Done:" in done.stdout and "Failed:" not in done.stdout
    assert (own_folder / ".reconciler" / "journal.jsonl").exists()
    assert_converged(demo.endpoint)


def test_json_result_holds_every_outcome_alone_on_stdout(demo: Emulator) -> None:
    done = apply(
        demo.endpoint,
        SPECS,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
        "--format",
        "json",
    )
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)  # the document alone
    assert result["ok"] is True
    assert result["summary"] == {
        "changed": FLEET_CHANGES,
        "scheduled": 0,
        "failed": 0,
        "not_started": 0,
    }
    assert [o["status"] for o in result["outcomes"]] == ["done"] * FLEET_CHANGES
    assert "Apply complete!" in done.stderr
    nothing = apply(demo.endpoint, SPECS, "--auto-approve", "--format", "json")
    assert nothing.exit_code == 0
    assert json.loads(nothing.stdout)["outcomes"] == []
    assert_converged(demo.endpoint)


def test_nothing_to_do_exits_0_without_asking(demo: Emulator) -> None:
    first = apply(demo.endpoint, SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible")
    assert first.exit_code == 0, first.stderr
    world.reset_calls(demo.endpoint)
    again = apply(demo.endpoint, SPECS)  # no terminal, no --auto-approve: nothing to approve
    assert again.exit_code == 0, again.stderr
    assert "No changes." in again.stdout
    assert writes(demo.endpoint) == []
    assert_converged(demo.endpoint)


# --- saved plans ---------------------------------------------------------------------------


def test_apply_a_fresh_saved_plan(demo: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    saved = save_plan(demo.endpoint, path)
    done = apply(
        demo.endpoint,
        "--plan",
        str(path),
        SPECS,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert done.exit_code == 0, done.stdout + done.stderr
    # The ClientTokens sent are the saved plan's own.
    lines = Path(".reconciler/journal.jsonl").read_text().splitlines()
    journal = [json.loads(line) for line in lines]
    sent = {
        e["address"]: e["client_token"]
        for e in journal
        if e["event"] == "before" and e["op"] == "rds:ModifyDBInstanceConfig"
    }
    planned = {
        c["address"]: op["params"]["ClientToken"]
        for c in saved["changes"]
        for op in c["operations"]
        if op["op"] == "rds:ModifyDBInstanceConfig"
    }
    assert sent == planned
    assert_converged(demo.endpoint)


def test_a_stale_saved_plan_is_refused_naming_what_moved(demo: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(demo.endpoint, path)
    set_encryption(demo.endpoint, "pgm-bp1ded0000000002", "disabled")  # was on the service key
    world.reset_calls(demo.endpoint)
    refused = apply(
        demo.endpoint,
        "--plan",
        str(path),
        SPECS,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert refused.exit_code == 1
    assert "rds_encryption.pgm-bp1ded0000000002" in refused.stderr
    assert 'encryption.key: "ServiceKey" when planned, "disabled" now' in refused.stderr
    assert "stale" in refused.stderr
    # Only that address: the others' facts did not move.
    assert "rds_encryption.pgm-bp1ded0000000001" not in refused.stderr
    assert writes(demo.endpoint) == []
    # Planning again applies cleanly.
    done = apply(demo.endpoint, "--auto-approve", "--allow-restart", "--allow-irreversible", SPECS)
    assert done.exit_code == 0, done.stdout + done.stderr
    assert_converged(demo.endpoint)


def test_a_change_to_an_unrelated_instance_does_not_make_it_stale(
    demo: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "plan.json"
    save_plan(demo.endpoint, path)
    # pgm-bp1gp00000000003 is not in the spec; pgm-bp1gp00000000002 is, without a change.
    set_encryption(demo.endpoint, "pgm-bp1gp00000000003", "disabled")
    done = apply(
        demo.endpoint,
        "--plan",
        str(path),
        SPECS,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert done.exit_code == 0, done.stdout + done.stderr
    assert f"Apply complete! {FLEET_CHANGES} changed" in done.stdout
    assert_converged(demo.endpoint)


def test_a_resource_absent_when_planned_and_made_by_hand_since_is_stale(
    demo: Emulator, tmp_path: Path
) -> None:
    """The first observation found no alias/rds-prod (the plan creates it); someone creates a
    key with that alias by hand, without the tag RDS needs, before apply."""
    path = tmp_path / "plan.json"
    saved = save_plan(demo.endpoint, path)
    assert next(c for c in saved["changes"] if c["address"] == "kms_key.rds-prod")["before"] is None
    key_id = world.create_key(demo.endpoint, alias="alias/rds-prod")
    world.reset_calls(demo.endpoint)
    refused = apply(
        demo.endpoint,
        "--plan",
        str(path),
        SPECS,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert refused.exit_code == 1
    assert "kms_key.rds-prod: the facts this change rests on changed" in refused.stderr
    assert f"did not exist when planned; exists now ({key_id})" in refused.stderr
    assert writes(demo.endpoint) == []
    done = apply(demo.endpoint, SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert_converged(demo.endpoint)


def test_a_plan_of_other_spec_files_is_refused(demo: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    other = str(REPO / "specs" / "examples" / "service-key")
    save_plan(demo.endpoint, path, other)
    world.reset_calls(demo.endpoint)
    refused = apply(
        demo.endpoint,
        "--plan",
        str(path),
        SPECS,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert refused.exit_code == 1
    assert "does not belong to the spec" in refused.stderr
    assert writes(demo.endpoint) == []
    done = apply(
        demo.endpoint,
        "--plan",
        str(path),
        other,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert done.exit_code == 0, done.stdout + done.stderr
    assert_converged(demo.endpoint, other)


@pytest.mark.parametrize(
    ("content", "says"),
    [("{", "is not JSON"), ('{"format_version": "9", "changes": []}', 'format_version "9"')],
)
def test_a_malformed_plan_file_is_a_clear_error(
    demo: Emulator, tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    refused = apply(demo.endpoint, "--plan", str(path), SPECS, "--auto-approve")
    assert refused.exit_code == 1
    assert says in refused.stderr and str(path) in refused.stderr
    assert "Traceback" not in refused.stderr
    assert world.calls(demo.endpoint) == {}  # refused before reading the cloud
    done = apply(demo.endpoint, SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible")
    assert done.exit_code == 0
    assert_converged(demo.endpoint)


# --- approval and restart gating -----------------------------------------------------------


def test_no_terminal_and_no_auto_approve_is_refused(demo: Emulator) -> None:
    refused = apply(demo.endpoint, SPECS, "--allow-restart", "--allow-irreversible")
    assert refused.exit_code == 1
    assert "--auto-approve" in refused.stderr
    assert "The plan makes these changes" in refused.stdout  # shown, then refused
    assert writes(demo.endpoint) == []
    done = apply(demo.endpoint, SPECS, "--allow-restart", "--allow-irreversible", "--auto-approve")
    assert done.exit_code == 0
    assert_converged(demo.endpoint)


def test_on_a_terminal_only_yes_approves(demo: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from reconciler.cli import apply as apply_module
    from reconciler.cli import cli
    from tests.e2e.conftest import ENV

    monkeypatch.setattr(apply_module, "_on_a_terminal", lambda _to_stderr: True)
    args = ["--endpoint", demo.endpoint, "apply", SPECS, "--allow-restart", "--allow-irreversible"]
    no = CliRunner().invoke(cli, args, env=ENV, input="y\n")
    assert no.exit_code == 1
    assert "Only 'yes' will be accepted" in no.stdout
    assert "apply cancelled" in no.stderr
    assert writes(demo.endpoint) == []
    yes = CliRunner().invoke(cli, args, env=ENV, input="yes\n")
    assert yes.exit_code == 0, yes.stdout + yes.stderr
    assert "Apply complete!" in yes.stdout
    assert_converged(demo.endpoint)


def test_an_immediate_restart_needs_allow_restart(demo: Emulator) -> None:
    refused = apply(demo.endpoint, SPECS, "--auto-approve")
    assert refused.exit_code == 1
    for instance in ("pgm-bp1ded0000000001", "pgm-bp1ded0000000002", "pgm-uf6ded0000000001"):
        assert instance in refused.stderr
    assert "--allow-restart", "--allow-irreversible" in refused.stderr
    assert writes(demo.endpoint) == []  # GET /_emulator/calls: reads only
    done = apply(demo.endpoint, SPECS, "--auto-approve", "--allow-restart", "--allow-irreversible")
    assert done.exit_code == 0
    assert_converged(demo.endpoint)


def test_a_maintenance_window_change_is_scheduled_not_waited_for(
    demo: Emulator, write_spec: Any
) -> None:
    folder = write_spec(
        {
            "defaults": {"region": "cn-hangzhou", "restart": "maintenance-window"},
            "instances": {"pgm-bp1gp00000000001": {"encryption": {"key": "service"}}},
        }
    )
    done = apply(demo.endpoint, folder, "--auto-approve", "--allow-restart", "--allow-irreversible")
    assert done.exit_code == 0, done.stdout + done.stderr
    summary = done.stdout.split("Scheduled", 1)[1]
    assert "starts at " in summary and "T18:00:00Z (its maintenance window)" in summary
    assert done.stdout.rstrip().endswith("Apply complete! 0 changed, 1 scheduled.")
    assert_converged(demo.endpoint, folder)


def test_a_maintenance_window_change_needs_allow_restart_too(
    demo: Emulator, write_spec: Any
) -> None:
    """Whether RDS defers an encryption change to the window (SwitchTimeMode=MaintainTime) is
    not documented: should it restart at once, the restart must have been accepted."""
    folder = write_spec(
        {
            "defaults": {"region": "cn-hangzhou", "restart": "maintenance-window"},
            "instances": {"pgm-bp1gp00000000001": {"encryption": {"key": "service"}}},
        }
    )
    world.reset_calls(demo.endpoint)
    refused = apply(demo.endpoint, folder, "--auto-approve")
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    message = " ".join(refused.stderr.split())
    assert "pgm-bp1gp00000000001 (in its maintenance window)" in message
    assert "--allow-restart", "--allow-irreversible" in message and "docs/real-cloud.md" in message
    assert "not documented" in message and "nothing was applied" in message
    assert writes(demo.endpoint) == []
    assert world.admin(demo.endpoint, "GET", "tasks")["tasks"] == []


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("30m", True),
        ("1800s", True),
        ("90", True),
        ("1h30m", True),
        ("0s", False),
        ("soon", False),
        ("8d", False),
    ],
)
def test_timeout_values(value: str, ok: bool) -> None:
    from reconciler.cli.apply import Duration

    if ok:
        assert Duration().convert(value, None, None) > 0
    else:
        result = run_cli("apply", "--timeout", value, "--auto-approve")
        assert result.exit_code == 1
        assert "--timeout" in result.stderr


def test_apply_help_points_to_the_exit_codes() -> None:
    text = " ".join(run_cli("apply", "--help").stdout.split())
    assert "docs/exit-codes.md" in text and "130/143" in text
    for option in (
        "--plan",
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
        "--parallelism",
        "--timeout",
    ):
        assert option in text
