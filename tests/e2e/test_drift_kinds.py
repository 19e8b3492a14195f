"""Each kind of out-of-band change, made through the SDK against the emulator, gives the right
drift item and severity; the CLI's exit codes, ignore globs and coverage."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import PlanRun, run_cli


def drift(endpoint: str, folder: str, *extra: str) -> PlanRun:
    return run_cli("--endpoint", endpoint, "drift", folder, "--format", "json", *extra)


def items(run: PlanRun) -> dict[str, tuple[str, str]]:
    return {i["address"]: (i["kind"], i["severity"]) for i in json.loads(run.stdout)["items"]}


@pytest.fixture
def cmk(emulator, write_spec):  # type: ignore[no-untyped-def]
    built = dw.build_cmk_world(emulator.endpoint)
    folder = write_spec(built.spec())
    return built, folder


def test_a_world_in_sync_reports_no_drift_and_exits_0(cmk) -> None:  # type: ignore[no-untyped-def]
    built, folder = cmk
    run = drift(built.endpoint, folder)
    assert run.exit_code == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["format_version"] == "2"
    assert report["items"] == []
    assert report["summary"]["drift"] is False
    assert report["coverage"]["instances"] == 2
    assert report["coverage"]["cmk"] == 1 and report["coverage"]["service_key"] == 1


CMK_INSTANCE = "{cmk}"
KEY = "kms_key.prod"
POLICY = f"ram_policy.{dw.POLICY}"
ROLE = f"ram_role.{dw.ROLE}"
ATTACHMENT = f"ram_attachment.{dw.ROLE}/{dw.POLICY}"


def _widen(w: dw.CmkWorld) -> None:
    dw.new_policy_version(w.endpoint, dw.widened_document())


def _drop_condition(w: dw.CmkWorld) -> None:
    dw.new_policy_version(w.endpoint, dw.without_tag_condition())


CASES: list[tuple[str, Callable[[dw.CmkWorld], None], dict[str, tuple[str, str]]]] = [
    ("policy widened", _widen, {POLICY: ("changed", "critical")}),
    ("tag condition gone", _drop_condition, {POLICY: ("changed", "critical")}),
    ("trust changed", lambda w: dw.change_trust(w.endpoint), {ROLE: ("changed", "high")}),
    ("policy detached", lambda w: dw.detach_policy(w.endpoint), {ATTACHMENT: ("missing", "high")}),
    (
        "key lost its RDS tag",
        lambda w: dw.untag_key(w.endpoint, w.key_id, "acs:rds:instance-encryption"),
        {KEY: ("changed", "high"), CMK_INSTANCE: ("at-risk", "high")},
    ),
    (
        "key disabled",
        lambda w: world.disable_key(w.endpoint, w.key_id),
        {KEY: ("changed", "critical"), CMK_INSTANCE: ("at-risk", "critical")},
    ),
    (
        "key pending deletion",
        lambda w: dw.schedule_deletion(w.endpoint, w.key_id),
        {KEY: ("changed", "critical"), CMK_INSTANCE: ("at-risk", "critical")},
    ),
    (
        "encryption turned off",
        lambda w: dw.set_encryption(w.endpoint, w.service_instance, "disabled"),
        {"{service}": ("changed", "high")},
    ),
    (
        "moved to the service key",
        lambda w: dw.set_encryption(w.endpoint, w.cmk_instance, "ServiceKey"),
        {CMK_INSTANCE: ("changed", "high")},
    ),
    (
        "deletion protection",
        lambda w: dw.protect(w.endpoint, w.key_id),
        {KEY: ("changed", "medium")},
    ),
    (
        "description",
        lambda w: dw.describe_key(w.endpoint, w.key_id, "x"),
        {KEY: ("changed", "low")},
    ),
    (
        "user tag",
        lambda w: dw.tag_key(w.endpoint, w.key_id, {"team": "ops"}),
        {KEY: ("changed", "low")},
    ),
    (
        "instance deleted",
        lambda w: dw.delete_instance(w.endpoint, w.service_instance),
        {"{service}": ("missing", "high")},
    ),
]


def _expand(w: dw.CmkWorld, expected: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    names = {
        "{cmk}": f"rds_encryption.{w.cmk_instance}",
        "{service}": f"rds_encryption.{w.service_instance}",
    }
    return {names.get(a, a): v for a, v in expected.items()}


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_an_out_of_band_change_gives_its_item_and_severity(  # type: ignore[no-untyped-def]
    cmk, name: str, change: Callable[[dw.CmkWorld], None], expected: dict[str, Any]
) -> None:
    built, folder = cmk
    change(built)
    run = drift(built.endpoint, folder)
    assert run.exit_code == 2, (name, run.stderr)
    assert items(run) == _expand(built, expected)


def test_rotation_drift_is_medium(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    built = dw.build_cmk_world(emulator.endpoint)
    doc = built.spec()
    doc["kms_keys"]["prod"]["rotation"] = {"enabled": False}
    folder = write_spec(doc)
    assert drift(built.endpoint, folder).exit_code == 0
    dw.enable_rotation(built.endpoint, built.key_id)
    run = drift(built.endpoint, folder)
    assert run.exit_code == 2
    assert items(run) == {KEY: ("changed", "medium")}
    (item,) = json.loads(run.stdout)["items"]
    assert {"path": "rotation.enabled", "before": True, "after": False} in item["field_changes"]


def test_kms_not_activated_puts_cmk_instances_at_critical_risk(cmk) -> None:  # type: ignore[no-untyped-def]
    built, folder = cmk
    world.admin(built.endpoint, "POST", "kms", {"activated": False})
    run = drift(built.endpoint, folder)
    assert run.exit_code == 2, run.stderr
    found = items(run)
    assert found[f"rds_encryption.{built.cmk_instance}"] == ("at-risk", "critical")


def test_unmanaged_unencrypted_instances_are_medium_and_count_only_with_strict(cmk) -> None:  # type: ignore[no-untyped-def]
    built, folder = cmk
    plain = world.create_instance(built.endpoint)
    run = drift(built.endpoint, folder)
    assert run.exit_code == 0, run.stderr
    assert items(run) == {f"rds_encryption.{plain}": ("unmanaged", "medium")}
    (item,) = json.loads(run.stdout)["items"]
    assert "not encrypted" in item["message"]
    report = json.loads(run.stdout)
    assert report["coverage"]["not_encrypted"] == 1
    assert report["coverage"]["unencrypted"] == [
        {"instance_id": plain, "region": "cn-hangzhou", "managed": False}
    ]
    assert drift(built.endpoint, folder, "--strict").exit_code == 2


def test_ignore_globs_silence_items_and_the_report_counts_them(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    built = dw.build_cmk_world(emulator.endpoint)
    folder = write_spec(built.spec(ignore=["kms_key.*", "ram_role.*"]))
    dw.describe_key(built.endpoint, built.key_id, "edited by hand")
    dw.change_trust(built.endpoint)
    run = drift(built.endpoint, folder)
    assert run.exit_code == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["items"] == []
    assert report["summary"]["ignored"] == 2
    assert [(i["address"], i["glob"]) for i in report["ignored"]] == [
        ("kms_key.prod", "kms_key.*"),
        (ROLE, "ram_role.*"),
    ]
    text = run_cli("--endpoint", built.endpoint, "drift", folder)
    assert "2 ignored by defaults.ignore" in text.stdout


def test_coverage_counts_every_region_of_the_spec(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    managed = world.create_instance(emulator.endpoint, encryption_key="ServiceKey")
    world.create_instance(emulator.endpoint)
    world.create_instance(emulator.endpoint, region="cn-shanghai", encryption_key="ServiceKey")
    folder = write_spec(
        {
            "kms_keys": {"sh": {"alias": "alias/sh", "region": "cn-shanghai"}},
            "instances": {managed: {"encryption": {"key": "service"}}},
        }
    )
    run = drift(emulator.endpoint, folder)
    coverage = json.loads(run.stdout)["coverage"]
    assert coverage["instances"] == 3 and coverage["managed"] == 1
    assert coverage["regions"]["cn-hangzhou"]["not_encrypted"] == 1
    assert coverage["regions"]["cn-shanghai"]["service_key"] == 1


def test_text_markdown_and_files_of_one_run(cmk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    built, folder = cmk
    dw.change_trust(built.endpoint)
    text = run_cli("--endpoint", built.endpoint, "drift", folder)
    assert text.exit_code == 2
    assert f"HIGH     changed   {ROLE}" in text.stdout
    assert "Coverage: 2 PostgreSQL instance(s) in 11 region(s)" in text.stdout
    md = run_cli("--endpoint", built.endpoint, "drift", folder, "--format", "markdown")
    assert md.stdout.startswith("### Reconciler drift report")
    assert f"`{ROLE}`" in md.stdout
    out_json, out_md = tmp_path / "drift.json", tmp_path / "drift.md"
    both = run_cli(
        "--endpoint", built.endpoint, "drift", folder, "-o", str(out_json), "-o", str(out_md)
    )
    assert both.exit_code == 2
    assert json.loads(out_json.read_text())["summary"]["high"] == 1
    assert out_md.read_text().startswith("### Reconciler drift report")
    assert "Coverage:" in both.stdout  # the text report on stdout


def test_a_failed_read_exits_1_and_removes_an_old_report(cmk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    built, folder = cmk
    old = tmp_path / "drift.json"
    old.write_text("{}")
    world.admin(
        built.endpoint,
        "POST",
        "faults",
        {
            "action": "DescribeDBInstanceEncryptionKey",
            "code": "Forbidden",
            "status": 403,
            "rate": 1.0,
        },
    )
    run = run_cli("--endpoint", built.endpoint, "drift", folder, "-o", str(old))
    assert run.exit_code == 1
    assert run.stderr.count("Error:") == 1
    assert not old.exists()


def test_an_invalid_spec_exits_1(emulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "spec.yaml").write_text("version: 1\nnope: 1\n")
    run = run_cli("--endpoint", emulator.endpoint, "drift", str(tmp_path))
    assert run.exit_code == 1
    assert "spec is invalid" in run.stderr


def test_sarif_and_junit_files_of_a_drifted_world(cmk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import xml.etree.ElementTree as ET

    import jsonschema

    from tests.unit.drift.test_junit_sarif import sarif_schema

    built, folder = cmk
    world.disable_key(built.endpoint, built.key_id)
    sarif, junit = tmp_path / "drift.sarif", tmp_path / "drift.xml"
    run = run_cli("--endpoint", built.endpoint, "drift", folder, "-o", str(sarif), "-o", str(junit))
    assert run.exit_code == 2, run.stderr
    document = json.loads(sarif.read_text())
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
    results = document["runs"][0]["results"]
    located = {r["properties"]["address"]: r["locations"][0]["physicalLocation"] for r in results}
    key = located["kms_key.prod"]
    assert key["artifactLocation"]["uri"].endswith("spec.yaml")
    assert key["region"]["startLine"] > 1
    root = ET.parse(junit).getroot()
    failed = {c.attrib["name"] for c in root.iter("testcase") if c.find("failure") is not None}
    assert failed == {"kms_key.prod", f"rds_encryption.{built.cmk_instance}"}


def test_another_policy_attached_to_the_role_that_widens_it_is_critical(cmk) -> None:  # type: ignore[no-untyped-def]
    built, folder = cmk
    m = dw.ram_models()
    client = world.ram(built.endpoint)
    client.create_policy(
        m.CreatePolicyRequest(
            policy_name="Everything", policy_document=json.dumps(dw.widened_document())
        )
    )
    client.attach_policy_to_role(
        m.AttachPolicyToRoleRequest(
            policy_type="Custom", policy_name="Everything", role_name=dw.ROLE
        )
    )
    run = drift(built.endpoint, folder)
    assert run.exit_code == 2, run.stderr
    assert items(run) == {f"ram_attachment.{dw.ROLE}/Everything": ("changed", "critical")}
