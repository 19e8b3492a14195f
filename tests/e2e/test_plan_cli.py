"""`reconciler plan` through the real SDK against the in-process emulator."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.plan.model import load_plan
from tests.e2e import world
from tests.e2e.conftest import only_reads, plan_json, run_cli

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
REFUSALS = str(REPO / "specs" / "examples" / "refusals")


def test_emulator_flag_plans_the_demo_fleet(tmp_path: Path) -> None:
    state = tmp_path / "new-dir" / "emulator.sqlite"
    run = run_cli("--emulator", "--emulator-state", str(state), "plan", SPECS, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert state.exists(), "the state file (and its folder) is created"
    plan = run.plan
    by_address = {c["address"]: c for c in plan["changes"]}
    assert by_address["kms_key.rds-prod"]["action"] == "create"
    assert by_address["kms_key.rds-prod-sh"]["region"] == "cn-shanghai"
    assert by_address["kms_key.rds-legacy"]["action"] == "update"  # lost its RDS tag
    assert by_address["ram_role.AliyunRDSInstanceEncryptionDefaultRole"]["action"] == "create"
    restarts = {a for a, c in by_address.items() if c["restart"]}
    assert restarts == {
        "rds_encryption.pgm-bp1ded0000000001",
        "rds_encryption.pgm-bp1ded0000000002",
        "rds_encryption.pgm-bp1gp00000000001",
        "rds_encryption.pgm-uf6ded0000000001",
        "rds_tde.pgm-bp1ded0000000001",
    }
    irreversible = {a for a, c in by_address.items() if c["irreversible"]}
    assert irreversible == {"rds_tde.pgm-bp1ded0000000001"}  # enabling TDE is one-way
    assert "rds_encryption.pgm-bp1gp00000000002" not in by_address  # already as wanted
    assert plan["summary"]["refused"] == 0
    # The state persists: a second run is not reseeded and plans the same changes.
    again = run_cli("--emulator", "--emulator-state", str(state), "plan", SPECS, "--format", "json")
    assert [c["address"] for c in again.plan["changes"]] == list(by_address)


def test_text_output_shows_creates_updates_restarts(demo) -> None:  # type: ignore[no-untyped-def]
    run = run_cli("--endpoint", demo.endpoint, "plan", SPECS)
    assert run.exit_code == 0, run.stderr
    assert "+ create kms_key.rds-prod" in run.stdout
    assert "update rds_encryption.pgm-bp1ded0000000002" in run.stdout
    assert "RESTARTS" in run.stdout
    assert "Plan: 5 to create, 6 to update, 0 to delete; 5 restart(s), 0 refused" in run.stdout
    assert "\x1b[" not in run.stdout, "no colour when not on a terminal"


def test_detailed_exitcode(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    assert plan_json(demo.endpoint, SPECS, "--detailed-exitcode").exit_code == 2
    settled = write_spec(
        {"instances": {"pgm-bp1gp00000000002": {"encryption": {"key": "service"}}}}
    )
    run = plan_json(demo.endpoint, settled, "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.plan["changes"] == []
    assert plan_json(demo.endpoint, settled).exit_code == 0
    refused = plan_json(demo.endpoint, REFUSALS, "--detailed-exitcode")
    assert refused.exit_code == 1
    assert refused.codes() == {
        "EncryptionUnsupportedServerless",
        "EncryptionUnsupportedStorage",
        "CmkRequiresDedicatedInstance",
    }


def test_json_stdout_is_only_json_and_out_file_loads_back(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "plan.json"
    run = run_cli(
        "--endpoint", demo.endpoint, "plan", SPECS, "--format", "json", "-o", str(out), "--stats"
    )
    assert run.exit_code == 0
    printed = json.loads(run.stdout)  # nothing else on stdout
    saved = load_plan(out.read_text())
    assert saved.model_dump(mode="json") == printed
    assert saved.fingerprint.startswith("sha256:")
    assert "API calls:" in run.stderr


def test_markdown_format(demo) -> None:  # type: ignore[no-untyped-def]
    run = run_cli("--endpoint", demo.endpoint, "plan", SPECS, "--format", "markdown")
    assert run.exit_code == 0, run.stderr
    assert "rds_encryption.pgm-bp1ded0000000001" in run.stdout


def test_done_when_dedicated_instance_without_role_policy_or_key(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    """The issue's done-when: policy, role, attachment and key (tagged, aliased) come before
    the instance's change, the restart is marked, and nothing is written to the cloud."""
    instance = world.create_instance(emulator.endpoint, class_code="pg.x4.large.2c")
    folder = write_spec(
        {
            "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
            "kms_keys": {"prod": {"alias": "alias/rds-prod", "tags": {"team": "dba"}}},
            "instances": {instance: {"encryption": {"key": "prod"}}},
        }
    )
    world.reset_calls(emulator.endpoint)
    run = plan_json(emulator.endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 2, run.stdout + run.stderr
    order = [c["address"] for c in run.plan["changes"]]
    policy = "ram_policy.AliyunRDSInstanceEncryptionRolePolicy"
    role = "ram_role.AliyunRDSInstanceEncryptionDefaultRole"
    attachment = (
        "ram_attachment.AliyunRDSInstanceEncryptionDefaultRole/"
        "AliyunRDSInstanceEncryptionRolePolicy"
    )
    target = f"rds_encryption.{instance}"
    assert order.index(policy) < order.index(role) < order.index(attachment)
    assert order.index(attachment) < order.index("kms_key.prod") < order.index(target)
    key = run.plan["changes"][order.index("kms_key.prod")]
    assert key["action"] == "create"
    create, alias = key["operations"][:2]
    assert (create["op"], alias["op"]) == ("kms:CreateKey", "kms:CreateAlias")
    assert '"TagKey":"acs:rds:instance-encryption","TagValue":"true"' in create["params"]["Tags"]
    assert alias["params"] == {
        "AliasName": "alias/rds-prod",
        "KeyId": {"ref": "kms_key.prod", "attr": "key_id"},
    }
    change = run.plan["changes"][order.index(target)]
    assert change["restart"] is True
    assert "kms_key.prod" in change["depends_on"]
    [modify] = change["operations"]
    assert modify["params"]["ConfigValue"] == {"ref": "kms_key.prod", "attr": "key_id"}
    assert modify["params"]["ClientToken"].startswith("rcl-")
    calls = world.calls(emulator.endpoint)
    assert calls, "the plan read the cloud"
    assert only_reads(calls) == [], f"a plan must not write: {calls}"


def test_no_credentials_is_one_clear_line(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from reconciler.cli import cli

    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": None,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
        "ALIBABA_CLOUD_CREDENTIALS_FILE": str(tmp_path / "none.ini"),
        "HOME": str(tmp_path),
    }
    result = CliRunner().invoke(cli, ["--endpoint", "127.0.0.1:1", "plan", SPECS], env=env)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: no Alibaba Cloud credentials found")
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in result.stderr


def test_unreachable_endpoint_is_one_line_after_retries(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import functools

    from reconciler.cloud import clients
    from reconciler.cloud.retry import RetryPolicy

    quick = functools.partial(RetryPolicy, max_attempts=3, base_delay=0.01, max_delay=0.01)
    monkeypatch.setattr(clients, "RetryPolicy", quick)
    run = run_cli("--endpoint", "127.0.0.1:1", "plan", SPECS)
    assert run.exit_code == 1
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("Error: reading the cloud")
    assert "emulator-secret" not in run.stderr


def test_invalid_spec_fails_before_reading_the_cloud(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "spec.yaml").write_text("version: 1\ninstances:\n  pgm-bp1x0000: {encryption: on}\n")
    world.reset_calls(emulator.endpoint)
    run = plan_json(emulator.endpoint, str(bad))
    assert run.exit_code == 1 and run.stdout == ""
    assert "spec.yaml:3" in run.stderr
    assert world.calls(emulator.endpoint) == {}


def test_region_option_fills_the_spec_default(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    """pgm-uf6ded0000000001 lives in cn-shanghai; a spec without defaults.region finds it only
    with --region cn-shanghai."""
    folder = write_spec({"instances": {"pgm-uf6ded0000000001": {"encryption": {"key": "service"}}}})
    assert plan_json(demo.endpoint, folder).codes() == {"InstanceNotFound"}
    run = run_cli(
        "--endpoint", demo.endpoint, "--region", "cn-shanghai", "plan", folder, "--format", "json"
    )
    assert run.exit_code == 0, run.stdout + run.stderr
    assert [c["address"] for c in run.plan["changes"]] == ["rds_encryption.pgm-uf6ded0000000001"]


def test_region_option_does_not_override_a_written_default(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec(
        {
            "defaults": {"region": "cn-hangzhou"},
            "instances": {"pgm-uf6ded0000000001": {"encryption": {"key": "service"}}},
        }
    )
    run = run_cli(
        "--endpoint", demo.endpoint, "--region", "cn-shanghai", "plan", folder, "--format", "json"
    )
    assert run.codes() == {"InstanceNotFound"}


def test_bad_rate_limit_is_one_clear_line(demo) -> None:  # type: ignore[no-untyped-def]
    run = run_cli("--endpoint", demo.endpoint, "plan", SPECS, "--rate-limit", "nonsense")
    assert run.exit_code == 1  # a usage error: never 2
    assert run.stderr.startswith("Error: ") and "bad rate limit 'nonsense'" in run.stderr
    assert "service:Action=N" in run.stderr and run.stderr.count("\n") == 1
