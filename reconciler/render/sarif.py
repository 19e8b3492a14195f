"""DriftReport -> SARIF 2.1.0 for code scanning (GitHub, GitLab). Pure: the only time in it is
the observation's (`invocations[0].startTimeUtc`, the report's `run.read_at`).

One rule per kind and severity that occurs (`ChangedFromSpec/high`, `UnmanagedInstance/medium`):
GitHub takes an alert's severity from its RULE's `properties.security-severity`, not from the
result. One result per item, its level from the severity (critical and high: error; medium:
warning; low and info: note), located at the spec file and line that declare the resource
(LoadedSpec.locations), or, for what the spec does not name (unmanaged instances, RAM when the
spec omits `ram:`), at the first spec file; URIs relative to the repository root
(`%SRCROOT%`, SarifContext) where it is known. The address is the result's logical location
and its partial fingerprint, so a code-scanning alert follows the resource across runs. The
controls a finding evidences are in its result's and its rule's properties and the rule's help.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from reconciler.drift.model import Control, DriftItem, DriftReport, Kind, Severity
from reconciler.render.common import format_value

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL = "reconciler"
SRCROOT = "%SRCROOT%"


@dataclass(frozen=True)
class SarifContext:
    """What the renderer cannot know by itself (cli/sarif_base.py finds it)."""

    root_uri: str | None = None
    """`file:///.../` of the repository root; None when unknown (URIs stay as given)."""
    relative: Mapping[str, str] = field(default_factory=dict)
    """Spec file as the report names it -> its path relative to the root (files under it)."""
    information_uri: str | None = None
    """The tool's home page, for the driver's informationUri; left out when None."""


_RULES: dict[Kind, tuple[str, str, str]] = {
    Kind.CHANGED: (
        "ChangedFromSpec",
        "A resource differs from the spec",
        "The cloud differs from what the spec declares (what `reconciler plan` would change). "
        "Run `reconciler plan` to see the fix, or list the address in defaults.ignore.",
    ),
    Kind.MISSING: (
        "MissingFromCloud",
        "A resource the spec declares does not exist",
        "The spec declares a RAM role, policy, attachment, KMS key or instance the cloud does "
        "not have. CMK instances fail at their next key operation while RAM pieces are missing.",
    ),
    Kind.AT_RISK: (
        "EncryptionAtRisk",
        "RDS cannot, or soon will not, use an instance's key",
        "An instance is locked or about to be: its key disabled, pending deletion, untagged, or "
        "KMS not activated; or RAM no longer lets RDS use keys.",
    ),
    Kind.UNMANAGED: (
        "UnmanagedInstance",
        "A PostgreSQL instance the spec does not name",
        "An instance outside the spec: never changed by the tool. Its disk encryption is in the "
        "message; add it under instances to manage it.",
    ),
}
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "7.5",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}
"""GitHub's scale: critical 9.0+, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9 (info: none)."""


def _artifact(path: str, context: SarifContext) -> dict[str, str]:
    if path in context.relative and context.root_uri:
        return {"uri": quote(context.relative[path]), "uriBaseId": SRCROOT}
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return {"uri": "file://" + quote(str(posix))}
    return {"uri": quote(str(posix))}


def _split_location(location: str) -> tuple[str, int, int] | None:
    """`file:line:col` -> (file, line, col); None when it does not read so."""
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], max(1, int(parts[1])), max(1, int(parts[2]))


def _location(
    item: DriftItem, spec_files: list[str], context: SarifContext
) -> dict[str, Any] | None:
    found = _split_location(item.location) if item.location else None
    if found is not None:
        path, line, col = found
        region = {"startLine": line, "startColumn": col}
    elif spec_files:
        path, region = spec_files[0], {"startLine": 1}
    else:
        return None
    return {
        "physicalLocation": {"artifactLocation": _artifact(path, context), "region": region},
        "logicalLocations": [{"name": item.address, "kind": "resource"}],
    }


RuleKey = tuple[Kind, Severity]


def _rule_id(key: RuleKey) -> str:
    return f"{_RULES[key[0]][0]}/{key[1].value}"


def _controls(controls: list[Control]) -> list[dict[str, str]]:
    return [c.model_dump() for c in controls]


def _rule(key: RuleKey, controls: list[Control]) -> dict[str, Any]:
    kind, severity = key
    _, short, full = _RULES[kind]
    help_text = full
    if controls:
        help_text += " Evidence for: " + "; ".join(
            f"{c.framework} {c.id} ({c.title})" for c in controls
        )
    return {
        "id": _rule_id(key),
        "name": f"{kind.value}-{severity.value}",
        "shortDescription": {"text": f"{short} ({severity.value})"},
        "fullDescription": {"text": full},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": _LEVEL[severity]},
        "properties": {
            "tags": ["security", "encryption", kind.value],
            "security-severity": _SECURITY_SEVERITY[severity],
            "kind": kind.value,
            "severity": severity.value,
            "controls": _controls(controls),
        },
    }


def _rules(items: list[DriftItem]) -> dict[RuleKey, list[Control]]:
    """Each kind and severity that occurs, in a stable order, with its items' controls."""
    found: dict[RuleKey, list[Control]] = {}
    for item in items:
        controls = found.setdefault((item.kind, item.severity), [])
        controls += [c for c in item.controls if c not in controls]
    order = list(_RULES)
    return dict(sorted(found.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1].rank)))


def _result(
    item: DriftItem, spec_files: list[str], index: int, context: SarifContext
) -> dict[str, Any]:
    text = item.message
    if item.field_changes:
        changes = "; ".join(
            f"{fc.path}: {format_value(fc.before)} -> {format_value(fc.after)}"
            for fc in item.field_changes
        )
        text += f" (cloud -> spec: {changes})"
    result: dict[str, Any] = {
        "ruleId": _rule_id((item.kind, item.severity)),
        "ruleIndex": index,
        "level": _LEVEL[item.severity],
        "message": {"text": f"{item.address}: {text}"},
        "partialFingerprints": {"address/v1": item.address},
        "properties": {
            "address": item.address,
            "kind": item.kind.value,
            "severity": item.severity.value,
            "security-severity": _SECURITY_SEVERITY[item.severity],
            "region": item.region,
            "controls": _controls(item.controls),
        },
    }
    location = _location(item, spec_files, context)
    if location is not None:
        result["locations"] = [location]
    return result


def _driver(report: DriftReport, rules: dict[RuleKey, list[Control]], uri: str | None) -> Any:
    driver: dict[str, Any] = {"name": TOOL, "version": report.run.tool_version}
    if report.run.tool_version != "unknown":
        driver["semanticVersion"] = report.run.tool_version
    if uri:
        driver["informationUri"] = uri
    driver["rules"] = [_rule(key, controls) for key, controls in rules.items()]
    return driver


def _invocation(report: DriftReport) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if report.run.read_at:
        invocation["startTimeUtc"] = report.run.read_at
    return invocation


def sarif_document(report: DriftReport, context: SarifContext | None = None) -> dict[str, Any]:
    context = context or SarifContext()
    rules = _rules(report.items)
    index = {key: i for i, key in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": _driver(report, rules, context.information_uri)},
        "invocations": [_invocation(report)],
    }
    if context.root_uri:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": context.root_uri}}
    run |= {
        "columnKind": "unicodeCodePoints",
        "results": [
            _result(i, report.spec_files, index[(i.kind, i.severity)], context)
            for i in report.items
        ],
        "properties": {
            "run": report.run.model_dump(mode="json"),
            "summary": report.summary.model_dump(mode="json"),
            "coverage": report.coverage.model_dump(mode="json", exclude={"unencrypted", "regions"}),
            "coverage_regions": sorted(report.coverage.regions),
            "unencrypted": [u.model_dump(mode="json") for u in report.coverage.unencrypted],
        },
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(report: DriftReport, context: SarifContext | None = None) -> str:
    return json.dumps(sarif_document(report, context), indent=2, ensure_ascii=False) + "\n"
