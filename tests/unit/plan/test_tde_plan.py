"""The plan rules of TDE (kinds/rds_tde/plan.py, guards.py; issue 19), on built facts: what is
planned, what is refused and why, and the parameters of ModifyDBInstanceTDE."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.core.facts import ObservedInstance, ObservedState, ObservedTde
from reconciler.kinds.rds_tde.guards import check_read_only, check_storage, check_version
from reconciler.plan.actions import RefusalCode
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.spec.models import Spec

ID = "pgm-bp1ded0000000001"
SVC = "key-svchz000001"
NEW = "rds_postgres_1600_20250430"


def _instance(**over: Any) -> ObservedInstance:
    fields: dict[str, Any] = {
        "instance_id": ID,
        "region": "cn-hangzhou",
        "engine": "PostgreSQL",
        "engine_version": "16.0",
        "category": "HighAvailability",
        "class_code": "pg.x4.large.2c",
        "class_type": "d",
        "storage_type": "cloud_essd",
        "status": "Running",
        "lock_mode": "Unlock",
        "managed": True,
        "encryption": {"enabled": True, "key_id": SVC, "key_type": "ServiceKey"},
        "tde": {"enabled": False},
        "kernel_version": NEW,
    }
    fields.update(over)
    return ObservedInstance.model_validate(fields)


def _plan(wanted: Any, *others: ObservedInstance, **instance: Any) -> Plan:
    spec = Spec.model_validate(
        {
            "version": 1,
            "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
            "instances": {ID: {"encryption": {"key": "service"}, "tde": wanted}},
        }
    )
    found = {i.instance_id: i for i in (_instance(**instance), *others)}
    observed = ObservedState(
        account_id="1234567890123456", service_keys={"cn-hangzhou": SVC}, instances=found
    )
    return build_plan(spec, observed)


def _codes(plan: Plan) -> list[str]:
    return [r.code.value for r in plan.refusals]


def test_tde_off_and_wanted_on_the_service_key_is_an_irreversible_immediate_enable() -> None:
    plan = _plan({"key": "service"})
    (change,) = plan.changes
    assert (change.address, change.restart, change.irreversible, change.scheduled) == (
        f"rds_tde.{ID}",
        True,
        True,
        False,
    )
    assert change.operations[0].params == {"DBInstanceId": ID, "TDEStatus": "Enabled"}
    assert "cannot turn TDE off" in change.reason


def test_tde_on_with_the_wanted_key_plans_nothing_even_on_an_old_minor_version() -> None:
    on = ObservedTde(enabled=True, mode="Aliyun_Generate_Key", key_id=SVC)
    plan = _plan({"key": "service"}, tde=on, kernel_version="rds_postgres_1600_20220830")
    assert (plan.changes, plan.refusals) == ([], [])


def test_another_key_is_a_rotation_not_irreversible() -> None:
    on = ObservedTde(enabled=True, mode="Aliyun_Generate_Key", key_id=SVC)
    plan = _plan({"key": "service"}, tde=on)
    assert plan.changes == []
    cmk = ObservedTde(enabled=True, mode="Customer_Provided_Key", key_id="key-hzold00001")
    plan = _plan({"key": "service"}, tde=cmk)
    (change,) = plan.changes
    assert change.operations[0].params == {
        "DBInstanceId": ID,
        "TDEStatus": "Enabled",
        "IsRotate": True,
    }
    assert (change.irreversible, change.restart) == (False, True)


@pytest.mark.parametrize(
    ("wanted", "observed", "codes"),
    [
        (
            "disabled",
            {"enabled": True, "key_id": SVC, "mode": "Aliyun_Generate_Key"},
            ["TdeCannotBeDisabled"],
        ),
        ("disabled", {"enabled": False}, []),
        ({"key": "service"}, None, ["TdeNotRead"]),
    ],
)
def test_disabled_and_not_read(wanted: Any, observed: Any, codes: list[str]) -> None:
    plan = _plan(wanted, tde=observed)
    assert _codes(plan) == codes and plan.changes == []


@pytest.mark.parametrize(
    ("instance", "code", "words"),
    [
        ({"engine_version": "9.4"}, "TdeUnsupportedEngineVersion", "PostgreSQL 10 or later"),
        (
            {"kernel_version": "rds_postgres_1600_20221029"},
            "TdeUnsupportedEngineVersion",
            "upgrade it to rds_postgres_1600_20221030",
        ),
        ({"kernel_version": "pg16-latest"}, "TdeUnsupportedEngineVersion", "pg16-latest"),
        ({"kernel_version": ""}, "TdeNotRead", "CurrentKernelVersion"),
        ({"storage_type": "local_ssd"}, "TdeUnsupportedStorage", "local_ssd"),
        ({"storage_type": ""}, "TdeUnsupportedStorage", "(storage not read)"),
        ({"lock_mode": "ManualLock"}, "InstanceLocked", "ManualLock"),
    ],
)
def test_each_prerequisite_is_refused_naming_the_fact(
    instance: dict[str, Any], code: str, words: str
) -> None:
    plan = _plan({"key": "service"}, **instance)
    assert _codes(plan) == [code] and plan.changes == []
    assert words in plan.refusals[0].message


def test_the_version_exactly_20221030_qualifies() -> None:
    assert check_version(_instance(kernel_version="rds_postgres_1000_20221030")) is None
    assert check_storage(_instance(storage_type="cloud_essd3")) is None


def test_every_read_only_instance_is_named_when_it_does_not_qualify_or_was_not_read() -> None:
    good = _instance(instance_id="pgr-good", managed=False, encryption=None, tde=None)
    old = good.model_copy(
        update={"instance_id": "pgr-old", "kernel_version": "rds_postgres_1600_20200101"}
    )
    local = good.model_copy(update={"instance_id": "pgr-local", "storage_type": "local_ssd"})
    primary = _instance(read_only_ids=["pgr-good", "pgr-old", "pgr-local", "pgr-gone"])
    found = check_read_only(
        primary, {i.instance_id: i for i in (good, old, local)} | {"pgr-gone": None}
    )
    assert found is not None and found[0] is RefusalCode.TDE_READ_ONLY_NOT_READY
    assert "pgr-good" not in found[1]
    for named in ("pgr-old", "pgr-local", "pgr-gone: its engine version and storage were not read"):
        assert named in found[1]
    assert (
        check_read_only(
            primary.model_copy(update={"read_only_ids": ["pgr-good"]}), {"pgr-good": good}
        )
        is None
    )


def test_a_cmk_sends_its_key_and_the_rds_role_and_waits_for_the_disk_change() -> None:
    spec = Spec.model_validate(
        {
            "version": 1,
            "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
            "kms_keys": {"rds-prod": {"alias": "alias/rds-prod"}},
            "instances": {ID: {"encryption": {"key": "rds-prod"}, "tde": {"key": "rds-prod"}}},
        }
    )
    observed = ObservedState(
        account_id="1234567890123456",
        service_keys={"cn-hangzhou": SVC},
        instances={ID: _instance(encryption={"enabled": False})},
        keys={"rds-prod": None},
        ram={"role": None, "policy": None, "attached_policies": []},
    )
    plan = build_plan(spec, observed)
    tde = plan.change(f"rds_tde.{ID}")
    assert tde is not None and not plan.refusals
    assert tde.operations[0].params == {
        "DBInstanceId": ID,
        "TDEStatus": "Enabled",
        "EncryptionKey": {"ref": "kms_key.rds-prod", "attr": "key_id"},
        "RoleArn": "acs:ram::1234567890123456:role/AliyunRDSInstanceEncryptionDefaultRole",
    }
    assert f"rds_encryption.{ID}" in tde.depends_on and "kms_key.rds-prod" in tde.depends_on
    assert [c.address for c in plan.changes][-2:] == [f"rds_encryption.{ID}", tde.address]
