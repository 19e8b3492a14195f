"""`reconciler import` of a mixed world (service key, CMK, off, serverless, MySQL,
general-purpose, storage that is not ESSD, a key without alias, two regions) writes files that
validate, carry the $schema line, and plan to no changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import run_cli

SCHEMA_LINE = "# yaml-language-server: $schema=spec.schema.json"


@pytest.fixture
def mixed(emulator):  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    dw.make_ram(endpoint)
    prod = world.create_key(endpoint, alias="alias/rds-prod", tags={**dw.TAG, "team": "dba"})
    dw.enable_rotation(endpoint, prod)
    bare = world.create_key(endpoint, tags=dw.TAG)  # no alias: referred to by id
    sh = dw.create_regional_key(
        endpoint, "cn-shanghai", alias="alias/rds-prod", tags=dw.TAG, description="sh"
    )
    ids = {
        "cmk": world.create_instance(endpoint, encryption_key=prod),
        "bare": world.create_instance(endpoint, encryption_key=bare),
        "service": world.create_instance(endpoint, encryption_key="ServiceKey"),
        "off": world.create_instance(endpoint),
        "gp-service": world.create_instance(
            endpoint, class_code="pg.n2.2c.2m", encryption_key="ServiceKey"
        ),
        "gp-off": world.create_instance(endpoint, class_code="pg.n2.2c.2m"),
        "serverless": world.create_instance(
            endpoint, class_code="pg.n2.serverless.1c", category="serverless_basic"
        ),
        "mysql": world.create_instance(
            endpoint, engine="MySQL", engine_version="8.0", class_code="mysql.x4.large.2c"
        ),
        "sh-cmk": world.create_instance(endpoint, region="cn-shanghai", encryption_key=sh),
        "sh-ssd": world.create_instance(endpoint, region="cn-shanghai", storage_type="cloud_ssd"),
    }
    return endpoint, ids


def _import(endpoint: str, *args: str):  # type: ignore[no-untyped-def]
    return run_cli(
        "--endpoint",
        endpoint,
        "import",
        "--region",
        "cn-hangzhou",
        "--region",
        "cn-shanghai",
        *args,
    )


def _plan_is_empty(endpoint: str, folder: str) -> None:
    run = run_cli("--endpoint", endpoint, "plan", folder, "--format", "json", "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout + run.stderr
    plan = run.plan
    assert plan["changes"] == [] and plan["refusals"] == []


def test_import_into_a_folder_round_trips_to_an_empty_plan(mixed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint, ids = mixed
    out = tmp_path / "imported"
    run = _import(endpoint, "-o", str(out))
    assert run.exit_code == 0, run.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "00-defaults.yaml",
        "cn-hangzhou.yaml",
        "cn-shanghai.yaml",
        "keys.yaml",
        "spec.schema.json",
    ]
    for path in out.glob("*.yaml"):
        assert path.read_text().startswith(SCHEMA_LINE + "\n"), path.name
    assert run_cli("validate", str(out)).exit_code == 0
    _plan_is_empty(endpoint, str(out))

    keys = yaml.safe_load((out / "keys.yaml").read_text())["kms_keys"]
    assert keys["rds-prod"]["alias"] == "alias/rds-prod"
    assert keys["rds-prod"]["rotation"] == {"enabled": True, "interval_days": 30}
    assert keys["rds-prod-cn-shanghai"]["region"] == "cn-shanghai"
    hz = (out / "cn-hangzhou.yaml").read_text()
    instances = yaml.safe_load(hz)["instances"]
    assert instances[ids["cmk"]] == {"encryption": {"key": "rds-prod"}}
    assert instances[ids["bare"]]["encryption"]["key"].startswith("key-")
    assert instances[ids["service"]] == {"encryption": {"key": "service"}}
    assert instances[ids["off"]] == {"encryption": "disabled"}
    assert instances[ids["gp-service"]] == {"encryption": {"key": "service"}}
    assert instances[ids["gp-off"]] == {"encryption": "disabled"}
    assert ids["serverless"] not in instances and ids["mysql"] not in instances
    assert f"# {ids['serverless']} (not encrypted): cannot be managed: is serverless" in hz
    assert f"# {ids['mysql']} (not encrypted): cannot be managed: runs MySQL" in hz
    sh = (out / "cn-shanghai.yaml").read_text()
    assert yaml.safe_load(sh)["instances"] == {
        ids["sh-cmk"]: {"region": "cn-shanghai", "encryption": {"key": "rds-prod-cn-shanghai"}}
    }
    assert f"# {ids['sh-ssd']} (not encrypted): cannot be managed: uses cloud_ssd storage" in sh
    defaults = yaml.safe_load((out / "00-defaults.yaml").read_text())
    assert defaults["ram"] == {"manage": True}
    assert defaults["defaults"]["account"] == world.ACCOUNT


def test_import_on_stdout_is_one_document_that_plans_to_no_changes(mixed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint, _ = mixed
    run = _import(endpoint)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith(SCHEMA_LINE + "\n")
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "spec.yaml").write_text(run.stdout)
    assert run_cli("validate", str(folder)).exit_code == 0
    _plan_is_empty(endpoint, str(folder))


def test_import_refuses_a_folder_that_already_holds_spec_files(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "old.yaml").write_text("version: 1\n")
    run = run_cli("--endpoint", emulator.endpoint, "import", "-o", str(tmp_path))
    assert run.exit_code == 1
    assert "already holds old.yaml" in run.stderr
