"""TDE's documented prerequisites, read-only instances and minor version upgrades, through the
real SDK (docs/emulator.md, "RDS: TDE"): PostgreSQL 10 or later, cloud disks, minor engine
version 20221030 or later on the primary and on every attached read-only instance, KMS
activated; UpgradeDBInstanceKernelVersion on the emulated clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_rds20140815 import models as m

from reconciler.emulator.clock import iso, parse_iso
from reconciler.emulator.rds import kernel
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.emulator.conftest import seed_kms_instances
from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    RESTART_SECONDS,
    advance,
    attribute,
    authorize_rds,
    create_key,
    running_instance,
    signature,
    status,
)

PRIMARY, OLD_READER = "pgm-bp1roprimary0001", "pgm-bp1roreader000001"
READY, READY_READER = "pgm-bp1roready000001", "pgm-bp1roready000002"
OLD = "rds_postgres_1600_20220830"
NEWEST = f"rds_postgres_1600_{kernel.NEWEST_RELEASE}"
SEED = f"""
regions: [cn-hangzhou]
rds_instances:
  - id: {PRIMARY}
    region: cn-hangzhou
    class: pg.x4.large.2c
    read_only: [{{id: {OLD_READER}, kernel_version: {OLD}, class: pg.x4.medium.2c}}]
  - id: {READY}
    region: cn-hangzhou
    class: pg.x4.large.2c
    read_only: [{{id: {READY_READER}}}]
"""


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    seed = tmp_path / "world.yaml"
    seed.write_text(SEED)
    settings = Settings(restart_seconds=RESTART_SECONDS)
    with Emulator(state_path=":memory:", seed=str(seed), settings=settings) as emu:
        yield seed_kms_instances(emu)  # the keys of these tests live in a KMS instance


def _enable_tde(rds: Any, instance_id: str, key_id: str | None = None) -> Any:
    request = m.ModifyDBInstanceTDERequest(
        dbinstance_id=instance_id, tdestatus="Enabled", encryption_key=key_id
    )
    return rds.modify_dbinstance_tde(request)


def _tde_status(rds: Any, instance_id: str) -> str:
    request = m.DescribeDBInstanceTDERequest(dbinstance_id=instance_id)
    return str(rds.describe_dbinstance_tde(request).body.tdestatus)


def _upgrade(rds: Any, instance_id: str, target: str | None = None, **extra: Any) -> Any:
    request = m.UpgradeDBInstanceKernelVersionRequest(
        dbinstance_id=instance_id, target_minor_version=target, **extra
    )
    return rds.upgrade_dbinstance_kernel_version(request).body


def _kernel(rds: Any, instance_id: str) -> str:
    return str(attribute(rds, instance_id).current_kernel_version)


def _refused_and_unchanged(rds: Any, api_error: Any, instance_id: str, code: str) -> Any:
    """TDE refused with ``code``; the instance still Running without TDE."""
    error = api_error(lambda: _enable_tde(rds, instance_id))
    assert error.code == code
    assert status(rds, instance_id) == "Running"
    assert _tde_status(rds, instance_id) == "Disabled"
    return error


# --- read-only instances --------------------------------------------------------------------


def test_a_primary_lists_its_read_only_instances_and_each_names_its_primary(rds: Any) -> None:
    primary = attribute(rds, PRIMARY)
    assert primary.dbinstance_type == "Primary"
    assert [r.dbinstance_id for r in primary.read_only_dbinstance_ids.read_only_dbinstance_id] == [
        OLD_READER
    ]
    reader = attribute(rds, OLD_READER)
    assert (reader.dbinstance_type, reader.master_instance_id) == ("Readonly", PRIMARY)
    assert reader.read_only_dbinstance_ids.read_only_dbinstance_id == []
    assert reader.dbinstance_class == "pg.x4.medium.2c"


def test_describe_instances_lists_read_only_instances_and_filters_by_type(rds: Any) -> None:
    listed = rds.describe_dbinstances(m.DescribeDBInstancesRequest(region_id="cn-hangzhou"))
    items = {i.dbinstance_id: i for i in listed.body.items.dbinstance}
    assert items[OLD_READER].master_instance_id == PRIMARY
    ids = [r.dbinstance_id for r in items[READY].read_only_dbinstance_ids.read_only_dbinstance_id]
    assert ids == [READY_READER]
    request = m.DescribeDBInstancesRequest(region_id="cn-hangzhou", dbinstance_type="Readonly")
    readers = rds.describe_dbinstances(request).body.items.dbinstance
    assert sorted(i.dbinstance_id for i in readers) == sorted([OLD_READER, READY_READER])


def test_each_read_only_instance_has_its_own_minor_version(rds: Any) -> None:
    assert (_kernel(rds, PRIMARY), _kernel(rds, OLD_READER)) == (NEWEST, OLD)
    assert _kernel(rds, READY_READER) == NEWEST


def test_tde_is_refused_while_a_read_only_instance_runs_an_old_minor_version(
    rds: Any, admin: Any, api_error: Any
) -> None:
    error = _refused_and_unchanged(rds, api_error, PRIMARY, "UnsupportedMinorVersion")
    assert OLD_READER in error.message
    _upgrade(rds, OLD_READER, f"rds_postgres_1600_{kernel.TDE_MIN_RELEASE}")
    advance(admin, RESTART_SECONDS)
    _enable_tde(rds, PRIMARY)
    assert status(rds, PRIMARY) == "Rebooting"
    advance(admin, RESTART_SECONDS)
    assert (status(rds, PRIMARY), _tde_status(rds, PRIMARY)) == ("Running", "Enabled")


def test_tde_with_ready_read_only_instances_is_enabled(rds: Any, admin: Any) -> None:
    _enable_tde(rds, READY)
    advance(admin, RESTART_SECONDS)
    assert _tde_status(rds, READY) == "Enabled"
    assert _tde_status(rds, READY_READER) == "Enabled"  # a read-only follows its primary


def test_tde_on_a_read_only_instance_is_refused(rds: Any, api_error: Any) -> None:
    _refused_and_unchanged(rds, api_error, READY_READER, "IncorrectDBInstanceType")


# --- the instance's own prerequisites ---------------------------------------------------------


def test_tde_needs_postgresql_10_or_later(rds: Any, admin: Any, api_error: Any) -> None:
    instance_id = running_instance(rds, admin, engine_version="9.4")
    _refused_and_unchanged(rds, api_error, instance_id, "IncorrectEngineVersion")
    ten = running_instance(rds, admin, engine_version="10.0")
    _enable_tde(rds, ten)
    assert _tde_status(rds, ten) == "Enabled"


def test_tde_needs_cloud_disks(rds: Any, admin: Any, api_error: Any) -> None:
    local = running_instance(rds, admin, dbinstance_storage_type="local_ssd")
    _refused_and_unchanged(rds, api_error, local, "Unsupported.StorageType")
    standard_ssd = running_instance(rds, admin, dbinstance_storage_type="cloud_ssd")
    _enable_tde(rds, standard_ssd)  # a standard SSD is a cloud disk too
    assert _tde_status(rds, standard_ssd) == "Enabled"


def test_tde_needs_kms_activated(rds: Any, admin: Any, api_error: Any) -> None:
    instance_id = running_instance(rds, admin)
    admin.post("kms", {"status": "NotEnabled"})
    _refused_and_unchanged(rds, api_error, instance_id, "Forbidden.KmsServiceNotEnabled")


def test_tde_with_a_cmk_needs_the_role_even_when_everything_else_is_ready(
    rds: Any, kms: Any, ram: Any, api_error: Any
) -> None:
    key_id = create_key(kms)
    error = api_error(lambda: _enable_tde(rds, READY, key_id))
    assert error.code == "ByokNotAuthorizedToRds"
    authorize_rds(ram)
    _enable_tde(rds, READY, key_id)
    assert _tde_status(rds, READY) == "Enabled"


# --- UpgradeDBInstanceKernelVersion ------------------------------------------------------------


def test_an_upgrade_restarts_on_the_clock_then_runs_the_target(rds: Any, admin: Any) -> None:
    target = f"rds_postgres_1600_{kernel.TDE_MIN_RELEASE}"
    body = _upgrade(rds, OLD_READER, target)
    assert (body.dbinstance_name, body.target_minor_version) == (OLD_READER, target)
    assert body.task_id
    assert status(rds, OLD_READER) == "EngineVersionUpgrading"
    assert _kernel(rds, OLD_READER) == OLD  # the old version until the upgrade is done
    advance(admin, RESTART_SECONDS - 1)
    assert status(rds, OLD_READER) == "EngineVersionUpgrading"
    advance(admin, 1)
    assert (status(rds, OLD_READER), _kernel(rds, OLD_READER)) == ("Running", target)


def test_an_upgrade_without_a_target_goes_to_the_newest(rds: Any, admin: Any) -> None:
    assert _upgrade(rds, OLD_READER).target_minor_version == NEWEST
    advance(admin, RESTART_SECONDS)
    assert _kernel(rds, OLD_READER) == NEWEST


@pytest.mark.parametrize(
    ("target", "code"),
    [
        (None, "InvalidMinorVersionAlreadyLatest"),
        ("rds_postgres_1600_20221031", "InvalidMinorVerison.NotFound"),  # not a release
        ("rds_postgres_1500_20240830", "InvalidMinorVerison.NotFound"),  # another major
        ("16.4", "InvalidMinorVerison.NotFound"),
        (NEWEST, "InvalidMinorVersionLowerThanInstance"),  # where it already is
    ],
)
def test_an_upgrade_needs_a_newer_existing_version(
    rds: Any, api_error: Any, target: str | None, code: str
) -> None:
    error = api_error(lambda: _upgrade(rds, PRIMARY, target))
    assert (error.status_code, error.code) == (400, code)
    assert (status(rds, PRIMARY), _kernel(rds, PRIMARY)) == ("Running", NEWEST)


def test_a_downgrade_is_refused(rds: Any, admin: Any, api_error: Any) -> None:
    _upgrade(rds, OLD_READER, "rds_postgres_1600_20240830")
    advance(admin, RESTART_SECONDS)
    error = api_error(
        lambda: _upgrade(rds, OLD_READER, f"rds_postgres_1600_{kernel.TDE_MIN_RELEASE}")
    )
    assert error.code == "InvalidMinorVersionLowerThanInstance"


def test_a_specified_time_delays_the_upgrade(rds: Any, admin: Any, api_error: Any) -> None:
    now = parse_iso(admin.get("clock")["now"])
    later = iso(now + timedelta(hours=1))
    _upgrade(rds, OLD_READER, upgrade_time="SpecifyTime", switch_time=later)
    assert status(rds, OLD_READER) == "Running"  # not started: other changes still allowed
    advance(admin, 3600)
    assert status(rds, OLD_READER) == "EngineVersionUpgrading"
    advance(admin, RESTART_SECONDS)
    assert _kernel(rds, OLD_READER) == NEWEST
    error = api_error(lambda: _upgrade(rds, PRIMARY, NEWEST, upgrade_time="SpecifyTime"))
    assert error.code == "InvalidParameter"  # SpecifyTime without SwitchTime


@pytest.mark.parametrize("start", ["00:15", "23:30"])
def test_a_maintenance_window_upgrade_waits_for_the_window(
    rds: Any, admin: Any, start: str
) -> None:
    """Whatever the hour the emulated clock starts at (it starts at the wall clock's), and
    however slow the machine: the emulated clock runs on with the wall clock between two calls,
    so the check before the window keeps a margin of minutes, not a second."""
    hour, minute = map(int, start.split(":"))
    today = parse_iso(admin.get("clock")["now"])
    start_at = (today + timedelta(days=1)).replace(hour=hour, minute=minute, second=0)
    now = parse_iso(admin.post("clock", {"advance_to": iso(start_at)})["now"])
    opens = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    closes = opens + timedelta(hours=1)
    window = f"{opens:%H:%M}Z-{closes:%H:%M}Z"
    rds.modify_dbinstance_maintain_time(
        m.ModifyDBInstanceMaintainTimeRequest(dbinstance_id=OLD_READER, maintain_time=window)
    )
    _upgrade(rds, OLD_READER, upgrade_time="MaintainTime")
    margin = 300
    advance(admin, (opens - now).total_seconds() - margin)
    assert (status(rds, OLD_READER), _kernel(rds, OLD_READER)) == ("Running", OLD)
    advance(admin, margin + RESTART_SECONDS)
    assert _kernel(rds, OLD_READER) == NEWEST


def test_an_upgrade_needs_a_running_postgresql_instance_on_cloud_disks(
    rds: Any, admin: Any, api_error: Any
) -> None:
    _upgrade(rds, OLD_READER)
    assert api_error(lambda: _upgrade(rds, OLD_READER)).code == "IncorrectDBInstanceState"
    local = running_instance(rds, admin, dbinstance_storage_type="local_ssd")
    assert api_error(lambda: _upgrade(rds, local)).code == "Unsupported.StorageType"
    mssql = running_instance(
        rds,
        admin,
        engine="SQLServer",
        engine_version="2019_std_ha",
        dbinstance_class="mssql.x4.medium.s2",
    )
    assert api_error(lambda: _upgrade(rds, mssql)).code == "EngineNotSupported"


def test_restart_reboots_on_the_clock(rds: Any, admin: Any, api_error: Any) -> None:
    rds.restart_dbinstance(m.RestartDBInstanceRequest(dbinstance_id=PRIMARY))
    assert status(rds, PRIMARY) == "Rebooting"
    error = api_error(
        lambda: rds.restart_dbinstance(m.RestartDBInstanceRequest(dbinstance_id=PRIMARY))
    )
    assert error.code == "IncorrectDBInstanceState"
    advance(admin, RESTART_SECONDS)
    assert status(rds, PRIMARY) == "Running"


def test_a_seed_refuses_an_unknown_read_only_field(tmp_path: Path) -> None:
    from reconciler.emulator.seeds.build import SeedError

    seed = tmp_path / "bad.yaml"
    seed.write_text(
        "rds_instances:\n"
        "  - {id: pgm-bp1x, region: cn-hangzhou, class: pg.x4.large.2c,\n"
        "     read_only: [{id: pgm-bp1y, tde: service}]}\n"
    )
    with (
        pytest.raises(SeedError, match=r"read_only\[0\]: unknown field\(s\) tde"),
        Emulator(state_path=":memory:", seed=str(seed)),
    ):
        pass
