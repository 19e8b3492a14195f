"""The observing half of the kind `rds_tde` (issue 19) through the emulator and the real SDK:
the plan reads TDE only for the instances whose spec sets `tde` (and the kernel version and
read-only instances of those to enable, one attribute read each), a failed or unreadable
DescribeDBInstanceTDE stops the command, drift reports TDE off where wanted (high) and a TDE
key disabled out of band (critical, the issue's done-when), the RDS role's items name the TDE
instances that depend on it, and import writes `tde:` for instances with TDE on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.core.facts import ObservedState, ObservedTde
from reconciler.spec.models import Spec
from reconciler.state.observe import observe
from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import PlanRun, run_cli
from tests.e2e.test_tde_reads import ALIAS, tde_on

TDE_READ = "rds:DescribeDBInstanceTDE"
ATTRIBUTE = "rds:DescribeDBInstanceAttribute"


def _clients(endpoint: str) -> CloudClients:
    return CloudClients(
        CloudSettings(
            endpoint=endpoint, credentials=StaticCredentials("emulator", "emulator-secret")
        )
    )


def fleet(endpoint: str) -> dict[str, str]:
    """RAM ready, a tagged CMK `alias/rds-prod`; instances on the service key: `cmk` with TDE on
    the CMK, `generated` with TDE on RDS's own key, `off` and `plain` without TDE."""
    dw.make_ram(endpoint)
    key = world.create_key(endpoint, alias=ALIAS, tags=dw.TAG)
    ids = {
        n: world.create_instance(endpoint, encryption_key="ServiceKey")
        for n in ("cmk", "generated", "off", "plain")
    }
    tde_on(endpoint, ids["cmk"], key)
    _tde_generated(endpoint, ids["generated"])
    return {**ids, "key": key}


def _tde_generated(endpoint: str, instance_id: str) -> None:
    from alibabacloud_rds20140815 import models

    world.rds(endpoint).modify_dbinstance_tde(
        models.ModifyDBInstanceTDERequest(dbinstance_id=instance_id, tdestatus="Enabled")
    )


def spec_of(ids: dict[str, str], tde: dict[str, Any]) -> dict[str, Any]:
    """Every instance on the service key, `tde` (instance name -> its tde) where given."""
    instances = {
        ids[n]: {"encryption": {"key": "service"}, **({"tde": tde[n]} if n in tde else {})}
        for n in ("cmk", "generated", "off", "plain")
    }
    return {
        "defaults": {"region": "cn-hangzhou"},
        "kms_keys": {"prod": {"alias": ALIAS}},
        "instances": instances,
    }


def observed(endpoint: str, doc: dict[str, Any]) -> tuple[ObservedState, dict[str, int]]:
    clients = _clients(endpoint)
    state = observe(Spec.model_validate({"version": 1, **doc}), clients)
    return state, clients.counter.by_action()


def test_the_plan_reads_tde_only_for_instances_whose_spec_sets_it(emulator) -> None:  # type: ignore[no-untyped-def]
    """One DescribeDBInstanceTDE per instance whose spec sets tde; the attribute (kernel version,
    read-only instances) only where TDE is to be enabled: on already, nothing is enabled."""
    ids = fleet(emulator.endpoint)
    state, calls = observed(
        emulator.endpoint, spec_of(ids, {"cmk": {"key": "prod"}, "off": {"key": "prod"}})
    )

    assert calls[TDE_READ] == 2 and calls[ATTRIBUTE] == 1, calls
    cmk = state.instances[ids["cmk"]]
    assert cmk.tde == ObservedTde(enabled=True, mode="Customer_Provided_Key", key_id=ids["key"])
    off = state.instances[ids["off"]]
    assert off.tde == ObservedTde(enabled=False)
    assert off.kernel_version.startswith("rds_postgres_1600_") and off.read_only_ids == []
    for name in ("generated", "plain"):
        other = state.instances[ids[name]]
        assert other.tde is None and other.kernel_version == "", name

    _, without = observed(emulator.endpoint, spec_of(ids, {}))
    assert TDE_READ not in without and ATTRIBUTE not in without, without


def test_tde_disabled_reads_tde_but_no_prerequisites(emulator) -> None:  # type: ignore[no-untyped-def]
    ids = fleet(emulator.endpoint)
    tde = {"generated": {"key": "service"}, "off": "disabled", "plain": {"key": "prod"}}
    state, calls = observed(emulator.endpoint, spec_of(ids, tde))

    assert calls[TDE_READ] == 3 and calls[ATTRIBUTE] == 1, calls  # only `plain` is enabled
    assert state.instances[ids["generated"]].tde == ObservedTde(
        enabled=True, mode="Aliyun_Generate_Key", key_id=state.service_keys["cn-hangzhou"]
    )
    assert state.instances[ids["off"]].tde == ObservedTde(enabled=False)
    assert state.instances[ids["off"]].kernel_version == ""
    assert state.instances[ids["plain"]].kernel_version != ""


def _fail(endpoint: str, **body: Any) -> None:
    world.admin(endpoint, "POST", "faults", {"action": "DescribeDBInstanceTDE", **body})


def _plan(endpoint: str, folder: str) -> PlanRun:
    return run_cli("--endpoint", endpoint, "plan", folder, "--format", "json")


def test_a_failed_or_unreadable_tde_read_stops_the_plan(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    ids = fleet(emulator.endpoint)
    folder = write_spec(spec_of(ids, {"cmk": {"key": "prod"}}))
    for fault in (
        {"code": "Forbidden.RAM", "status": 403, "times": 1000},
        {"drop_answer": "empty", "times": 1000},
    ):
        world.admin(emulator.endpoint, "DELETE", "faults")
        _fail(emulator.endpoint, **fault)
        run = _plan(emulator.endpoint, folder)
        assert run.exit_code == 1, run.stdout + run.stderr
        assert run.stdout == ""  # no plan that could read as "TDE in sync"
        error = run.stderr.strip().splitlines()[-1]
        assert TDE_READ in error and ids["cmk"] in error, error
        assert "Traceback" not in run.stderr


def _drift(endpoint: str, folder: str) -> dict[str, Any]:
    run = run_cli("--endpoint", endpoint, "drift", folder, "--format", "json")
    assert run.exit_code in (0, 2), run.stdout + run.stderr
    return json.loads(run.stdout)


def _item(report: dict[str, Any], address: str) -> dict[str, Any]:
    return next(i for i in report["items"] if i["address"] == address)


def test_drift_a_tde_key_disabled_out_of_band_is_critical(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    ids = fleet(emulator.endpoint)
    folder = write_spec(spec_of(ids, {"cmk": {"key": "prod"}}))
    assert f"rds_tde.{ids['cmk']}" not in {
        i["address"] for i in _drift(emulator.endpoint, folder)["items"]
    }

    world.disable_key(emulator.endpoint, ids["key"])
    item = _item(_drift(emulator.endpoint, folder), f"rds_tde.{ids['cmk']}")
    assert (item["severity"], item["kind"]) == ("critical", "at-risk")
    assert "is Disabled" in item["message"] and "snapshots" in item["message"]


def test_drift_a_tde_key_named_by_id_and_pending_deletion_is_critical(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    """The spec names the key by its id and no disk uses it: the TDE kind reads it itself."""
    ids = fleet(emulator.endpoint)
    folder = write_spec(spec_of(ids, {"cmk": {"key": ids["key"]}}))
    dw.schedule_deletion(emulator.endpoint, ids["key"])
    item = _item(_drift(emulator.endpoint, folder), f"rds_tde.{ids['cmk']}")
    assert (item["severity"], item["kind"]) == ("critical", "at-risk")
    assert "pending deletion" in item["message"]


def test_drift_tde_off_where_wanted_is_high_and_the_coverage_counts_it(
    emulator, write_spec
) -> None:  # type: ignore[no-untyped-def]
    ids = fleet(emulator.endpoint)
    tde = {"cmk": {"key": "prod"}, "generated": {"key": "service"}, "off": {"key": "service"}}
    report = _drift(emulator.endpoint, write_spec(spec_of(ids, tde)))
    item = _item(report, f"rds_tde.{ids['off']}")
    assert (item["severity"], item["kind"]) == ("high", "changed")
    assert "TDE is off" in item["message"] and "cannot be undone" in item["message"]
    addresses = {i["address"] for i in report["items"]}
    assert f"rds_tde.{ids['cmk']}" not in addresses
    assert f"rds_tde.{ids['generated']}" not in addresses
    coverage = report["coverage"]
    assert (coverage["disk_and_tde"], coverage["disk_only"], coverage["tde_not_read"]) == (2, 1, 1)
    assert (coverage["tde_only"], coverage["neither"]) == (0, 0)


def test_drift_tde_on_another_key_is_high(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    ids = fleet(emulator.endpoint)
    report = _drift(emulator.endpoint, write_spec(spec_of(ids, {"generated": {"key": "prod"}})))
    item = _item(report, f"rds_tde.{ids['generated']}")
    assert (item["severity"], item["kind"]) == ("high", "changed")
    assert "RDS's own key" in item["message"] and "prod" in item["message"]


def test_the_rds_role_items_name_the_tde_instances_that_depend_on_it(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    ids = fleet(emulator.endpoint)
    dw.change_trust(emulator.endpoint)
    folder = write_spec(spec_of(ids, {"cmk": {"key": "prod"}}))
    report = _drift(emulator.endpoint, folder)
    role = next(i for i in report["items"] if i["address"].startswith("ram_role."))
    assert role["severity"] == "high"
    assert f"TDE instances that depend on the role: {ids['cmk']}" in role["message"]

    plan = _plan(emulator.endpoint, folder).plan
    [change] = [c for c in plan["changes"] if c["address"].startswith("ram_role.")]
    assert f"TDE instances that depend on the role: {ids['cmk']}" in change["reason"]


def test_import_writes_tde_for_instances_with_tde_on(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = fleet(emulator.endpoint)
    world.reset_calls(emulator.endpoint)
    out = tmp_path / "imported"
    run = run_cli(
        "--endpoint", emulator.endpoint, "import", "--region", "cn-hangzhou", "-o", str(out)
    )
    assert run.exit_code == 0, run.stderr
    assert world.calls(emulator.endpoint)[TDE_READ] == 4  # one per PostgreSQL instance

    instances = yaml.safe_load((out / "cn-hangzhou.yaml").read_text())["instances"]
    assert instances[ids["cmk"]] == {"encryption": {"key": "service"}, "tde": {"key": "rds-prod"}}
    assert instances[ids["generated"]] == {
        "encryption": {"key": "service"},
        "tde": {"key": "service"},
    }
    assert "tde" not in instances[ids["off"]] and "tde" not in instances[ids["plain"]]
    keys = yaml.safe_load((out / "keys.yaml").read_text())["kms_keys"]
    assert keys["rds-prod"]["alias"] == ALIAS
    assert run_cli("validate", str(out)).exit_code == 0
