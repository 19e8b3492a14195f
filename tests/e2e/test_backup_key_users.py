"""Backups are key users (issue 18, build item 2): a backup set of an encrypted cloud disk is
encrypted with the key the instance had when it was taken, so after the instance moves off key
A its sets still need A until they expire. Disabling or deleting A is refused (KeyInUse, naming
the instances, the count and the last expiry); once the sets expired on the emulated clock the
plan goes ahead. Through the CLI, the emulator and the official SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e import world
from tests.e2e.conftest import plan_json
from tests.e2e.test_fail_closed import _ram_in_place, assert_stopped, persistent_fault

TAG = {"acs:rds:instance-encryption": "true"}
DAY = 86400
STATES = ["disabled", "pending-deletion"]


def _create_backup(endpoint: str, instance_id: str) -> str:
    from alibabacloud_rds20140815 import models

    request = models.CreateBackupRequest(dbinstance_id=instance_id, backup_method="Snapshot")
    return str(world.rds(endpoint).create_backup(request).body.backup_job_id)


def _backups(endpoint: str, instance_id: str) -> list[Any]:
    from alibabacloud_rds20140815 import models

    request = models.DescribeBackupsRequest(dbinstance_id=instance_id, page_size=100)
    return list(world.rds(endpoint).describe_backups(request).body.items.backup or [])


def _switch(endpoint: str, instance_id: str, value: str) -> None:
    from alibabacloud_rds20140815 import models

    world.rds(endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=instance_id,
            config_name="encryptionKey",
            config_value=value,
            switch_time_mode="Immediate",
        )
    )


def _advance(endpoint: str, seconds: float) -> None:
    world.admin(endpoint, "POST", "clock", {"advance_seconds": seconds})


@pytest.fixture
def moved_off(emulator) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """An instance that was on key A (alias/rds-old), backed up there, then moved to key B."""
    endpoint = emulator.endpoint
    _ram_in_place(endpoint)
    old = world.create_key(endpoint, alias="alias/rds-old", tags=TAG)
    new = world.create_key(endpoint, alias="alias/rds-new", tags=TAG)
    instance = world.create_instance(endpoint, encryption_key=old)
    backup = _create_backup(endpoint, instance)
    _switch(endpoint, instance, new)
    _advance(endpoint, 60)
    return {"endpoint": endpoint, "old": old, "new": new, "instance": instance, "backup": backup}


def _retire_old(write_spec, state: str, managed: str | None = None) -> str:  # type: ignore[no-untyped-def]
    doc: dict[str, Any] = {
        "defaults": {"region": "cn-hangzhou"},
        "kms_keys": {
            "old": {"alias": "alias/rds-old", "state": state},
            "new": {"alias": "alias/rds-new"},
        },
    }
    if managed:
        doc["instances"] = {managed: {"encryption": {"key": "new"}}}
    return write_spec(doc)


@pytest.mark.parametrize("state", STATES)
def test_a_key_an_instance_left_but_its_backup_needs_is_refused(
    moved_off, write_spec, state
) -> None:  # type: ignore[no-untyped-def]
    endpoint, instance = moved_off["endpoint"], moved_off["instance"]
    [backup] = [b for b in _backups(endpoint, instance) if b.backup_id == moved_off["backup"]]
    spec = _retire_old(write_spec, state, managed=instance)
    run = plan_json(endpoint, spec, "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    [refusal] = [r for r in run.plan["refusals"] if r["address"] == "kms_key.old"]
    assert refusal["code"] == "KeyInUse"
    message = refusal["message"]
    assert instance in message and "1 backup set" in message, message
    assert f"the last expires {backup.expect_expire_time}" in message, message
    assert not [c for c in run.plan["changes"] if c["address"] == "kms_key.old"]


def test_once_the_backup_expired_the_key_may_go(moved_off, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint, instance = moved_off["endpoint"], moved_off["instance"]
    spec = _retire_old(write_spec, "pending-deletion", managed=instance)
    _advance(endpoint, 7 * DAY + 120)  # the manual set is kept 7 days
    assert moved_off["backup"] not in {b.backup_id for b in _backups(endpoint, instance)}
    # The daily sets taken since are on the new key.
    keys = {json.loads(b.encryption)["EncryptionKey"] for b in _backups(endpoint, instance)}
    assert keys == {moved_off["new"]}
    run = plan_json(endpoint, spec, "--detailed-exitcode")
    assert run.exit_code == 2, run.stdout + run.stderr
    assert run.plan["refusals"] == []
    [change] = [c for c in run.plan["changes"] if c["address"] == "kms_key.old"]
    assert change["action"] == "delete"


def test_a_backup_of_an_instance_outside_the_spec_counts(moved_off, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint, instance = moved_off["endpoint"], moved_off["instance"]
    run = plan_json(endpoint, _retire_old(write_spec, "disabled"), "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    [refusal] = run.plan["refusals"]
    assert refusal["code"] == "KeyInUse" and instance in refusal["message"]
    assert "backup set" in refusal["message"]


def test_a_daily_backup_taken_before_the_switch_counts(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    """No manual backup at all: the automatic set of the day before the switch keeps key A."""
    endpoint = emulator.endpoint
    _ram_in_place(endpoint)
    old = world.create_key(endpoint, alias="alias/rds-old", tags=TAG)
    new = world.create_key(endpoint, alias="alias/rds-new", tags=TAG)
    instance = world.create_instance(endpoint, encryption_key=old)
    _advance(endpoint, DAY + 60)
    _switch(endpoint, instance, new)
    _advance(endpoint, 60)
    run = plan_json(endpoint, _retire_old(write_spec, "disabled"), "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    assert "1 backup set of " + instance in run.plan["refusals"][0]["message"]


def test_a_failed_backup_page_stops_the_plan(moved_off, write_spec) -> None:  # type: ignore[no-untyped-def]
    """Never "no backups": a DescribeBackups that fails stops the plan."""
    endpoint = moved_off["endpoint"]
    persistent_fault(endpoint, "rds:DescribeBackups", "InternalError", 500)
    run = plan_json(endpoint, _retire_old(write_spec, "disabled"))
    assert_stopped(run, action="DescribeBackups", code="InternalError", resource="page 1")


def test_a_key_switch_warns_until_when_its_backups_keep_the_old_key(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    _ram_in_place(endpoint)
    old = world.create_key(endpoint, alias="alias/rds-old", tags=TAG)
    world.create_key(endpoint, alias="alias/rds-new", tags=TAG)
    instance = world.create_instance(endpoint, encryption_key=old)
    _advance(endpoint, 60)
    _create_backup(endpoint, instance)
    [backup] = _backups(endpoint, instance)
    spec = write_spec(
        {
            "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
            "kms_keys": {"old": {"alias": "alias/rds-old"}, "new": {"alias": "alias/rds-new"}},
            "instances": {instance: {"encryption": {"key": "new"}}},
        }
    )
    run = plan_json(endpoint, spec, "--detailed-exitcode")
    assert run.exit_code == 2, run.stdout + run.stderr
    [warning] = [w for w in run.plan["warnings"] if w["code"] == "SnapshotsKeepOldKey"]
    assert old in warning["message"] and "today 1 backup set" in warning["message"]
    assert f"the last expires {backup.expect_expire_time}" in warning["message"]
