"""How RDS answers become facts, or errors: the parsers alone (the e2e tests drive them
through the SDK and the emulator)."""

from __future__ import annotations

import json

import pytest

from reconciler.cloud.rds import encryption_from_body, encryption_target, task_from_item


def _task(**over: object) -> dict:
    item = {
        "TaskId": "t-0000000000000001",
        "InstanceId": "pgm-bp1aaaa",
        "Status": "Scheduled",
        "TaskType": "ModifyDBInstanceConfig",
        "StartTime": "2024-01-01T18:00:00Z",
        "TaskDetail": json.dumps({"ConfigName": "encryptionKey", "ConfigValue": "key-abc12345"}),
    }
    return {**item, **over}


def test_an_encryption_task_names_its_target() -> None:
    task = task_from_item(_task())
    assert (task.instance_id, task.status, task.encryption_target) == (
        "pgm-bp1aaaa",
        "Scheduled",
        "key-abc12345",
    )
    assert task.start_time == "2024-01-01T18:00:00Z"


@pytest.mark.parametrize(
    ("value", "target"), [("serviceKey", "ServiceKey"), ("Disabled", "disabled")]
)
def test_target_spellings_are_normalised(value: str, target: str) -> None:
    assert encryption_target({"ConfigName": "encryptionKey", "ConfigValue": value}) == target


@pytest.mark.parametrize(
    "over",
    [
        {"TaskDetail": json.dumps({"ConfigName": "x"})},
        {"TaskDetail": json.dumps({"ConfigName": "maintainTime"}), "TaskType": "Other"},
        {"TaskDetail": {"ConfigName": "sslEnabled", "ConfigValue": "1"}},
    ],
)
def test_a_task_that_names_another_setting_has_no_target(over: dict) -> None:
    """The only way a task is "not an encryption change": its detail is an object whose
    ConfigName names another setting (an allow-list, docs/real-cloud.md)."""
    task = task_from_item(_task(**over))
    assert (task.encryption_target, task.target_unread) == (None, False)


@pytest.mark.parametrize(
    "over",
    [
        {"TaskDetail": json.dumps({"ConfigName": "encryptionKey"})},  # no ConfigValue
        {"TaskDetail": json.dumps({"ConfigName": "encryptionKey", "ConfigValue": ""})},
        {"TaskDetail": json.dumps({"ConfigName": "encryptionKey", "ConfigValue": 3})},
        {"TaskDetail": "{broken", "TaskType": "RestartDBInstance"},
        {"TaskDetail": "not json"},
        {"TaskDetail": "", "TaskType": "RestartDBInstance"},
        {"TaskDetail": "not json", "TaskType": "RestartDBInstance"},  # any type: still unread
        {"TaskDetail": None, "TaskType": "RestartDBInstance"},
        {"TaskDetail": None},
        {"TaskDetail": "[1, 2]"},
        {"TaskDetail": "null"},
        {"TaskDetail": json.dumps({"callerUid": "1"})},
        {"TaskDetail": json.dumps({"ConfigName": ""}), "TaskType": "MinorVersionUpgrade"},
    ],
)
def test_a_task_that_may_change_encryption_without_saying_to_what_is_unread(over: dict) -> None:
    """Kept as a fact, so the planner refuses only its instance (fail closed)."""
    task = task_from_item(_task(**over))
    assert (task.encryption_target, task.target_unread) == (None, True)


@pytest.mark.parametrize(
    "bad",
    [
        {"Status": "Succeed"},  # not asked for: the filter was not honoured
        {"TaskId": None},
    ],
)
def test_an_odd_task_is_an_error_not_a_fact(bad: dict) -> None:
    item = _task(**bad)
    if item.get("TaskId") is None:
        del item["TaskId"]
    with pytest.raises((KeyError, ValueError, TypeError)):
        task_from_item(item)


def test_encryption_answers() -> None:
    off = encryption_from_body({"RequestId": "r", "EncryptionKey": ""}, None)
    assert not off.enabled
    absent = encryption_from_body({"RequestId": "r"}, None)
    assert not absent.enabled  # documented: empty or absent means off
    entry = {"EncryptionKey": "key-s", "UsedBy": "DiskEncryption"}
    on = encryption_from_body(
        {"RequestId": "r", "EncryptionKey": "key-s", "EncryptionKeyList": [entry]}, "key-s"
    )
    assert (on.enabled, on.key_type) == (True, "ServiceKey")
    with pytest.raises(ValueError):  # a key no entry gives a use (tests/unit/cloud/test_key_list)
        encryption_from_body({"RequestId": "r", "EncryptionKey": "key-s"}, "key-s")
    with pytest.raises(ValueError):
        encryption_from_body({}, None)  # not an answer of the API
    with pytest.raises(TypeError):
        encryption_from_body({"RequestId": "r", "EncryptionKey": 5}, None)
