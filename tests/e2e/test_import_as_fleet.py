"""`reconciler import --as-fleet` (issue 21, item 1): the imported spec selects instances by a
tag where the tag explains them (every instance carrying it, in the regions read, is imported
with the same wants), and lists the others by id; it plans empty against the same world, and a
new instance carrying the tag is planned by the next plan (README, "Import as fleets")."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e import world
from tests.e2e.conftest import plan_json, run_cli
from tests.e2e.test_fleets import tag

HZ, SH = "cn-hangzhou", "cn-shanghai"


def _world(endpoint: str) -> dict[str, str]:
    """payments: on the service key in two regions; search: not encrypted; ads: mixed wants;
    env=prod is on payments and search (different wants); lone: one instance, no tag."""
    made = {
        "pay1": world.create_instance(endpoint, encryption_key="ServiceKey"),
        "pay2": world.create_instance(endpoint, encryption_key="ServiceKey"),
        "pay3": world.create_instance(endpoint, region=SH, encryption_key="ServiceKey"),
        "search1": world.create_instance(endpoint),
        "search2": world.create_instance(endpoint),
        "ads1": world.create_instance(endpoint, encryption_key="ServiceKey"),
        "ads2": world.create_instance(endpoint),
        "lone": world.create_instance(endpoint),
    }
    for name in ("pay1", "pay2", "pay3"):
        region = SH if name == "pay3" else HZ
        tag(endpoint, made[name], {"team": "payments", "env": "prod"}, region)
    for name in ("search1", "search2"):
        tag(endpoint, made[name], {"team": "search", "env": "prod"})
    for name in ("ads1", "ads2"):
        tag(endpoint, made[name], {"team": "ads"})
    return made


def _import(endpoint: str, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    regions = ("--region", HZ, "--region", SH)
    return run_cli("--endpoint", endpoint, "import", "-o", str(out), *regions, *extra)


def _loaded(out: Path) -> dict:
    merged: dict = {"instances": {}, "fleets": {}}
    for path in sorted(out.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        merged["instances"].update(doc.get("instances") or {})
        merged["fleets"].update(doc.get("fleets") or {})
    return merged


def test_as_fleet_writes_a_fleet_per_explaining_tag_and_ids_for_the_rest(
    emulator, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ids = _world(emulator.endpoint)
    out = tmp_path / "imported"
    run = _import(emulator.endpoint, out, "--as-fleet")
    assert run.exit_code == 0, run.stderr
    spec = _loaded(out)
    assert spec["fleets"] == {
        "team-payments": {
            "select": {"regions": [HZ, SH], "tags": {"team": "payments"}},
            "encryption": {"key": "service"},
        },
        "team-search": {
            "select": {"regions": [HZ], "tags": {"team": "search"}},
            "encryption": "disabled",
        },
    }
    # env=prod is carried by instances with different wants; team=ads too: not a selector
    assert sorted(spec["instances"]) == sorted([ids["ads1"], ids["ads2"], ids["lone"]])
    text = (out / "fleets.yaml").read_text()
    assert f"selects today: {', '.join(sorted([ids['pay1'], ids['pay2'], ids['pay3']]))}" in text
    hz = (out / "cn-hangzhou.yaml").read_text()
    assert f"{ids['search1']}: selected by fleets.team-search" in hz
    assert "plans no changes" in (out / "00-defaults.yaml").read_text()
    plan = run_cli("--endpoint", emulator.endpoint, "plan", str(out), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout
    again = tmp_path / "again"
    assert _import(emulator.endpoint, again, "--as-fleet").exit_code == 0
    for path in out.glob("*.yaml"):  # deterministic: the same world imports the same files
        assert (again / path.name).read_text() == path.read_text(), path.name


def test_a_new_instance_carrying_the_tag_is_planned_by_the_imported_fleet(
    emulator, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _world(emulator.endpoint)
    out = tmp_path / "imported"
    assert _import(emulator.endpoint, out, "--as-fleet").exit_code == 0
    new = world.create_instance(emulator.endpoint, region=SH)
    tag(emulator.endpoint, new, {"team": "payments"}, SH)
    run = plan_json(emulator.endpoint, str(out))
    assert run.exit_code == 0, run.stdout + run.stderr
    changed = {c["address"]: c.get("via") for c in run.plan["changes"]}
    assert changed == {f"rds_encryption.{new}": "fleets.team-payments"}


def test_a_tag_on_an_instance_import_leaves_out_is_not_a_selector(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An SSD (not ESSD) instance cannot be encrypted, so import leaves it out; a fleet of its
    tag would select it (and warn): the tag does not explain the imported instances."""
    a = world.create_instance(emulator.endpoint, encryption_key="ServiceKey")
    b = world.create_instance(emulator.endpoint, encryption_key="ServiceKey")
    odd = world.create_instance(emulator.endpoint, storage_type="cloud_ssd")
    for instance_id in (a, b, odd):
        tag(emulator.endpoint, instance_id, {"team": "web"})
    out = tmp_path / "imported"
    run = _import(emulator.endpoint, out, "--as-fleet")
    assert run.exit_code == 0, run.stderr
    spec = _loaded(out)
    assert spec["fleets"] == {}
    assert sorted(spec["instances"]) == sorted([a, b])
    assert not (out / "fleets.yaml").exists()


def test_without_as_fleet_import_lists_every_id_and_reads_no_tag(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _world(emulator.endpoint)
    world.reset_calls(emulator.endpoint)
    out = tmp_path / "imported"
    assert _import(emulator.endpoint, out).exit_code == 0
    assert sorted(_loaded(out)["instances"]) == sorted(ids.values())
    assert "rds:ListTagResources" not in world.calls(emulator.endpoint)


def test_as_fleet_stops_when_the_tags_cannot_be_read(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.e2e.test_fail_closed import persistent_fault

    _world(emulator.endpoint)
    persistent_fault(emulator.endpoint, "rds:ListTagResources", "InternalError", 500)
    out = tmp_path / "imported"
    run = _import(emulator.endpoint, out, "--as-fleet")
    assert run.exit_code == 1, run.stdout + run.stderr
    assert "ListTagResources" in run.stderr
    assert not out.exists() or not list(out.glob("*.yaml"))


def test_a_region_whose_file_holds_only_comments_still_loads(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A region with only an instance that cannot be encrypted (or only fleet members) gets a
    file of comments and `instances: {}`: an empty YAML file is not a spec file."""
    ssd = world.create_instance(emulator.endpoint, region=SH, storage_type="cloud_ssd")
    out = tmp_path / "imported"
    run = _import(emulator.endpoint, out)
    assert run.exit_code == 0, run.stderr
    sh = (out / "cn-shanghai.yaml").read_text()
    assert f"# {ssd} (not encrypted): cannot be managed" in sh
    assert yaml.safe_load(sh) == {"instances": {}}
    plan = run_cli("--endpoint", emulator.endpoint, "plan", str(out), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.stdout + plan.stderr


def test_the_demo_world_imports_as_fleets_that_plan_empty(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "imported"
    run = _import(demo.endpoint, out, "--as-fleet")
    assert run.exit_code == 0, run.stderr
    plan = run_cli("--endpoint", demo.endpoint, "plan", str(out), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout
    stdout = run_cli("--endpoint", demo.endpoint, "import", "--region", HZ, "--as-fleet")
    assert stdout.exit_code == 0, stdout.stderr
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "spec.yaml").write_text(stdout.stdout)
    plan = run_cli("--endpoint", demo.endpoint, "plan", str(tmp_path / "one"))
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout
