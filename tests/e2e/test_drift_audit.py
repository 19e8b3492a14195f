"""Audit-grade drift reports (issue 20, build item 3), through the CLI against the emulator:
coverage of every region the account has (RDS DescribeRegions) unless --region narrows it,
unmanaged unencrypted instances ranked medium (configurable), each format saying when, which
account, which regions, which tool version and which spec, SARIF that GitHub code scanning
reads (rules with security-severity, the driver's version, URIs relative to the repository
root) and the controls each finding evidences."""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import world
from tests.e2e.conftest import PlanRun, run_cli

REGIONS = ("cn-beijing", "cn-hangzhou", "cn-shanghai")
EMULATOR_REGIONS = 11
"""The emulator's DescribeRegions lists 11 regions (docs/emulator.md)."""


def drift(endpoint: str, *args: str) -> PlanRun:
    return run_cli("--endpoint", endpoint, "drift", *args)


def _spec(folder: Path, managed: str, **defaults: Any) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "version": 1,
        "defaults": {"region": "cn-hangzhou", **defaults},
        "instances": {managed: {"encryption": {"key": "service"}}},
    }
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
    return str(folder)


@pytest.fixture
def three_regions(emulator, tmp_path: Path):  # type: ignore[no-untyped-def]
    """An unencrypted PostgreSQL instance in each of three regions; the spec names one
    encrypted instance in cn-hangzhou only."""
    endpoint = emulator.endpoint
    managed = world.create_instance(endpoint, encryption_key="ServiceKey")
    plain = {r: world.create_instance(endpoint, region=r) for r in REGIONS}
    return endpoint, _spec(tmp_path / "specs", managed), plain


def test_coverage_reads_every_region_and_ranks_unencrypted_unmanaged_medium(three_regions) -> None:  # type: ignore[no-untyped-def]
    endpoint, folder, plain = three_regions
    run = drift(endpoint, folder, "--format", "json")
    assert run.exit_code == 0, run.stderr  # unmanaged instances alone are no drift
    report = json.loads(run.stdout)
    assert report["format_version"] == "2"
    unencrypted = {(u["region"], u["instance_id"]) for u in report["coverage"]["unencrypted"]}
    assert unencrypted == {(r, i) for r, i in plain.items()}
    for region in REGIONS:
        assert report["coverage"]["regions"][region]["not_encrypted"] == 1
    severities = {i["address"]: (i["kind"], i["severity"]) for i in report["items"]}
    for instance_id in plain.values():
        assert severities[f"rds_encryption.{instance_id}"] == ("unmanaged", "medium")
    run_info = report["run"]
    assert run_info["regions_scope"] == "all"
    assert len(run_info["regions_read"]) == EMULATOR_REGIONS
    assert set(REGIONS) <= set(run_info["regions_read"])

    text = drift(endpoint, folder)
    assert text.exit_code == 0, text.stderr
    for region, instance_id in plain.items():
        assert f"{instance_id} ({region}, unmanaged)" in text.stdout
    assert "every region of the account (11)" in text.stdout


def test_an_encrypted_unmanaged_instance_stays_info(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    managed = world.create_instance(emulator.endpoint, encryption_key="ServiceKey")
    other = world.create_instance(
        emulator.endpoint, region="cn-shanghai", encryption_key="ServiceKey"
    )
    run = drift(emulator.endpoint, _spec(tmp_path / "s", managed), "--format", "json")
    items = {i["address"]: i["severity"] for i in json.loads(run.stdout)["items"]}
    assert items == {f"rds_encryption.{other}": "info"}


def test_region_narrows_the_coverage_and_is_repeatable(three_regions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint, folder, plain = three_regions
    run = drift(endpoint, folder, "--format", "json", "--region", "cn-shanghai")
    assert run.exit_code == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["run"]["regions_scope"] == "narrowed"
    assert report["run"]["regions_read"] == ["cn-hangzhou", "cn-shanghai"]  # + the spec's
    assert plain["cn-beijing"] not in json.dumps(report["coverage"])

    both = drift(
        endpoint,
        folder,
        "-o",
        str(tmp_path / "r.json"),
        "--region",
        "cn-beijing",
        "--region",
        "cn-shanghai",
    )
    assert both.exit_code == 0, both.stderr
    assert json.loads((tmp_path / "r.json").read_text())["run"]["regions_scope"] == "narrowed"
    assert "narrowed by --region to 3 region(s)" in both.stdout
    assert "every region" not in both.stdout


def test_the_severity_of_an_unencrypted_unmanaged_instance_is_configurable(
    three_regions, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    endpoint, folder, _plain = three_regions
    managed = next(iter(yaml.safe_load((Path(folder) / "spec.yaml").read_text())["instances"]))
    high = _spec(tmp_path / "high", managed, drift={"unmanaged_unencrypted": "high"})
    report = json.loads(drift(endpoint, high, "--format", "json").stdout)
    assert {i["severity"] for i in report["items"]} == {"high"}

    bad = _spec(tmp_path / "bad", managed, drift={"unmanaged_unencrypted": "urgent"})
    refused = drift(endpoint, bad, "--format", "json")
    assert refused.exit_code == 1
    assert "unmanaged_unencrypted" in refused.stderr


def test_a_failed_describe_regions_stops_the_report(three_regions) -> None:  # type: ignore[no-untyped-def]
    endpoint, folder, _ = three_regions
    world.admin(
        endpoint,
        "POST",
        "faults",
        {"action": "DescribeRegions", "code": "Forbidden.RAM", "status": 403, "times": 5},
    )
    run = drift(endpoint, folder, "--format", "json")
    assert run.exit_code == 1
    assert run.stdout == ""
    assert "DescribeRegions" in run.stderr


def _digest(files: list[str]) -> str:
    whole = hashlib.sha256()
    for name in files:
        content = hashlib.sha256(Path(name).read_bytes()).hexdigest()
        whole.update(f"{name}\0{content}\n".encode())
    return "sha256:" + whole.hexdigest()


def test_every_format_says_when_which_account_regions_version_and_spec(
    three_regions, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    endpoint, _folder, _ = three_regions
    monkeypatch.chdir(tmp_path)
    names = ["r.json", "r.txt", "r.md", "r.xml", "r.sarif", "r.html"]
    outs = [a for n in names for a in ("-o", n)]
    run = drift(endpoint, "specs", *outs)
    assert run.exit_code == 0, run.stderr
    report = json.loads(Path("r.json").read_text())
    meta = report["run"]
    assert meta["read_at"].endswith("Z") and "T" in meta["read_at"]  # from the observation
    assert meta["account_id"].isdigit()  # from the service key's ARN
    assert meta["tool_version"] == version("rds-encryption-reconciler")
    assert meta["spec_digest"] == _digest(report["spec_files"])
    for name in names[1:]:
        text = Path(name).read_text()
        for value in (
            meta["read_at"],
            meta["account_id"],
            meta["tool_version"],
            meta["spec_digest"],
        ):
            assert value in text, f"{name} lacks {value}"
        assert "cn-beijing" in text, name
    html = Path("r.html").read_text()
    assert "every region of the account" in html


def test_a_narrowed_html_report_never_claims_all_regions(three_regions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint, folder, _ = three_regions
    out = tmp_path / "r.html"
    run = drift(endpoint, folder, "-o", str(out), "--region", "cn-shanghai")
    assert run.exit_code == 0, run.stderr
    html = out.read_text()
    assert "all regions" not in html
    assert "every region of the account" not in html
    assert "narrowed by --region" in html


def _rules(sarif: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}


def test_sarif_rules_carry_security_severity_and_the_driver_its_version(
    three_regions, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    endpoint, folder, plain = three_regions
    run = drift(endpoint, folder, "--format", "sarif")
    sarif = json.loads(run.stdout)
    driver = sarif["runs"][0]["tool"]["driver"]
    assert driver["version"] == version("rds-encryption-reconciler")
    rules = _rules(sarif)
    for result in sarif["runs"][0]["results"]:
        rule = rules[result["ruleId"]]
        assert "security" in rule["properties"]["tags"]
        assert 4.0 <= float(rule["properties"]["security-severity"]) <= 6.9  # medium
        assert rule is sarif["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert len(sarif["runs"][0]["results"]) == len(plain)


def _git_repo(root: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_sarif_uris_are_relative_to_the_repository_root(
    three_regions, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    endpoint, folder, _ = three_regions
    repo = _git_repo(tmp_path / "repo")
    specs = repo / "infra" / "specs"
    specs.mkdir(parents=True)
    (specs / "spec.yaml").write_text((Path(folder) / "spec.yaml").read_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    def uris(*extra: str) -> set[tuple[str, str | None]]:
        run = drift(endpoint, str(specs), "--format", "sarif", *extra)
        assert run.exit_code == 0, run.stderr
        sarif = json.loads(run.stdout)
        found = set()
        for result in sarif["runs"][0]["results"]:
            artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
            found.add((artifact["uri"], artifact.get("uriBaseId")))
        bases = sarif["runs"][0]["originalUriBaseIds"]
        assert bases["%SRCROOT%"]["uri"].startswith("file:///")
        assert bases["%SRCROOT%"]["uri"].endswith("/")
        return found

    assert uris() == {("infra/specs/spec.yaml", "%SRCROOT%")}  # git's top level
    assert uris("--sarif-base", str(repo / "infra")) == {("specs/spec.yaml", "%SRCROOT%")}


def test_findings_name_the_controls_they_evidence(three_regions) -> None:  # type: ignore[no-untyped-def]
    endpoint, folder, _ = three_regions
    report = json.loads(drift(endpoint, folder, "--format", "json").stdout)
    for item in report["items"]:
        ids = {c["id"] for c in item["controls"]}
        assert "rule:aliyun:rds-instance-enabled-disk-encryption" in ids
    sarif = json.loads(drift(endpoint, folder, "--format", "sarif").stdout)
    result = sarif["runs"][0]["results"][0]
    assert "rds-instance-enabled-disk-encryption" in json.dumps(result["properties"]["controls"])
