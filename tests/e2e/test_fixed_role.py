"""RDS assumes only the role AliyunRDSInstanceEncryptionDefaultRole to use a customer master key
("Authorize RDS to access KMS", docs/real-cloud.md): a spec that renames `ram.role` is a
validation error at the line of the name, in `validate` and `plan` alike, before any read. A
custom policy name stays allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import world
from tests.e2e.conftest import run_cli

SPEC = """version: 1
ram:
  role: {role}
  policy: {policy}
kms_keys:
  prod: {{alias: alias/rds-prod}}
instances:
  pgm-bp1ded0000000001:
    encryption: {{key: prod}}
"""


def _folder(
    tmp_path: Path, role: str, policy: str = "AliyunRDSInstanceEncryptionRolePolicy"
) -> str:
    (tmp_path / "spec.yaml").write_text(SPEC.format(role=role, policy=policy))
    return str(tmp_path)


@pytest.mark.parametrize("role", ["MyEncryptionRole", "aliyunrdsinstanceencryptiondefaultrole"])
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_renamed_role_is_a_validation_error(
    demo, tmp_path: Path, command: str, role: str
) -> None:  # type: ignore[no-untyped-def]
    world.reset_calls(demo.endpoint)
    args = ("--endpoint", demo.endpoint, command) if command == "plan" else (command,)
    run = run_cli(*args, _folder(tmp_path, role))
    assert run.exit_code == 1, run.stdout + run.stderr
    message = run.stderr
    assert "spec.yaml:3:9: `ram.role`" in message, message
    assert "RDS only assumes AliyunRDSInstanceEncryptionDefaultRole" in message
    assert "write role: AliyunRDSInstanceEncryptionDefaultRole or leave ram.role out" in message
    assert "Plan:" not in run.stdout  # nothing was planned
    assert world.calls(demo.endpoint) == {}  # refused before any read


def test_the_documented_role_with_a_custom_policy_name_plans(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path, "AliyunRDSInstanceEncryptionDefaultRole", "MyRdsKmsPolicy")
    run = run_cli("--endpoint", demo.endpoint, "plan", folder, "--format", "json")
    assert run.exit_code == 0, run.stdout + run.stderr
    addresses = {c["address"] for c in run.plan["changes"]}
    assert "ram_policy.MyRdsKmsPolicy" in addresses
    assert run.plan["refusals"] == []
