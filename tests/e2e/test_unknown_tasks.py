"""A task-center entry whose TaskDetail does not show that it leaves encryption alone is a
pending change of unknown target (issue 18, item 5b). Alibaba documents TaskDetail only as "the
task details" (docs/real-cloud.md): the tool takes a pending task as "not an encryption change"
only when its detail parses to a JSON object whose ConfigName names another setting. Every other
task of a managed instance refuses it (EncryptionChangePending, "unknown target"), and keeps any
key it may move to in use. The tasks are injected with the emulator's admin API
(POST /_emulator/tasks/other), read through the real SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e import world
from tests.e2e.conftest import plan_json

INSTANCE = "pgm-bp1gp00000000001"  # demo world: general-purpose, encryption off
SPEC = {
    "defaults": {"region": "cn-hangzhou"},
    "instances": {INSTANCE: {"encryption": {"key": "service"}}},
}
UNREADABLE = [
    "Upgrade the minor engine version to 20250630",  # plain text
    "",  # empty
    '{"ConfigName": "encryptionKey"',  # garbled JSON
    '["encryptionKey", "disabled"]',  # JSON, not an object
    json.dumps({"Action": "RestartDBInstance"}),  # an object without ConfigName
    json.dumps({"ConfigName": "encryptionKey"}),  # encryptionKey without its value
]


def _inject(endpoint: str, instance_id: str, detail: str, **extra: Any) -> dict[str, Any]:
    body = {"instance_id": instance_id, "task_type": "MinorVersionUpgrade", "task_detail": detail}
    return world.admin(endpoint, "POST", "tasks/other", {**body, **extra})["task"]


@pytest.mark.parametrize("detail", UNREADABLE)
def test_a_task_that_does_not_say_what_it_changes_refuses_its_instance(  # type: ignore[no-untyped-def]
    demo, write_spec, detail: str
) -> None:
    task = _inject(demo.endpoint, INSTANCE, detail, start_in_seconds=3600)
    run = plan_json(demo.endpoint, write_spec(SPEC), "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.plan["changes"] == []
    [refusal] = run.plan["refusals"]
    assert refusal["code"] == "EncryptionChangePending"
    assert refusal["address"] == f"rds_encryption.{INSTANCE}"
    message = refusal["message"]
    assert "unknown target" in message
    assert f"task {task['task_id']} of type MinorVersionUpgrade, scheduled at" in message
    assert "wait until it has run, or cancel it" in message and "plan again" in message


def test_a_running_task_of_unknown_target_says_to_wait(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    _inject(demo.endpoint, INSTANCE, "maintenance in progress")  # starts now: Running
    run = plan_json(demo.endpoint, write_spec(SPEC))
    assert run.exit_code == 1, run.stdout + run.stderr
    [refusal] = run.plan["refusals"]
    assert "unknown target" in refusal["message"] and "running" in refusal["message"]
    assert "wait until it has finished" in refusal["message"]


def test_a_task_that_names_another_setting_is_not_an_encryption_change(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    detail = json.dumps({"ConfigName": "maintainTime", "ConfigValue": "02:00Z-03:00Z"})
    _inject(demo.endpoint, INSTANCE, detail, start_in_seconds=3600)
    run = plan_json(demo.endpoint, write_spec(SPEC), "--detailed-exitcode")
    assert run.exit_code == 2, run.stdout + run.stderr
    assert run.plan["refusals"] == []
    assert [c["address"] for c in run.plan["changes"]] == [f"rds_encryption.{INSTANCE}"]


def test_a_task_of_another_instance_does_not_refuse_this_one(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    _inject(demo.endpoint, "pgm-bp1ded0000000001", "plain text", start_in_seconds=3600)
    run = plan_json(demo.endpoint, write_spec(SPEC))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.plan["refusals"] == []


def test_a_task_of_unknown_target_keeps_a_retiring_key_in_use(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    """An instance outside the spec, encrypted with the service key, has a task that may move
    it anywhere, so to the key the spec disables: disabling it could lock that instance."""
    world.create_key(
        emulator.endpoint, alias="alias/old", tags={"acs:rds:instance-encryption": "true"}
    )
    unmanaged = world.create_instance(emulator.endpoint)
    managed = world.create_instance(emulator.endpoint)  # its region's task center is read
    _inject(emulator.endpoint, unmanaged, "Switch over", start_in_seconds=3600)
    spec = write_spec(
        {
            "kms_keys": {"old": {"alias": "alias/old", "state": "disabled"}},
            "instances": {managed: {"encryption": "disabled"}},
        }
    )
    run = plan_json(emulator.endpoint, spec)
    assert run.exit_code == 1, run.stdout + run.stderr
    [refusal] = run.plan["refusals"]
    assert refusal["code"] == "KeyInUse"
    assert unmanaged in refusal["message"]
    assert "a pending change whose target could not be read" in refusal["message"]


def test_a_spec_that_only_retires_a_key_still_reads_its_region_s_task_center(  # type: ignore[no-untyped-def]
    emulator, write_spec
) -> None:
    """The plan shows the refusal the guard at the write would give: a spec with no instance in
    the key's region still reads that region's task center before it disables the key."""
    world.create_key(
        emulator.endpoint, alias="alias/old", tags={"acs:rds:instance-encryption": "true"}
    )
    unmanaged = world.create_instance(emulator.endpoint)
    _inject(emulator.endpoint, unmanaged, "Switch over", start_in_seconds=3600)
    spec = write_spec({"kms_keys": {"old": {"alias": "alias/old", "state": "disabled"}}})
    run = plan_json(emulator.endpoint, spec)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.plan["changes"] == []
    [refusal] = run.plan["refusals"]
    assert refusal["code"] == "KeyInUse"
    assert unmanaged in refusal["message"]


def test_the_admin_api_refuses_a_task_for_no_instance(emulator) -> None:  # type: ignore[no-untyped-def]
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as raised:
        _inject(emulator.endpoint, "pgm-bp1nothere000001", "text")
    assert raised.value.code == 404
