"""A change already running or scheduled in the task center (DescribeHistoryTasks) is a fact the
plan and the drift report act on, even when the instance matches the spec today: an operator's
decryption scheduled for the maintenance window (ModifyDBInstanceConfig ConfigValue=disabled
SwitchTimeMode=MaintainTime) is refused by plan and reported critical by drift."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import PlanRun, plan_json, run_cli
from tests.e2e.test_key_users import _window_in_two_hours

FORMATS = ("text", "json", "markdown", "junit", "sarif", "html")


def _schedule(endpoint: str, instance_id: str, value: str) -> str:
    """Submit an encryption change for the instance's maintenance window; return its task id."""
    from alibabacloud_rds20140815 import models

    _window_in_two_hours(endpoint, instance_id)
    world.rds(endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=instance_id,
            config_name="encryptionKey",
            config_value=value,
            switch_time_mode="MaintainTime",
        )
    )
    tasks = world.admin(endpoint, "GET", "tasks")["tasks"]
    [task] = [t for t in tasks if t["instance_id"] == instance_id and t["status"] == "Scheduled"]
    return str(task["task_id"])


def _drift(endpoint: str, folder: str, fmt: str) -> PlanRun:
    return run_cli("--endpoint", endpoint, "drift", folder, "--format", fmt)


@pytest.fixture
def decrypting(emulator, write_spec):  # type: ignore[no-untyped-def]
    """A world in sync with its spec, and a decryption of its CMK instance scheduled."""
    built = dw.build_cmk_world(emulator.endpoint)
    folder = write_spec(built.spec())
    assert plan_json(built.endpoint, folder, "--detailed-exitcode").exit_code == 0
    task_id = _schedule(built.endpoint, built.cmk_instance, "disabled")
    return built, folder, task_id


@pytest.mark.parametrize("extra", [(), ("--detailed-exitcode",)])
def test_plan_refuses_a_scheduled_decryption_of_an_instance_that_matches(  # type: ignore[no-untyped-def]
    decrypting, extra: tuple[str, ...]
) -> None:
    built, folder, task_id = decrypting
    run = plan_json(built.endpoint, folder, *extra)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.plan["changes"] == []
    [refusal] = run.plan["refusals"]
    assert refusal["code"] == "EncryptionChangePending"
    assert refusal["address"] == f"rds_encryption.{built.cmk_instance}"
    message = refusal["message"]
    assert task_id in message and "off" in message and " at 20" in message
    assert "scheduled" in message and "cancel" in message.lower()


def test_plan_text_names_the_task_and_fails(decrypting) -> None:  # type: ignore[no-untyped-def]
    built, folder, task_id = decrypting
    run = run_cli("--endpoint", built.endpoint, "plan", folder, "--detailed-exitcode")
    assert run.exit_code == 1
    assert "No changes" not in run.stdout
    assert "EncryptionChangePending" in run.stdout and task_id in run.stdout


def test_drift_reports_a_scheduled_decryption_as_critical(decrypting) -> None:  # type: ignore[no-untyped-def]
    built, folder, task_id = decrypting
    address = f"rds_encryption.{built.cmk_instance}"
    run = _drift(built.endpoint, folder, "json")
    assert run.exit_code == 2, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["summary"]["drift"] is True
    [item] = report["items"]
    assert (item["address"], item["severity"]) == (address, "critical")
    assert task_id in item["message"] and "off" in item["message"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_drift_format_shows_the_scheduled_decryption(decrypting, fmt: str) -> None:  # type: ignore[no-untyped-def]
    built, folder, task_id = decrypting
    run = _drift(built.endpoint, folder, fmt)
    assert run.exit_code == 2, (fmt, run.stdout + run.stderr)
    assert built.cmk_instance in run.stdout and task_id in run.stdout
    assert "critical" in run.stdout.lower()
    if fmt == "sarif":
        [result] = json.loads(run.stdout)["runs"][0]["results"]
        assert result["level"] == "error"
        assert result["properties"]["severity"] == "critical"
    if fmt == "junit":
        failures = ET.fromstring(run.stdout).iter("failure")
        assert [f.get("type") for f in failures] == ["changed.critical"]


def test_a_scheduled_move_to_the_service_key_is_high(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    built = dw.build_cmk_world(emulator.endpoint)
    folder = write_spec(built.spec())
    task_id = _schedule(built.endpoint, built.cmk_instance, "ServiceKey")
    run = _drift(built.endpoint, folder, "json")
    assert run.exit_code == 2
    [item] = json.loads(run.stdout)["items"]
    assert item["severity"] == "high" and task_id in item["message"]
    assert plan_json(built.endpoint, folder).codes() == {"EncryptionChangePending"}


def test_an_unmanaged_instance_s_scheduled_decryption_is_said_but_not_drift(  # type: ignore[no-untyped-def]
    emulator, write_spec
) -> None:
    """The spec claims nothing about it (exit 0 without --strict), yet the report says it."""
    built = dw.build_cmk_world(emulator.endpoint)
    doc = built.spec()
    del doc["instances"][built.service_instance]
    folder = write_spec(doc)
    task_id = _schedule(built.endpoint, built.service_instance, "disabled")
    run = _drift(built.endpoint, folder, "json")
    assert run.exit_code == 0, run.stdout + run.stderr
    [item] = json.loads(run.stdout)["items"]
    assert (item["kind"], item["severity"]) == ("unmanaged", "high")
    assert task_id in item["message"] and "change to off scheduled" in item["message"]
    assert run_cli("--endpoint", built.endpoint, "drift", folder, "--strict").exit_code == 2
