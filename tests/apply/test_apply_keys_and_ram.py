"""Every KMS and RAM write of the plan vocabulary, carried out through the emulator: a key's
settings repaired, disabled, scheduled for deletion and back; RAM drift repaired."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.apply.executor import apply_plan
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.apply.conftest import FakeTime, clients_for, make_plan, options, writes
from tests.e2e import world

HZ = "cn-hangzhou"


def _key_spec(**settings: object) -> dict:
    key = {"alias": "alias/rds-a", "description": "RDS key a", "tags": {"team": "dba"}}
    return {"defaults": {"region": HZ}, "kms_keys": {"rds-a": {**key, **settings}}}


def _apply_and_converge(emu: Emulator, spec: dict) -> list[str]:
    """Plan, apply, plan again (nothing left); the writes the apply made."""
    clients = clients_for(emu)
    plan = make_plan(clients, spec)
    assert not plan.refusals, plan.refusals
    world.reset_calls(emu.endpoint)
    result = apply_plan(plan, clients, options(FakeTime(emu)))
    assert result.ok, result.outcomes
    assert make_plan(clients, spec).changes == []
    return sorted(writes(emu))


def test_a_key_is_repaired_disabled_deleted_and_brought_back(emulator) -> None:  # type: ignore[no-untyped-def]
    key_id = world.create_key(
        emulator.endpoint,
        alias="alias/rds-a",
        tags={"owner": "alice", "acs:rds:instance-encryption": "true"},
        description="old text",
    )
    world.disable_key(emulator.endpoint, key_id)

    repaired = _key_spec(rotation={"enabled": True, "interval_days": 180}, deletion_protection=True)
    assert _apply_and_converge(emulator, repaired) == [
        "kms:EnableKey",
        "kms:SetDeletionProtection",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:UpdateKeyDescription",
        "kms:UpdateRotationPolicy",
    ]
    assert _apply_and_converge(emulator, _key_spec(state="disabled", deletion_protection=True)) == [
        "kms:DisableKey"
    ]
    assert _apply_and_converge(emulator, _key_spec(state="pending-deletion")) == [
        "kms:ScheduleKeyDeletion",
        "kms:SetDeletionProtection",
    ]
    back = _apply_and_converge(emulator, _key_spec())
    assert "kms:CancelKeyDeletion" in back


RAM_DRIFT_SEED = {
    "regions": [HZ],
    "kms_keys": [
        {
            "region": HZ,
            "aliases": ["alias/rds-prod"],
            "tags": {"acs:rds:instance-encryption": "true"},
        }
    ],
    "ram": {
        "policies": [
            {
                "name": "AliyunRDSInstanceEncryptionRolePolicy",
                "document": {
                    "Version": "1",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["kms:List*"], "Resource": ["acs:kms:*:*:*"]}
                    ],
                },
            }
        ],
        "roles": [{"name": "AliyunRDSInstanceEncryptionDefaultRole", "trust": "ecs.aliyuncs.com"}],
    },
    "rds_instances": [
        {
            "id": "pgm-bp1ded0000000001",
            "region": HZ,
            "class": "pg.x4.large.2c",
            "encryption": "service",
        }
    ],
}


@pytest.fixture
def ram_drift(tmp_path: Path) -> Iterator[Emulator]:
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(RAM_DRIFT_SEED))
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        yield emu


def test_ram_drift_is_repaired_before_the_instance_moves_to_the_cmk(ram_drift) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "defaults": {"region": HZ, "restart": "immediate"},
        "kms_keys": {"rds-prod": {"alias": "alias/rds-prod"}},
        "instances": {"pgm-bp1ded0000000001": {"encryption": {"key": "rds-prod"}}},
    }
    clients = clients_for(ram_drift)
    plan = make_plan(clients, spec)
    assert [c.op_names[0] for c in plan.changes] == [
        "ram:CreatePolicyVersion",
        "ram:UpdateRole",
        "ram:AttachPolicyToRole",
        "rds:ModifyDBInstanceConfig",
    ]
    result = apply_plan(
        plan, clients, options(FakeTime(ram_drift), allow_restart=True, allow_irreversible=True)
    )
    assert result.ok, result.outcomes
    assert make_plan(clients, spec).changes == []
