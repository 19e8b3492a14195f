"""The cloud's own census of encryption changes, through the official SDK:
DescribeHistoryTasks (the task center: every ModifyDBInstanceConfig(encryptionKey) is a task,
Scheduled / Running / Succeed / Canceled) and DescribeKmsAssociateResources (every instance
using a key: on it, switching to it, or scheduled to switch to it), plus the admin view of
tasks (GET/POST /_emulator/tasks)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_rds20140815 import models as m

from tests.emulator.conftest import sdk_client
from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    REGION,
    RESTART_SECONDS,
    advance,
    authorize_rds,
    create_instance,
    create_key,
    emulator,
    running_instance,
    set_key,
    signature,
    status,
)

ISO = "%Y-%m-%dT%H:%M:%SZ"


def now_of(admin: Any) -> datetime:
    return datetime.strptime(admin.get("clock")["now"], ISO).replace(tzinfo=UTC)


def history(rds: Any, admin: Any, **filters: Any) -> Any:
    """DescribeHistoryTasks over [now - 1 day, now + 2 days] unless the filters say otherwise."""
    now = now_of(admin)
    fields: dict[str, Any] = {
        "region_id": REGION,
        "from_start_time": (now - timedelta(days=1)).strftime(ISO),
        "to_start_time": (now + timedelta(days=2)).strftime(ISO),
    }
    fields.update(filters)
    return rds.describe_history_tasks(m.DescribeHistoryTasksRequest(**fields)).body


def only_task(rds: Any, admin: Any, **filters: Any) -> Any:
    body = history(rds, admin, **filters)
    assert body.total_count == 1 and len(body.items) == 1, body.to_map()
    return body.items[0]


def detail(task: Any) -> dict[str, Any]:
    return dict(json.loads(task.task_detail))


def service_key_id(kms: Any) -> str:
    request = kms_models.DescribeKeyRequest(key_id="alias/acs/rds")
    return str(kms.describe_key(request).body.key_metadata.key_id)


def window_hours_ahead(rds: Any, admin: Any, instance_id: str, hours: int = 2) -> float:
    """Give the instance a one-hour window opening ``hours`` from now (on the hour); return the
    seconds until it opens."""
    now = now_of(admin)
    start_hour = (now.hour + hours) % 24
    second_of_day = now.hour * 3600 + now.minute * 60 + now.second
    rds.modify_dbinstance_maintain_time(
        m.ModifyDBInstanceMaintainTimeRequest(
            dbinstance_id=instance_id,
            maintain_time=f"{start_hour:02d}:00Z-{(start_hour + 1) % 24:02d}:00Z",
        )
    )
    return float((start_hour * 3600 - second_of_day) % 86400)


def associated(rds: Any, key_id: str) -> dict[str, tuple[str, str, str]]:
    request = m.DescribeKmsAssociateResourcesRequest(
        region_id=REGION,
        kms_resource_id=key_id,
        kms_resource_type="key",
        kms_resource_user="1234567890123456",  # required (SDK)
    )
    body = rds.describe_kms_associate_resources(request).body
    listed = {
        i.dbinstance_name: (i.engine, i.key_used_by, i.status) for i in body.associate_dbinstances
    }
    assert body.associate_status is bool(listed)
    return listed


# --- DescribeHistoryTasks ---------------------------------------------------------------------


def test_an_immediate_change_is_a_running_task_that_succeeds(
    rds: Any, kms: Any, admin: Any
) -> None:
    instance_id = running_instance(rds, admin)
    assert history(rds, admin).total_count == 0
    started = now_of(admin)
    set_key(rds, instance_id, "ServiceKey")
    task = only_task(rds, admin)
    assert (task.instance_id, task.status, task.task_type) == (
        instance_id,
        "Running",
        "ModifyDBInstanceConfig",
    )
    assert abs(datetime.strptime(task.start_time, ISO).replace(tzinfo=UTC) - started).seconds < 5
    assert task.end_time == "" and 0 <= task.progress < 5 and task.remain_time > 0
    assert task.task_id.startswith("t-") and task.region_id == REGION
    assert detail(task) == {
        "ConfigName": "encryptionKey",
        "ConfigValue": "ServiceKey",
        "SwitchTimeMode": "Immediate",
        "EncryptionKey": service_key_id(kms),
        "KeyType": "ServiceKey",
        "SourceEncryptionKey": "",
    }
    advance(admin, RESTART_SECONDS / 2)
    halfway = only_task(rds, admin)
    assert halfway.status == "Running" and 40 <= halfway.progress <= 60
    assert 0 < halfway.remain_time <= RESTART_SECONDS / 2 + 5
    advance(admin, RESTART_SECONDS / 2)
    done = only_task(rds, admin)
    assert (done.status, done.progress, done.remain_time) == ("Succeed", 100, 0)
    assert done.end_time and done.task_id == task.task_id


def test_a_maintain_time_change_is_scheduled_with_its_start_time(
    rds: Any, kms: Any, ram: Any, admin: Any
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    until = window_hours_ahead(rds, admin, instance_id)
    # The window opens on the hour; the emulated clock follows real time, so a second may pass
    # between reading it here and in window_hours_ahead: floor to the hour, not add exactly.
    opens = (now_of(admin) + timedelta(seconds=until + 30)).replace(minute=0, second=0)
    set_key(rds, instance_id, key_id, switch_time_mode="MaintainTime")
    task = only_task(rds, admin)
    assert (task.status, task.progress, task.end_time) == ("Scheduled", 0, "")
    assert task.start_time == opens.strftime(ISO)
    assert detail(task)["EncryptionKey"] == key_id and detail(task)["KeyType"] == "CMK"
    assert detail(task)["SwitchTimeMode"] == "MaintainTime"
    advance(admin, until + 1)
    assert only_task(rds, admin).status == "Running"
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"
    advance(admin, RESTART_SECONDS)
    assert only_task(rds, admin).status == "Succeed"


def test_a_replaced_or_needless_scheduled_change_is_canceled(
    rds: Any, kms: Any, ram: Any, admin: Any
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    window_hours_ahead(rds, admin, instance_id)
    set_key(rds, instance_id, key_id, switch_time_mode="MaintainTime")
    set_key(rds, instance_id, "ServiceKey", switch_time_mode="MaintainTime")  # last one wins
    items = {detail(t)["ConfigValue"]: t.status for t in history(rds, admin).items}
    assert items == {key_id: "Canceled", "ServiceKey": "Scheduled"}
    set_key(rds, instance_id, "disabled")  # already off: nothing to do, the schedule is dropped
    statuses = sorted(t.status for t in history(rds, admin).items)
    assert statuses == ["Canceled", "Canceled"]
    canceled = history(rds, admin, status="Canceled").items
    assert all(t.end_time for t in canceled)


def test_deleting_an_instance_cancels_its_scheduled_change(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    window_hours_ahead(rds, admin, instance_id)
    set_key(rds, instance_id, "ServiceKey", switch_time_mode="MaintainTime")
    rds.delete_dbinstance(m.DeleteDBInstanceRequest(dbinstance_id=instance_id))
    assert only_task(rds, admin).status == "Canceled"


def test_filters_and_paging(rds: Any, admin: Any) -> None:
    ids = [create_instance(rds) for _ in range(12)]
    advance(admin, RESTART_SECONDS)
    for instance_id in ids[:11]:
        set_key(rds, instance_id, "ServiceKey")
    window_hours_ahead(rds, admin, ids[11])
    set_key(rds, ids[11], "ServiceKey", switch_time_mode="MaintainTime")
    first = history(rds, admin)
    assert (first.total_count, first.page_number, first.page_size, len(first.items)) == (
        12,
        1,
        10,
        10,
    )
    second = history(rds, admin, page_number=2)
    assert len(second.items) == 2
    seen = [t.task_id for t in first.items + second.items]
    assert len(set(seen)) == 12
    assert len(history(rds, admin, page_size=100).items) == 12
    assert history(rds, admin, status="Scheduled").items[0].instance_id == ids[11]
    assert history(rds, admin, status="Running").total_count == 11
    assert history(rds, admin, status="Running,Scheduled").total_count == 12
    assert history(rds, admin, status="Succeed").total_count == 0
    assert history(rds, admin, instance_id=f"{ids[0]},{ids[1]}").total_count == 2
    task_id = seen[0]
    assert only_task(rds, admin, task_id=task_id).task_id == task_id
    assert history(rds, admin, task_type="ModifyDBInstanceConfig").total_count == 12
    assert history(rds, admin, task_type="RestartDBInstance").total_count == 0
    now = now_of(admin)
    # the start time range: the scheduled change starts in the future
    past_only = history(rds, admin, to_start_time=(now + timedelta(minutes=1)).strftime(ISO))
    assert past_only.total_count == 11
    later = history(rds, admin, from_start_time=(now + timedelta(minutes=1)).strftime(ISO))
    assert [t.instance_id for t in later.items] == [ids[11]]
    # execution time: running tasks have run for a moment, the scheduled one for 0 seconds
    advance(admin, 60)
    assert history(rds, admin, from_exec_time=30).total_count == 11
    assert history(rds, admin, to_exec_time=30).total_count == 1


def test_tasks_are_regional_and_kept_thirty_days(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, "ServiceKey")
    assert history(rds, admin, region_id="cn-shanghai").total_count == 0
    advance(admin, 31 * 86400)
    long_ago = (now_of(admin) - timedelta(days=60)).strftime(ISO)
    assert history(rds, admin, from_start_time=long_ago).total_count == 0


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"from_start_time": None}, "MissingParameter"),
        ({"to_start_time": None}, "MissingParameter"),
        ({"from_start_time": "yesterday"}, "InvalidParameter"),
        ({"page_size": 5}, "InvalidParameter"),
        ({"page_size": 101}, "InvalidParameter"),
        ({"page_number": 0}, "InvalidParameter"),
        ({"status": "Running,Sleeping"}, "InvalidParameter"),
        ({"instance_type": "Cluster"}, "InvalidParameter"),
        ({"instance_id": ",".join(f"pgm-{i}" for i in range(31))}, "InvalidParameter"),
    ],
)
def test_bad_parameters(
    rds: Any, admin: Any, api_error: Any, fields: dict[str, Any], code: str
) -> None:
    error = api_error(lambda: history(rds, admin, **fields))
    assert (error.status_code, error.code) == (400, code)


# --- DescribeKmsAssociateResources ------------------------------------------------------------


def test_every_user_of_a_key_is_listed(rds: Any, kms: Any, ram: Any, admin: Any) -> None:
    authorize_rds(ram)
    key_id, other_key = create_key(kms), create_key(kms)
    on_it, switching, scheduled, elsewhere, unrelated = (
        running_instance(rds, admin) for _ in range(5)
    )
    set_key(rds, on_it, key_id)
    set_key(rds, elsewhere, other_key)
    advance(admin, RESTART_SECONDS)
    mysql = create_instance(
        rds, engine="MySQL", engine_version="8.0", dbinstance_class="mysql.x4.large.2c",
        encryption_key=key_id,
    )  # fmt: skip
    set_key(rds, switching, key_id)
    window_hours_ahead(rds, admin, scheduled)
    set_key(rds, scheduled, key_id, switch_time_mode="MaintainTime")
    assert associated(rds, key_id) == {
        on_it: ("PostgreSQL", "DiskEncryption", "ACTIVATION"),
        switching: ("PostgreSQL", "DiskEncryption", "INS_MAINTAINING"),
        scheduled: ("PostgreSQL", "DiskEncryption", "ACTIVATION"),
        mysql: ("MySQL", "DiskEncryption", "CREATING"),
    }
    assert unrelated not in associated(rds, key_id)
    assert set(associated(rds, other_key)) == {elsewhere}


def test_a_switch_away_keeps_the_old_key_in_use_until_it_is_done(
    rds: Any, kms: Any, ram: Any, admin: Any
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, key_id)
    advance(admin, RESTART_SECONDS)
    window_hours_ahead(rds, admin, instance_id)
    set_key(rds, instance_id, "ServiceKey", switch_time_mode="MaintainTime")
    assert set(associated(rds, key_id)) == {instance_id}  # still on it until the window
    assert set(associated(rds, service_key_id(kms))) == {instance_id}  # and scheduled to leave
    set_key(rds, instance_id, key_id)  # already on it: the scheduled switch away is dropped
    assert set(associated(rds, service_key_id(kms))) == set()


def test_a_cancelled_schedule_no_longer_counts(rds: Any, kms: Any, ram: Any, admin: Any) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    window_hours_ahead(rds, admin, instance_id)
    set_key(rds, instance_id, key_id, switch_time_mode="MaintainTime")
    assert set(associated(rds, key_id)) == {instance_id}
    set_key(rds, instance_id, "ServiceKey", switch_time_mode="MaintainTime")
    assert associated(rds, key_id) == {}


# --- admin ------------------------------------------------------------------------------------


def test_admin_shows_and_runs_a_scheduled_change(rds: Any, kms: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    until = window_hours_ahead(rds, admin, instance_id)
    set_key(rds, instance_id, "ServiceKey", switch_time_mode="MaintainTime")
    listed = admin.get("tasks")["tasks"]
    assert len(listed) == 1
    task = listed[0]
    assert (task["instance_id"], task["status"], task["target_key"]) == (
        instance_id,
        "Scheduled",
        service_key_id(kms),
    )
    assert abs(task["seconds_until_start"] - until) < 5
    ran = admin.post("tasks", {})  # to the start of the next scheduled change
    assert ran["task"]["status"] == "Running" and ran["task"]["task_id"] == task["task_id"]
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"
    done = admin.post("tasks", {"task_id": task["task_id"], "to": "end"})
    assert done["task"]["status"] == "Succeed"
    assert status(rds, instance_id) == "Running"


def test_admin_tasks_refuses_bad_requests(emulator: Any) -> None:  # noqa: F811
    import urllib.error
    import urllib.request

    def post(body: dict[str, Any]) -> int:
        request = urllib.request.Request(
            f"{emulator.base_url}/_emulator/tasks", data=json.dumps(body).encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    assert post({}) == 404  # nothing scheduled
    assert post({"task_id": "t-none"}) == 404
    assert post({"to": "middle"}) == 400


def test_v1_signed_clients_read_tasks_too(emulator: Any) -> None:  # noqa: F811
    rds = sdk_client("rds", emulator.endpoint, "v1")
    now = datetime.now(UTC)
    body = rds.describe_history_tasks(
        m.DescribeHistoryTasksRequest(
            region_id=REGION,
            from_start_time=(now - timedelta(days=1)).strftime(ISO),
            to_start_time=(now + timedelta(days=1)).strftime(ISO),
        )
    ).body
    assert (body.total_count, body.items) == (0, [])
