"""TDE on PostgreSQL through the real SDK: ModifyDBInstanceTDE / DescribeDBInstanceTDE, what TDE
adds to the key list and the census, and the minor engine version (docs/emulator.md, "RDS:
TDE")."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_rds20140815 import models as m
from Tea.exceptions import TeaException

from reconciler.emulator.rds import kernel
from reconciler.emulator.server import Emulator
from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    ACCOUNT,
    RESTART_SECONDS,
    advance,
    attribute,
    authorize_rds,
    create_key,
    emulator,
    encryption_key,
    running_instance,
    set_key,
    signature,
    status,
)


def _tde(rds: Any, instance_id: str, key_id: str | None = None, **extra: Any) -> Any:
    request = m.ModifyDBInstanceTDERequest(
        dbinstance_id=instance_id, tdestatus="Enabled", encryption_key=key_id, **extra
    )
    return rds.modify_dbinstance_tde(request)


def _describe_tde(rds: Any, instance_id: str) -> Any:
    return rds.describe_dbinstance_tde(m.DescribeDBInstanceTDERequest(dbinstance_id=instance_id))


def _census(rds: Any, key_id: str) -> list[tuple[str, str]]:
    request = m.DescribeKmsAssociateResourcesRequest(
        kms_resource_id=key_id, kms_resource_type="key", kms_resource_user=ACCOUNT
    )
    body = rds.describe_kms_associate_resources(request).body
    return [(i.dbinstance_name, i.key_used_by) for i in body.associate_dbinstances]


def test_a_new_instance_runs_the_newest_minor_version(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    found = attribute(rds, instance_id).current_kernel_version
    assert found == f"rds_postgres_1600_{kernel.NEWEST_RELEASE}"


def test_tde_with_a_cmk_restarts_and_is_described(rds: Any, kms: Any, ram: Any, admin: Any) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    assert _describe_tde(rds, instance_id).body.tdestatus == "Disabled"
    _tde(rds, instance_id, key_id)
    assert status(rds, instance_id) == "Rebooting"
    advance(admin, RESTART_SECONDS)
    assert status(rds, instance_id) == "Running"
    body = _describe_tde(rds, instance_id).body
    assert (body.tdestatus, body.tdemode, body.encryption_key) == (
        "Enabled",
        "Customer_Provided_Key",
        key_id,
    )


def test_tde_without_a_key_uses_a_generated_key(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    _tde(rds, instance_id)
    assert _describe_tde(rds, instance_id).body.tdemode == "Aliyun_Generate_Key"


def test_tde_cannot_be_disabled_once_enabled(rds: Any, admin: Any, api_error: Any) -> None:
    instance_id = running_instance(rds, admin)
    _tde(rds, instance_id)
    advance(admin, RESTART_SECONDS)
    request = m.ModifyDBInstanceTDERequest(dbinstance_id=instance_id, tdestatus="Disabled")
    error = api_error(lambda: rds.modify_dbinstance_tde(request))
    assert error.code == "InvalidTDEStatus.Unsupported"
    assert _describe_tde(rds, instance_id).body.tdestatus == "Enabled"


def test_tde_with_a_cmk_needs_the_rds_role(rds: Any, kms: Any, admin: Any, api_error: Any) -> None:
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    error = api_error(lambda: _tde(rds, instance_id, key_id))
    assert (error.code, error.status_code) == ("ByokNotAuthorizedToRds", 403)
    assert _describe_tde(rds, instance_id).body.tdestatus == "Disabled"
    assert status(rds, instance_id) == "Running"  # nothing restarted


def test_tde_with_a_disabled_key_is_refused(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    from alibabacloud_kms20160120 import models as kms_models

    authorize_rds(ram)
    key_id = create_key(kms)
    kms.disable_key(kms_models.DisableKeyRequest(key_id=key_id))
    error = api_error(lambda: _tde(rds, running_instance(rds, admin), key_id))
    assert error.code == "InvalidKmsKey"


def test_the_key_list_has_one_entry_per_use(rds: Any, kms: Any, ram: Any, admin: Any) -> None:
    authorize_rds(ram)
    tde_key, disk_key = create_key(kms), create_key(kms)
    instance_id = running_instance(rds, admin)
    _tde(rds, instance_id, tde_key)
    advance(admin, RESTART_SECONDS)
    only_tde = encryption_key(rds, instance_id)
    assert [(e.encryption_key, e.used_by) for e in only_tde.encryption_key_list] == [
        (tde_key, "TDE")
    ]
    assert only_tde.encryption_key == tde_key  # the chosen worst case for a naive reader
    set_key(rds, instance_id, disk_key)
    advance(admin, RESTART_SECONDS)
    both = encryption_key(rds, instance_id)
    assert [(e.encryption_key, e.used_by) for e in both.encryption_key_list] == [
        (disk_key, "DiskEncryption"),
        (tde_key, "TDE"),
    ]
    assert both.encryption_key == disk_key


def test_the_census_lists_tde_users(rds: Any, kms: Any, ram: Any, admin: Any) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    both, tde_only = running_instance(rds, admin), running_instance(rds, admin)
    set_key(rds, both, key_id)
    advance(admin, RESTART_SECONDS)
    _tde(rds, both, key_id)
    _tde(rds, tde_only, key_id)
    assert _census(rds, key_id) == [
        (both, "DiskEncryption"),
        (both, "TDE"),
        (tde_only, "TDE"),
    ]


def test_rotation_moves_tde_to_another_key(rds: Any, kms: Any, ram: Any, admin: Any) -> None:
    authorize_rds(ram)
    first, second = create_key(kms), create_key(kms)
    instance_id = running_instance(rds, admin)
    _tde(rds, instance_id, first)
    advance(admin, RESTART_SECONDS)
    _tde(rds, instance_id, second, is_rotate=True)
    assert status(rds, instance_id) == "Running"
    assert _describe_tde(rds, instance_id).body.encryption_key == second
    assert _census(rds, first) == []


def test_another_key_without_rotation_is_refused(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    authorize_rds(ram)
    first, second = create_key(kms), create_key(kms)
    instance_id = running_instance(rds, admin)
    _tde(rds, instance_id, first)
    advance(admin, RESTART_SECONDS)
    _tde(rds, instance_id, first)  # the same again: nothing to do
    assert status(rds, instance_id) == "Running"
    assert api_error(lambda: _tde(rds, instance_id, second)).code == "InvalidParameter"


def test_tde_needs_postgresql(rds: Any, admin: Any, api_error: Any) -> None:
    instance_id = running_instance(
        rds, admin, engine="SQLServer", dbinstance_class="mssql.x4.medium.s2"
    )
    assert api_error(lambda: _tde(rds, instance_id)).code == "IncorrectDBInstanceType"


def test_a_seed_pins_an_older_minor_version_and_turns_tde_on(tmp_path: Any) -> None:
    seed = tmp_path / "tde.yaml"
    seed.write_text(
        "regions: [cn-hangzhou]\n"
        "kms_keys: [{region: cn-hangzhou, aliases: [alias/tde]}]\n"
        "rds_instances:\n"
        "  - {id: pgm-bp1tdeold00000001, region: cn-hangzhou, class: pg.x4.large.2c,\n"
        "     kernel_version: rds_postgres_1600_20220830}\n"
        "  - {id: pgm-bp1tdeon000000001, region: cn-hangzhou, class: pg.x4.large.2c,\n"
        "     tde: alias/tde}\n"
    )
    from tests.emulator.conftest import sdk_client

    with Emulator(state_path=":memory:", seed=str(seed)) as emu:
        rds = sdk_client("rds", emu.endpoint, "v3")
        old = attribute(rds, "pgm-bp1tdeold00000001").current_kernel_version
        assert old == "rds_postgres_1600_20220830"
        assert _describe_tde(rds, "pgm-bp1tdeon000000001").body.tdestatus == "Enabled"
        with pytest.raises(TeaException) as error:
            _tde(rds, "pgm-bp1tdeold00000001")
        assert error.value.code == "UnsupportedMinorVersion"
