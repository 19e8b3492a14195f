"""TDE-aware reads (issue 18, item 4): TDE's key is never read as the disk's, and a key TDE
uses is never disabled or deleted. TDE is turned on through the real SDK
(ModifyDBInstanceTDE), as an operator would in the console; the emulator answers the key list
with one entry per use and, with TDE alone on, the TDE key at the top level (its chosen worst
case, docs/emulator.md "RDS: TDE")."""

from __future__ import annotations

import json

from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import PlanRun, plan_json, run_cli

ALIAS = "alias/rds-prod"


def tde_on(endpoint: str, instance_id: str, key_id: str) -> None:
    from alibabacloud_rds20140815 import models

    world.rds(endpoint).modify_dbinstance_tde(
        models.ModifyDBInstanceTDERequest(
            dbinstance_id=instance_id, tdestatus="Enabled", encryption_key=key_id
        )
    )


def tde_world(endpoint: str, *, disk_key: str | None = None) -> tuple[str, str]:
    """(instance, key): RAM ready, a tagged CMK `alias/rds-prod`, a dedicated instance whose
    TDE uses the key; its disk on `disk_key` (None: disk encryption off)."""
    dw.make_ram(endpoint)
    key_id = world.create_key(endpoint, alias=ALIAS, tags=dw.TAG)
    instance = world.create_instance(endpoint, encryption_key=disk_key and key_id)
    tde_on(endpoint, instance, key_id)
    return instance, key_id


def test_tde_on_a_cmk_does_not_make_the_disk_encrypted(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    """The key list has only the TDE entry (and the top-level EncryptionKey is that key): the
    spec wants the disk on the same key, so the plan enables disk encryption, not "in sync"."""
    instance, _ = tde_world(emulator.endpoint)
    spec = write_spec(
        {
            "kms_keys": {"prod": {"alias": ALIAS}},
            "instances": {instance: {"encryption": {"key": "prod"}}},
        }
    )
    run = plan_json(emulator.endpoint, spec, "--detailed-exitcode")
    assert run.exit_code == 2, run.stdout + run.stderr
    [change] = run.plan["changes"]
    assert change["address"] == f"rds_encryption.{instance}"
    assert change["before"] == {"encryption": {"key": "disabled"}}


def drift(endpoint: str, folder: str) -> PlanRun:
    return run_cli("--endpoint", endpoint, "drift", folder, "--format", "json")


def test_drift_reports_the_disk_of_a_tde_instance_unencrypted(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    instance, _ = tde_world(emulator.endpoint)
    spec = write_spec(
        {
            "kms_keys": {"prod": {"alias": ALIAS}},
            "instances": {instance: {"encryption": {"key": "prod"}}},
        }
    )
    run = drift(emulator.endpoint, spec)
    assert run.exit_code == 2, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["coverage"]["not_encrypted"] == 1 and report["coverage"]["cmk"] == 0
    assert [u["instance_id"] for u in report["coverage"]["unencrypted"]] == [instance]
    assert f"rds_encryption.{instance}" in {i["address"] for i in report["items"]}


def _retire(write_spec, state: str, instances: dict | None = None) -> str:  # type: ignore[no-untyped-def]
    return write_spec(
        {
            "kms_keys": {"prod": {"alias": ALIAS, "state": state}, "next": {"alias": "alias/next"}},
            "instances": instances or {},
        }
    )


def test_a_key_only_tde_uses_is_never_retired(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    instance, _ = tde_world(emulator.endpoint)
    for state in ("disabled", "pending-deletion"):
        run = plan_json(emulator.endpoint, _retire(write_spec, state), "--detailed-exitcode")
        assert run.exit_code == 1, run.stdout + run.stderr
        [refusal] = [r for r in run.plan["refusals"] if r["code"] == "KeyInUse"]
        assert f"{instance} (a TDE user: TDE cannot be turned off" in refusal["message"]
        assert not [c for c in run.plan["changes"] if c["address"] == "kms_key.prod"]


def test_moving_the_disk_off_a_key_tde_still_uses_does_not_free_it(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    """Disk and TDE on the same key; the spec moves the disk to another key and deletes the
    old one. The move does not free the key (TDE cannot be turned off): KeyInUse."""
    instance, _ = tde_world(emulator.endpoint, disk_key="same")
    world.create_key(emulator.endpoint, alias="alias/next", tags=dw.TAG)
    moved = {instance: {"encryption": {"key": "next"}}}
    run = plan_json(emulator.endpoint, _retire(write_spec, "pending-deletion", moved))
    assert run.exit_code == 1, run.stdout + run.stderr
    [refusal] = [r for r in run.plan["refusals"] if r["code"] == "KeyInUse"]
    assert instance in refusal["message"] and "TDE" in refusal["message"]
    assert [c["address"] for c in run.plan["changes"]] == [f"rds_encryption.{instance}"]
