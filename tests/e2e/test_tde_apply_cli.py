"""`reconciler apply` of TDE through the CLI (issue 19): a greenfield rollout of disk
encryption plus TDE on a CMK is refused without --allow-irreversible (exit 1, nothing
written, the instance named), then applies with it and replans empty.

Needs the kind's reads (DescribeDBInstanceTDE into the observed state, kinds/rds_tde/read.py):
without them the plan is refused as TdeNotRead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import only_reads, run_cli


@pytest.fixture(autouse=True)
def own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_tde_needs_allow_irreversible_then_applies_and_replans_empty(
    emulator: Emulator, write_spec: Any
) -> None:
    instance_id = world.create_instance(emulator.endpoint)
    folder = write_spec(
        {
            "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
            "kms_keys": {"rds-prod": {"alias": "alias/rds-prod"}},
            "instances": {
                instance_id: {"encryption": {"key": "rds-prod"}, "tde": {"key": "rds-prod"}}
            },
        }
    )
    endpoint = emulator.endpoint
    world.reset_calls(endpoint)

    refused = run_cli("--endpoint", endpoint, "apply", folder, "--auto-approve", "--allow-restart")

    assert refused.exit_code == 1
    assert "--allow-irreversible" in refused.stderr + refused.stdout
    assert instance_id in refused.stderr + refused.stdout
    assert only_reads(world.calls(endpoint)) == []

    done = run_cli(
        "--endpoint",
        endpoint,
        "apply",
        folder,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert done.exit_code == 0, done.stdout + done.stderr
    again = run_cli("--endpoint", endpoint, "plan", folder, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
