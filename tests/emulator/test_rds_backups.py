"""Backup sets (rds/backups.py) through the official SDK: DescribeBackups and CreateBackup as the
SDK models shape them, each set with the disk key of its day, daily automatic sets on the
emulated clock, expiry, paging, seeds' sets, and the documented errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_rds20140815 import models as m
from Tea.exceptions import TeaException

from reconciler.emulator.runtime import Settings
from reconciler.emulator.seeds import apply_seed
from reconciler.emulator.server import Emulator
from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    REGION,
    RESTART_SECONDS,
    advance,
    authorize_rds,
    create_key,
    emulator,
    running_instance,
    set_key,
    signature,
)

DAY = 86400.0


def backups(rds: Any, instance_id: str, **fields: Any) -> Any:
    request = m.DescribeBackupsRequest(dbinstance_id=instance_id, **fields)
    return rds.describe_backups(request).body


def sets(rds: Any, instance_id: str) -> list[Any]:
    return list(backups(rds, instance_id, page_size=100).items.backup or [])


def key_of(backup: Any) -> str | None:
    return json.loads(backup.encryption).get("EncryptionKey")


def create_backup(rds: Any, instance_id: str, **fields: Any) -> str:
    request = m.CreateBackupRequest(dbinstance_id=instance_id, **fields)
    return str(rds.create_backup(request).body.backup_job_id)


@pytest.fixture
def on_cmk(rds: Any, kms: Any, ram: Any, admin: Any) -> tuple[str, str, str]:
    """(instance on CMK a, a, another tagged CMK b)."""
    authorize_rds(ram)
    a, b = create_key(kms), create_key(kms)
    instance_id = running_instance(rds, admin, encryption_key=a)
    return instance_id, a, b


def test_a_manual_set_carries_the_disk_key_and_expires(rds: Any, admin: Any, on_cmk) -> None:  # type: ignore[no-untyped-def]
    instance_id, a, _ = on_cmk
    job = create_backup(rds, instance_id, backup_method="Snapshot")
    [backup] = sets(rds, instance_id)
    assert (backup.backup_id, backup.dbinstance_id, backup.backup_status) == (
        job,
        instance_id,
        "Success",
    )
    assert (backup.backup_method, backup.backup_mode, key_of(backup)) == ("Snapshot", "Manual", a)
    assert backup.expect_expire_time > backup.backup_start_time
    advance(admin, 7 * DAY - 60)  # daily sets appear meanwhile
    assert job in {b.backup_id for b in sets(rds, instance_id)}
    advance(admin, 120)
    assert job not in {b.backup_id for b in sets(rds, instance_id)}


def test_daily_sets_keep_the_key_of_their_day(rds: Any, admin: Any, on_cmk) -> None:  # type: ignore[no-untyped-def]
    instance_id, a, b = on_cmk
    assert sets(rds, instance_id) == []  # the first daily set comes a day after creation
    advance(admin, DAY)
    [first] = sets(rds, instance_id)
    assert (first.backup_mode, first.backup_initiator, key_of(first)) == ("Automated", "System", a)
    set_key(rds, instance_id, b)
    advance(admin, 2 * DAY)  # the change ends within the first of these days
    found = sorted(sets(rds, instance_id), key=lambda s: s.backup_start_time)
    assert [key_of(s) for s in found] == [a, b, b]
    advance(admin, 7 * DAY)  # kept 7 days: the one on a is gone
    assert {key_of(s) for s in sets(rds, instance_id)} == {b}
    assert len(sets(rds, instance_id)) == 7


def test_an_unencrypted_instance_says_so(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    create_backup(rds, instance_id, backup_method="Snapshot")
    [backup] = sets(rds, instance_id)
    assert json.loads(backup.encryption) == {"EncryptionType": "None"}


def test_pages_are_30_50_or_100_newest_first(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    made = [create_backup(rds, instance_id) for _ in range(35)]
    first = backups(rds, instance_id)  # default page size 30
    assert (first.total_record_count, first.page_record_count, first.page_number) == (
        "35",
        "30",
        "1",
    )
    second = backups(rds, instance_id, page_number=2)
    listed = [b.backup_id for b in [*first.items.backup, *second.items.backup]]
    assert sorted(listed) == sorted(made) and len(set(listed)) == 35
    assert listed[0] == made[-1]  # the newest first
    with pytest.raises(TeaException) as error:
        backups(rds, instance_id, page_size=10)
    assert error.value.code == "InvalidParameter"


def test_retention_and_forever(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    kept = create_backup(rds, instance_id, backup_retention_period=-1)
    [backup] = sets(rds, instance_id)
    assert backup.backup_id == kept and backup.expect_expire_time is None
    advance(admin, 800 * DAY)
    assert kept in {b.backup_id for b in sets(rds, instance_id)}
    with pytest.raises(TeaException) as error:
        create_backup(rds, instance_id, backup_retention_period=3)
    assert error.value.code == "InvalidParameter"


def test_errors(rds: Any, admin: Any) -> None:
    with pytest.raises(TeaException) as missing:
        backups(rds, "pgm-bp1nosuchinstance")
    assert missing.value.code == "InvalidDBInstanceId.NotFound"
    instance_id = running_instance(rds, admin)
    with pytest.raises(TeaException) as method:
        create_backup(rds, instance_id, backup_method="Tape")
    assert method.value.code == "InvalidParameter"


def test_a_seed_declares_old_sets_on_a_key_no_instance_uses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "world.yaml"
    seed.write_text(
        """
regions: [cn-hangzhou]
kms_keys:
  - {region: cn-hangzhou, aliases: [alias/old], tags: {acs:rds:instance-encryption: "true"}}
rds_instances:
  - id: pgm-bp1seeded00000001
    region: cn-hangzhou
    class: pg.x4.large.2c
    encryption: service
    backups:
      - {key: alias/old, taken_days_ago: 10, expires_in_days: 2}
      - {key: off, taken_days_ago: 3}
"""
    )
    with Emulator(":memory:", settings=Settings(restart_seconds=0)) as emu:
        apply_seed(emu, str(seed))
        from tests.emulator.conftest import AdminClient, sdk_client

        rds, admin = sdk_client("rds", emu.endpoint), AdminClient(emu.base_url)
        found = sets(rds, "pgm-bp1seeded00000001")
        assert sorted(json.loads(b.encryption).get("EncryptionType") for b in found) == [
            "CloudDisk",
            "None",
        ]
        [on_old] = [b for b in found if key_of(b)]
        assert on_old.expect_expire_time is not None
        advance(admin, 2 * DAY + 60)
        seeded = [b for b in sets(rds, "pgm-bp1seeded00000001") if b.backup_mode == "Manual"]
        assert [key_of(b) for b in seeded] == [None]  # the daily sets are on the service key


def test_a_seed_backup_on_an_unknown_key_is_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from reconciler.emulator.seeds import SeedError

    seed = tmp_path / "world.yaml"
    seed.write_text(
        "regions: [cn-hangzhou]\nrds_instances:\n  - {id: pgm-bp1seeded00000002, region: "
        "cn-hangzhou, class: pg.x4.large.2c, backups: [{key: alias/none}]}\n"
    )
    with Emulator(":memory:") as emu, pytest.raises(SeedError, match="backups\\[0\\]"):
        apply_seed(emu, str(seed))
