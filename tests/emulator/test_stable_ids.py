"""The ids the emulator makes are deterministic for a given state file: the same calls on a
fresh store give the same ids on every run (``make demo`` prints the same key ids), in the
cloud's formats, and unique within a store (also across a restart on the same file)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from alibabacloud_kms20160120 import models as km
from alibabacloud_ram20150501 import models as rm

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.emulator.conftest import sdk_client, seed_kms_instances
from tests.emulator.rds_fixtures import RDS_TRUST, create_instance, create_key

KEY_ID = re.compile(r"key-[a-z0-9]{24}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _world(emu: Emulator, role_name: str) -> dict[str, Any]:
    """Make one of everything that gets a generated id; return the ids."""
    kms, ram, rds = (sdk_client(s, emu.endpoint) for s in ("kms", "ram", "rds"))
    keys = [create_key(kms) for _ in range(3)]
    shanghai = create_key(
        sdk_client("kms", emu.endpoint, region="cn-shanghai"), region="cn-shanghai"
    )
    versions = [
        kms.describe_key(km.DescribeKeyRequest(key_id=k)).body.key_metadata.primary_key_version
        for k in keys
    ]
    role = ram.create_role(
        rm.CreateRoleRequest(role_name=role_name, assume_role_policy_document=json.dumps(RDS_TRUST))
    ).body.role
    instances = [create_instance(rds) for _ in range(2)]
    return {
        "keys": keys,
        "shanghai": shanghai,
        "versions": versions,
        "role": role.role_id,
        "instances": instances,
    }


def _fresh_world(path: str = ":memory:", role_name: str = "R1") -> dict[str, Any]:
    with Emulator(state_path=path, settings=Settings(restart_seconds=1.0)) as emu:
        return _world(seed_kms_instances(emu), role_name)


def test_the_same_calls_on_a_fresh_store_give_the_same_ids() -> None:
    first, second = _fresh_world(), _fresh_world()
    assert first == second


def test_ids_keep_the_cloud_formats() -> None:
    ids = _fresh_world()
    assert all(KEY_ID.fullmatch(k) for k in ids["keys"] + [ids["shanghai"]]), ids
    assert all(UUID.fullmatch(v) for v in ids["versions"]), ids
    assert re.fullmatch(r"[1-9][0-9]{18}", ids["role"]), ids
    assert all(re.fullmatch(r"pgm-bp1[a-z0-9]{13}", i) for i in ids["instances"]), ids


def test_ids_are_unique_within_a_store_and_across_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "state.sqlite")
    first, again = _fresh_world(path), _fresh_world(path, "R2")
    keys = first["keys"] + [first["shanghai"]] + again["keys"] + [again["shanghai"]]
    assert len(set(keys)) == len(keys)
    instances = first["instances"] + again["instances"]
    assert len(set(instances)) == len(instances)
    assert len(set(first["versions"] + again["versions"])) == 6
    assert first["role"] != again["role"]


def test_many_keys_are_all_different() -> None:
    with Emulator(settings=Settings(restart_seconds=1.0)) as emu:
        kms = sdk_client("kms", seed_kms_instances(emu).endpoint)
        keys = [create_key(kms) for _ in range(40)]
    assert len(set(keys)) == 40


def _demo_ids() -> tuple[str, str, str]:
    with Emulator(seed="demo") as emu:
        kms = sdk_client("kms", emu.endpoint)
        meta = kms.describe_key(km.DescribeKeyRequest(key_id="alias/rds-legacy")).body
        service = kms.describe_key(km.DescribeKeyRequest(key_id="alias/acs/rds")).body
        return (
            meta.key_metadata.key_id,
            meta.key_metadata.primary_key_version,
            service.key_metadata.primary_key_version,
        )


def test_the_demo_world_has_the_same_ids_on_every_fresh_run() -> None:
    first = _demo_ids()
    assert first == _demo_ids()
    assert KEY_ID.fullmatch(first[0])
