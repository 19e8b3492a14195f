"""The users of a key come from the cloud's own census (DescribeKmsAssociateResources) and the
task center (DescribeHistoryTasks): an instance switching to a key, or scheduled to, still
reports its old key in DescribeDBInstanceEncryptionKey, yet disabling the key would lock it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import plan_json
from tests.e2e.test_fail_closed import _ram_in_place

SWITCH_SECONDS = 3600
TAG = {"acs:rds:instance-encryption": "true"}


@pytest.fixture
def slow() -> Iterator[Emulator]:
    """Encryption changes take an hour of emulated time, which never passes by itself."""
    with Emulator(":memory:", settings=Settings(restart_seconds=SWITCH_SECONDS)) as emu:
        yield emu


def _switch(endpoint: str, instance_id: str, key_id: str, mode: str) -> None:
    from alibabacloud_rds20140815 import models

    world.rds(endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=instance_id,
            config_name="encryptionKey",
            config_value=key_id,
            switch_time_mode=mode,
        )
    )


def _window_in_two_hours(endpoint: str, instance_id: str) -> None:
    from alibabacloud_rds20140815 import models

    now = world.admin(endpoint, "GET", "clock")["now"]
    start = (int(now[11:13]) + 2) % 24
    world.rds(endpoint).modify_dbinstance_maintain_time(
        models.ModifyDBInstanceMaintainTimeRequest(
            dbinstance_id=instance_id, maintain_time=f"{start:02d}:00Z-{(start + 1) % 24:02d}:00Z"
        )
    )


def _status(endpoint: str, instance_id: str) -> str:
    from alibabacloud_rds20140815 import models

    body = world.rds(endpoint).describe_dbinstance_attribute(
        models.DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
    )
    return str(body.body.items.dbinstance_attribute[0].dbinstance_status)


@pytest.fixture
def moving(slow: Emulator) -> tuple[str, str, str]:
    """(endpoint, instance on the service key, key alias/rds-new it may move to)."""
    endpoint = slow.endpoint
    _ram_in_place(endpoint)
    key_id = world.create_key(endpoint, alias="alias/rds-new", tags=TAG)
    instance = world.create_instance(endpoint, encryption_key="ServiceKey")
    world.admin(endpoint, "POST", "clock", {"advance_seconds": SWITCH_SECONDS + 1})
    assert _status(endpoint, instance) == "Running"
    return endpoint, instance, key_id


def _disable_spec(write_spec) -> str:  # type: ignore[no-untyped-def]
    return write_spec({"kms_keys": {"new": {"alias": "alias/rds-new", "state": "disabled"}}})


@pytest.mark.parametrize("mode", ["Immediate", "MaintainTime"])
def test_a_key_an_instance_is_switching_to_is_in_use(moving, write_spec, mode: str) -> None:  # type: ignore[no-untyped-def]
    endpoint, instance, key_id = moving
    if mode == "MaintainTime":
        _window_in_two_hours(endpoint, instance)
    _switch(endpoint, instance, key_id, mode)
    expected = "CONFIG_ENCRYPTING" if mode == "Immediate" else "Running"
    assert _status(endpoint, instance) == expected
    run = plan_json(endpoint, _disable_spec(write_spec), "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    [refusal] = run.plan["refusals"]
    assert refusal["code"] == "KeyInUse" and instance in refusal["message"]
    assert not [c for c in run.plan["changes"] if c["address"] == "kms_key.new"]


def test_a_scheduled_change_is_shown_and_not_planned_again(moving, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint, instance, key_id = moving
    spec = write_spec(
        {
            "defaults": {"restart": "maintenance-window"},
            "kms_keys": {"new": {"alias": "alias/rds-new"}},
            "instances": {instance: {"encryption": {"key": "new"}}},
        }
    )
    first = plan_json(endpoint, spec, "--detailed-exitcode")
    assert first.exit_code == 2, first.stdout + first.stderr
    assert [c["address"] for c in first.plan["changes"]] == [f"rds_encryption.{instance}"]

    _window_in_two_hours(endpoint, instance)
    _switch(endpoint, instance, key_id, "MaintainTime")  # as apply submits it
    again = plan_json(endpoint, spec, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.plan["changes"] == []
    [pending] = [w for w in again.plan["warnings"] if w["code"] == "ChangeAlreadyPending"]
    assert "scheduled" in pending["message"] and " at 20" in pending["message"]


def test_a_pending_change_to_another_value_is_refused(moving, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint, instance, key_id = moving
    _switch(endpoint, instance, key_id, "Immediate")
    spec = write_spec({"instances": {instance: {"encryption": "disabled"}}})
    run = plan_json(endpoint, spec)
    assert run.exit_code == 1
    assert run.codes() == {"EncryptionChangePending"}
