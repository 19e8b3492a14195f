"""`reconciler import` without --region reads every region of the account (RDS DescribeRegions),
writes a file only for the regions with something to import (the others are named in the
header and the summary), and writes specs that plan no change on any world: what plan would
change or refuse (the RAM role CMK instances need missing, a key without the RDS tag) is left
out, as comments saying why (issue 20, "No surprises")."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import run_cli
from tests.e2e.test_tde_reads import tde_on

EVERY_REGION = 11
"""The regions the emulator's DescribeRegions lists (reconciler/emulator/rds)."""


def _import_and_plan(endpoint: str, out: Path, *args: str):  # type: ignore[no-untyped-def]
    run = run_cli("--endpoint", endpoint, "import", "-o", str(out), *args)
    assert run.exit_code == 0, run.stderr
    plan = run_cli("--endpoint", endpoint, "plan", str(out), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout
    return run


def test_the_demo_world_imports_to_a_spec_that_plans_no_change(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "imported"
    run = _import_and_plan(demo.endpoint, out)
    assert sorted(p.name for p in out.glob("*.yaml")) == [
        "00-defaults.yaml",
        "cn-hangzhou.yaml",
        "cn-shanghai.yaml",
    ]
    head = (out / "00-defaults.yaml").read_text()
    assert f"from what exists in {EVERY_REGION} region(s)" in head
    assert "# Nothing to import in 9 region(s): ap-northeast-1," in head
    assert "plans no changes (as import read the cloud)" in head
    # The RAM role does not exist: the CMK instance is left out, and says why.
    assert "- every instance on a CMK, and ram: RDS reaches a CMK through RAM" in head
    assert "kms_key.rds-legacy: plan would update it" in head
    hz = (out / "cn-hangzhou.yaml").read_text()
    assert "# pgm-bp1ded0000000003 (on the CMK " in hz
    assert "pgm-bp1ded0000000003" not in yaml.safe_load(hz)["instances"]
    assert "Nothing to import in 9: ap-northeast-1," in run.stderr
    for path in out.glob("*.yaml"):
        assert "`reconciler plan` on these files plans no changes" in path.read_text(), path


def _three_regions(endpoint: str) -> dict[str, str]:
    """RAM ready; tagged CMKs in cn-hangzhou and cn-beijing, one used by TDE too; instances in
    cn-hangzhou, cn-shanghai (service key) and cn-beijing."""
    dw.make_ram(endpoint)
    hz = world.create_key(endpoint, alias="alias/rds-prod", tags={**dw.TAG, "team": "dba"})
    bj = dw.create_regional_key(
        endpoint, "cn-beijing", alias="alias/rds-bj", tags=dw.TAG, description="bj"
    )
    ids = {
        "hz-cmk": world.create_instance(endpoint, encryption_key=hz),
        "hz-off": world.create_instance(endpoint),
        "sh-service": world.create_instance(
            endpoint, region="cn-shanghai", encryption_key="ServiceKey"
        ),
        "bj-cmk": world.create_instance(endpoint, region="cn-beijing", encryption_key=bj),
    }
    tde_on(endpoint, ids["hz-off"], hz)
    return ids


def test_three_regions_with_cmk_users_and_tde_import_to_an_empty_plan(
    emulator, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ids = _three_regions(emulator.endpoint)
    out = tmp_path / "imported"
    _import_and_plan(emulator.endpoint, out)
    names = sorted(p.name for p in out.glob("*.yaml"))
    assert names == [
        "00-defaults.yaml",
        "cn-beijing.yaml",
        "cn-hangzhou.yaml",
        "cn-shanghai.yaml",
        "keys.yaml",
    ]
    defaults = yaml.safe_load((out / "00-defaults.yaml").read_text())
    assert defaults["ram"] == {"manage": True}  # written as it exists: CMKs are used
    assert "Left out" not in (out / "00-defaults.yaml").read_text()
    hz = yaml.safe_load((out / "cn-hangzhou.yaml").read_text())["instances"]
    assert hz[ids["hz-cmk"]] == {"encryption": {"key": "rds-prod"}}
    assert hz[ids["hz-off"]] == {"encryption": "disabled", "tde": {"key": "rds-prod"}}
    bj = yaml.safe_load((out / "cn-beijing.yaml").read_text())["instances"]
    assert bj[ids["bj-cmk"]] == {"region": "cn-beijing", "encryption": {"key": "rds-bj"}}
    keys = yaml.safe_load((out / "keys.yaml").read_text())["kms_keys"]
    assert keys["rds-prod"]["tags"] == {"team": "dba"}
    assert keys["rds-bj"]["region"] == "cn-beijing"


def test_region_narrows_the_read_to_the_regions_named(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _three_regions(emulator.endpoint)
    out = tmp_path / "imported"
    run = _import_and_plan(emulator.endpoint, out, "--region", "cn-beijing")
    assert sorted(p.name for p in out.glob("*.yaml")) == [
        "00-defaults.yaml",
        "cn-beijing.yaml",
        "keys.yaml",
    ]
    assert "Read 1 region(s): cn-beijing." in run.stderr
    assert world.calls(emulator.endpoint).get("rds:DescribeRegions", 0) == 0


def test_a_region_with_nothing_is_named_not_skipped_silently(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "imported"
    run = _import_and_plan(
        emulator.endpoint, out, "--region", "cn-hangzhou", "--region", "us-east-1"
    )
    assert sorted(p.name for p in out.glob("*.yaml")) == ["00-defaults.yaml"]
    assert (
        "Nothing to import in 2 region(s): cn-hangzhou, us-east-1."
        in (out / "00-defaults.yaml").read_text()
    )
    assert "Nothing to import in 2: cn-hangzhou, us-east-1." in run.stderr


def test_the_default_region_comes_from_alibaba_cloud_region_id(
    emulator, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _three_regions(emulator.endpoint)
    monkeypatch.setenv("ALIBABA_CLOUD_REGION_ID", "cn-beijing")
    out = tmp_path / "imported"
    _import_and_plan(emulator.endpoint, out)
    defaults = yaml.safe_load((out / "00-defaults.yaml").read_text())["defaults"]
    assert defaults["region"] == "cn-beijing"
    bj = yaml.safe_load((out / "cn-beijing.yaml").read_text())["instances"]
    assert all("region" not in entry for entry in bj.values())
