"""Apply of TDE (issue 19) through the emulator with the real SDK: enabling TDE on a CMK (after
RAM, the key and the disk) applies and replans empty; without --allow-irreversible nothing is
written; the guard at the write reads the instance and the key again and refuses when the
minor engine version or the key no longer allows TDE."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.apply.executor import apply_plan, check_applicable
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.errors import ApplyError
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.state.observe import observe
from tests.apply.conftest import FakeTime, clients_for, options, spec_of, writes
from tests.e2e import world

TDE_WRITE = "rds:ModifyDBInstanceTDE"
RDS_TAG = {"acs:rds:instance-encryption": "true"}


def tde_plan(clients: Any, source: dict[str, Any], **facts: Any) -> Plan:
    """The plan of `source`, from the facts read (`facts` overrides fields of instances)."""
    spec = spec_of(source)
    observed = observe(spec, clients)
    if facts:
        instances = {i: o.model_copy(update=facts) for i, o in observed.instances.items()}
        observed = observed.model_copy(update={"instances": instances})
    return build_plan(spec, observed)


def tde_of(emu: Emulator, instance_id: str) -> tuple[str, str | None]:
    from alibabacloud_rds20140815 import models

    request = models.DescribeDBInstanceTDERequest(dbinstance_id=instance_id)
    body = world.rds(emu.endpoint).describe_dbinstance_tde(request).body
    return str(body.tdestatus), body.encryption_key


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(":memory:", settings=Settings(restart_seconds=30)) as emulator:
        yield world.outside_the_window(emulator)


def _greenfield(instance_id: str) -> dict[str, Any]:
    return {
        "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
        "kms_keys": {"rds-prod": {"alias": "alias/rds-prod"}},
        "instances": {instance_id: {"encryption": {"key": "rds-prod"}, "tde": {"key": "rds-prod"}}},
    }


def test_disk_encryption_and_tde_on_a_new_cmk_apply_and_replan_empty(emu: Emulator) -> None:
    instance_id = world.create_instance(emu.endpoint)
    clients = clients_for(emu)
    plan = tde_plan(clients, _greenfield(instance_id))
    assert not plan.refusals
    tde = plan.change(f"rds_tde.{instance_id}")
    assert tde is not None and tde.irreversible and tde.restart
    assert tde.depends_on[-2:] == ["kms_key.rds-prod", f"rds_encryption.{instance_id}"]

    result = apply_plan(
        plan, clients, options(FakeTime(emu), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok, [o.detail for o in result.outcomes]
    key_id = plan_key_id(emu)
    assert tde_of(emu, instance_id) == ("Enabled", key_id)
    assert writes(emu)[TDE_WRITE] == 1
    assert f"{instance_id} is Running with TDE on key {key_id}" in (
        result.outcome(tde.address).detail  # type: ignore[union-attr]
    )
    again = tde_plan(clients, _greenfield(instance_id))
    assert (again.changes, again.refusals) == ([], [])


def plan_key_id(emu: Emulator) -> str:
    from alibabacloud_kms20160120 import models

    answer = world.kms(emu.endpoint).describe_key(
        models.DescribeKeyRequest(key_id="alias/rds-prod")
    )
    return str(answer.body.key_metadata.key_id)


def test_without_allow_irreversible_nothing_is_written(emu: Emulator) -> None:
    instance_id = world.create_instance(emu.endpoint)
    clients = clients_for(emu)
    plan = tde_plan(clients, _greenfield(instance_id))
    world.reset_calls(emu.endpoint)

    with pytest.raises(ApplyError) as refused:
        apply_plan(plan, clients, options(FakeTime(emu), allow_restart=True))

    message = str(refused.value)
    assert instance_id in message and "TDE cannot be turned off" in message
    assert "--allow-irreversible" in message and "nothing was applied" in message
    assert writes(emu) == {}
    assert tde_of(emu, instance_id) == ("Disabled", None)


def test_allow_irreversible_alone_does_not_let_the_restart_run() -> None:
    from tests.test_golden_cases import CASES, build

    plan = build(CASES / "tde-enable-service")
    with pytest.raises(ApplyError, match="--allow-restart"):
        check_applicable(plan, options(FakeTime(), allow_irreversible=True))
    check_applicable(plan, options(FakeTime(), allow_irreversible=True, allow_restart=True))


def test_a_key_rotation_is_not_irreversible_and_needs_only_allow_restart() -> None:
    from tests.test_golden_cases import CASES, build

    plan = build(CASES / "tde-rotate")
    assert [c.irreversible for c in plan.changes] == [False]
    check_applicable(plan, options(FakeTime(), allow_restart=True))


OLD_MINOR = """
regions: [cn-hangzhou]
rds_instances:
  - id: pgm-bp1tdeold000001
    region: cn-hangzhou
    class: pg.x4.large.2c
    encryption: service
    kernel_version: rds_postgres_1600_20220830
"""


@pytest.fixture
def old_minor(tmp_path: Any) -> Iterator[Emulator]:
    seed = tmp_path / "old-minor.yaml"
    seed.write_text(OLD_MINOR)
    settings = Settings(restart_seconds=30)
    with Emulator(":memory:", settings=settings, seed=str(seed)) as emulator:
        yield world.outside_the_window(emulator)


def test_the_guard_refuses_a_minor_version_older_than_the_plan_saw(old_minor: Emulator) -> None:
    """The plan was made when the instance ran a version with TDE; at the write it runs
    20220830 (pinned by the seed): refused before ModifyDBInstanceTDE is sent."""
    emu, instance_id = old_minor, "pgm-bp1tdeold000001"
    clients = clients_for(emu)
    source = {
        "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
        "instances": {instance_id: {"encryption": {"key": "service"}, "tde": {"key": "service"}}},
    }
    plan = tde_plan(clients, source, kernel_version="rds_postgres_1600_20250430")
    assert [c.address for c in plan.changes] == [f"rds_tde.{instance_id}"]
    world.reset_calls(emu.endpoint)

    result = apply_plan(
        plan, clients, options(FakeTime(emu), allow_restart=True, allow_irreversible=True)
    )

    outcome = result.outcome(f"rds_tde.{instance_id}")
    assert outcome is not None and outcome.status == "failed"
    assert "refused at the write: TdeUnsupportedEngineVersion" in outcome.detail
    assert "rds_postgres_1600_20221030" in outcome.detail
    assert TDE_WRITE not in writes(emu)
    assert tde_of(emu, instance_id) == ("Disabled", None)


def test_the_guard_refuses_a_key_disabled_between_plan_and_apply(emu: Emulator) -> None:
    instance_id = world.create_instance(emu.endpoint)
    key_id = world.create_key(emu.endpoint, alias="alias/rds-prod", tags=RDS_TAG)
    clients = clients_for(emu)
    source = {
        "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
        "kms_keys": {"rds-prod": {"alias": "alias/rds-prod"}},
        "instances": {instance_id: {"encryption": {"key": "service"}, "tde": {"key": "rds-prod"}}},
    }
    plan = tde_plan(clients, source)
    assert f"rds_tde.{instance_id}" in [c.address for c in plan.changes] and not plan.refusals
    world.disable_key(emu.endpoint, key_id)

    result = apply_plan(
        plan, clients, options(FakeTime(emu), allow_restart=True, allow_irreversible=True)
    )

    outcome = result.outcome(f"rds_tde.{instance_id}")
    assert outcome is not None and outcome.status == "failed"
    assert "refused at the write: KeyNotUsable" in outcome.detail and key_id in outcome.detail
    assert TDE_WRITE not in writes(emu)
    assert tde_of(emu, instance_id) == ("Disabled", None)
