"""A hand-edited saved plan, through the CLI against the emulator (issue 16, finding 1): apply
plans afresh and carries out a saved change only where the fresh plan holds the very same
change. Every edit is refused with exit 1 and NO write, naming the address."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import only_reads, run_cli

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
ENCRYPT = "rds_encryption.pgm-bp1ded0000000001"
UNMANAGED = "pgm-bp1gp00000000003"  # in the demo world, named by no spec file


@pytest.fixture(autouse=True)
def own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _change(plan: dict[str, Any], address: str) -> dict[str, Any]:
    return next(c for c in plan["changes"] if c["address"] == address)


def _retarget(plan: dict[str, Any]) -> None:
    """The issue's exploit: the instance change aimed at an instance nobody declared, to decrypt
    it, without a restart flag (so no --allow-restart is needed)."""
    change = _change(plan, ENCRYPT)
    change["operations"][0]["params"]["DBInstanceId"] = UNMANAGED
    change["operations"][0]["params"]["ConfigValue"] = "disabled"
    change["restart"] = False


def _value(plan: dict[str, Any]) -> None:
    _change(plan, ENCRYPT)["operations"][0]["params"]["ConfigValue"] = "disabled"


def _restart_flag(plan: dict[str, Any]) -> None:
    _change(plan, ENCRYPT)["restart"] = False


def _extra_operation(plan: dict[str, Any]) -> None:
    legacy = _change(plan, "kms_key.rds-legacy")
    key_id = legacy["target_id"]
    legacy["operations"].append({"op": "kms:DisableKey", "params": {"KeyId": key_id}})


def _extra_change(plan: dict[str, Any]) -> None:
    """A change at a declared instance the spec leaves as it is (already on the service key)."""
    extra = json.loads(json.dumps(_change(plan, "rds_encryption.pgm-bp1gp00000000001")))
    extra["address"] = "rds_encryption.pgm-bp1gp00000000002"
    extra["target_id"] = "pgm-bp1gp00000000002"
    extra["operations"][0]["params"]["DBInstanceId"] = "pgm-bp1gp00000000002"
    extra["operations"][0]["params"]["ConfigValue"] = "disabled"
    plan["changes"].append(extra)


def _unknown_address(plan: dict[str, Any]) -> None:
    made_up = json.loads(json.dumps(_change(plan, ENCRYPT)))
    made_up["address"] = "rds_encryption.pgm-bp1madeup00000001"
    made_up["facts_digest"] = "sha256:" + "0" * 64
    made_up["depends_on"] = []
    plan["changes"].append(made_up)


def _unknown_kind(plan: dict[str, Any]) -> None:
    _unknown_address(plan)
    plan["changes"][-1]["address"] = "no_such_kind.x"


TAMPERS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "edited-target": (_retarget, ENCRYPT),
    "edited-value": (_value, ENCRYPT),
    "restart-flag": (_restart_flag, ENCRYPT),
    "extra-operation": (_extra_operation, "kms_key.rds-legacy"),
    "extra-change": (_extra_change, "rds_encryption.pgm-bp1gp00000000002"),
    "unknown-address": (_unknown_address, "rds_encryption.pgm-bp1madeup00000001"),
    "unknown-kind": (_unknown_kind, "no_such_kind.x"),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_a_tampered_saved_plan_is_refused_with_no_write(
    name: str, demo: Emulator, tmp_path: Path
) -> None:
    tamper, address = TAMPERS[name]
    path = tmp_path / "plan.json"
    made = run_cli("--endpoint", demo.endpoint, "plan", SPECS, "-o", str(path))
    assert made.exit_code == 0, made.stderr
    plan = json.loads(path.read_text())
    tamper(plan)
    path.write_text(json.dumps(plan))
    world.reset_calls(demo.endpoint)

    refused = run_cli(
        "--endpoint", demo.endpoint, "apply", "--plan", str(path), SPECS, "--auto-approve",
        "--allow-restart", "--allow-irreversible",
    )  # fmt: skip

    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert f"x {address}" in refused.stderr, refused.stderr
    assert "nothing was written" in refused.stderr
    assert "Apply complete" not in refused.stdout + refused.stderr
    assert only_reads(world.calls(demo.endpoint)) == []
    # The untouched plan still applies: the refusal was about the edit, not the world.
    again = run_cli("--endpoint", demo.endpoint, "plan", SPECS, "-o", str(path))
    assert again.exit_code == 0, again.stderr
    done = run_cli(
        "--endpoint", demo.endpoint, "apply", "--plan", str(path), SPECS, "--auto-approve",
        "--allow-restart", "--allow-irreversible",
    )  # fmt: skip
    assert done.exit_code == 0, done.stdout + done.stderr
    # The instance nobody declared kept its encryption through all of it.
    assert _disk_key(demo.endpoint, UNMANAGED), "the unmanaged instance was decrypted"


def _disk_key(endpoint: str, instance_id: str) -> str:
    from alibabacloud_rds20140815 import models

    request = models.DescribeDBInstanceEncryptionKeyRequest(dbinstance_id=instance_id)
    body = world.rds(endpoint).describe_dbinstance_encryption_key(request).body
    return str(body.encryption_key or "")
