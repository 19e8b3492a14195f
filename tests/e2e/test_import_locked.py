"""`reconciler import` round-trips worlds whose spec cannot be "nothing to do": a locked
instance (its key disabled) and the demo world. The written spec's plan is not refused by what
it imported as is, a lock is still said loudly (plan warns InstanceAtRisk, drift is critical),
and the header says what the written spec plans, computed by planning it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import PlanRun, run_cli


def _import(endpoint: str, out: Path, *regions: str) -> None:
    flags = [arg for region in regions for arg in ("--region", region)]
    run = run_cli("--endpoint", endpoint, "import", *flags, "-o", str(out))
    assert run.exit_code == 0, run.stderr


def _plan(endpoint: str, folder: Path) -> PlanRun:
    return run_cli(
        "--endpoint", endpoint, "plan", str(folder), "--format", "json", "--detailed-exitcode"
    )


def _header(folder: Path) -> str:
    lines = (folder / "00-defaults.yaml").read_text().splitlines()
    return " ".join(line.removeprefix("#").strip() for line in lines if line.startswith("#"))


def test_import_of_a_locked_instance_plans_without_refusal_and_says_the_lock(  # type: ignore[no-untyped-def]
    emulator, tmp_path: Path
) -> None:
    built = dw.build_cmk_world(emulator.endpoint)
    world.disable_key(built.endpoint, built.key_id)
    out = tmp_path / "imported"
    _import(built.endpoint, out, "cn-hangzhou")
    run = _plan(built.endpoint, out)
    assert run.plan["refusals"] == [], run.stdout
    assert run.exit_code == 0, run.stdout + run.stderr
    [warning] = [w for w in run.plan["warnings"] if w["code"] == "InstanceAtRisk"]
    assert warning["address"] == f"rds_encryption.{built.cmk_instance}"
    assert "locked" in warning["message"] and built.key_id in warning["message"]
    assert "plans no changes" in _header(out)
    assert "InstanceAtRisk" in _header(out)

    drift = run_cli("--endpoint", built.endpoint, "drift", str(out), "--format", "json")
    assert drift.exit_code == 2
    severities = {i["address"]: i["severity"] for i in json.loads(drift.stdout)["items"]}
    assert severities[f"rds_encryption.{built.cmk_instance}"] == "critical"


def test_a_locked_instance_that_needs_a_change_is_still_refused(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    built = dw.build_cmk_world(emulator.endpoint)
    world.disable_key(built.endpoint, built.key_id)
    doc = built.spec()
    doc["instances"][built.cmk_instance] = {"encryption": {"key": "service"}}
    doc["kms_keys"]["prod"]["state"] = "disabled"
    run = _plan(built.endpoint, Path(write_spec(doc)))
    assert run.exit_code == 1
    assert "InstanceLocked" in run.codes()


def test_import_of_the_demo_world_round_trips_and_its_header_is_true(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "demo"
    _import(demo.endpoint, out, "cn-hangzhou", "cn-shanghai")
    defaults = yaml.safe_load((out / "00-defaults.yaml").read_text())
    run = _plan(demo.endpoint, out)
    assert run.plan["refusals"] == [], run.stdout
    changes = run.plan["changes"]
    header = _header(out)
    if changes:
        assert f"plans {len(changes)} change" in header, header
        for change in changes:
            assert change["address"] in header
        assert run.exit_code == 2
    else:
        assert "plans no changes" in header, header
        assert run.exit_code == 0
    uses_cmk = any(
        isinstance(e.get("encryption"), dict) and e["encryption"]["key"] != "service"
        for path in out.glob("cn-*.yaml")
        for e in (yaml.safe_load(path.read_text()).get("instances") or {}).values()
    )
    assert not uses_cmk or "ram" in defaults, "CMKs are used: the spec must say what RAM is"
