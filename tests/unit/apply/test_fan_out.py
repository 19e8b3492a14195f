"""Which plans apply fans out over worker processes, and how (app/apply_processes.fan_out):
the serial changes first in the calling process, then a unit per region; any other shape is
applied in one process, where the executor's order holds (docs/architecture.md, "Processes")."""

from __future__ import annotations

from reconciler.app.apply_processes import Fanout, fan_out
from reconciler.plan.model import Change, Operation, Plan

MODIFY = "rds:ModifyDBInstanceConfig"


def _instance(name: str, region: str, *deps: str) -> Change:
    return Change(
        address=f"rds_encryption.{name}",
        action="update",
        operations=[Operation(op=MODIFY, params={"DBInstanceId": name, "ConfigValue": "x"})],
        depends_on=list(deps),
        region=region,
        target_id=name,
    )


def _key(name: str) -> Change:
    return Change(
        address=f"kms_key.{name}",
        action="update",
        operations=[Operation(op="kms:EnableKey", params={"KeyId": "key-1"})],
        region="cn-hangzhou",
        target_id="key-1",
    )


def _plan(*changes: Change) -> Plan:
    return Plan(fingerprint="sha256:x", changes=list(changes))


def test_serial_changes_first_then_a_unit_per_region_in_plan_order() -> None:
    plan = _plan(
        _key("k"),
        _instance("pgm-a1", "cn-shanghai", "kms_key.k"),
        _instance("pgm-b1", "cn-beijing"),
        _instance("pgm-a2", "cn-shanghai"),
    )
    assert fan_out(plan, 4) == Fanout(
        head=("kms_key.k",),
        units=(
            ("cn-beijing", ("rds_encryption.pgm-b1",)),
            ("cn-shanghai", ("rds_encryption.pgm-a1", "rds_encryption.pgm-a2")),
        ),
        processes=2,
    )


def test_one_process_or_one_region_applies_here() -> None:
    two_regions = _plan(_instance("pgm-a1", "cn-shanghai"), _instance("pgm-b1", "cn-beijing"))
    assert fan_out(two_regions, 1) is None
    assert fan_out(two_regions, 2) is not None
    one_region = _plan(_instance("pgm-a1", "cn-shanghai"), _instance("pgm-a2", "cn-shanghai"))
    assert fan_out(one_region, 4) is None


def test_a_serial_change_after_a_parallel_one_applies_here() -> None:
    plan = _plan(_instance("pgm-a1", "cn-shanghai"), _key("k"), _instance("pgm-b1", "cn-beijing"))
    assert fan_out(plan, 4) is None


def test_a_change_depending_on_another_regions_change_applies_here() -> None:
    plan = _plan(
        _instance("pgm-a1", "cn-shanghai"),
        _instance("pgm-b1", "cn-beijing", "rds_encryption.pgm-a1"),
    )
    assert fan_out(plan, 4) is None
