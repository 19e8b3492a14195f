"""DriftReport -> SARIF 2.1.0 for code scanning (GitHub, GitLab). Pure; no timestamps.

One rule per kind (changed, missing, at-risk, unmanaged); one result per item, its level from
the severity (critical and high: error; medium: warning; low and info: note), located at the
spec file and line that declare the resource (LoadedSpec.locations), or, for what the spec does
not name (unmanaged instances, RAM when the spec omits `ram:`), at the first spec file. The
address is the result's logical location and its partial fingerprint, so a code-scanning alert
follows the resource across runs.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from reconciler.drift.model import DriftItem, DriftReport, Kind, Severity
from reconciler.render.common import format_value

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL = "reconciler"

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
    Severity.MEDIUM: "5.0",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}
_KINDS = list(_RULES)


def _uri(path: str) -> str:
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return "file://" + quote(str(posix))
    return quote(str(posix))


def _split_location(location: str) -> tuple[str, int, int] | None:
    """`file:line:col` -> (file, line, col); None when it does not read so."""
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], max(1, int(parts[1])), max(1, int(parts[2]))


def _location(item: DriftItem, spec_files: list[str]) -> dict[str, Any] | None:
    found = _split_location(item.location) if item.location else None
    if found is not None:
        path, line, col = found
        region = {"startLine": line, "startColumn": col}
    elif spec_files:
        path, region = spec_files[0], {"startLine": 1}
    else:
        return None
    return {
        "physicalLocation": {"artifactLocation": {"uri": _uri(path)}, "region": region},
        "logicalLocations": [{"name": item.address, "kind": "resource"}],
    }


def _rule(kind: Kind) -> dict[str, Any]:
    rule_id, short, full = _RULES[kind]
    return {
        "id": rule_id,
        "name": kind.value,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": full},
        "defaultConfiguration": {"level": "note" if kind is Kind.UNMANAGED else "error"},
        "properties": {"tags": ["security", "encryption"], "kind": kind.value},
    }


def _result(item: DriftItem, spec_files: list[str]) -> dict[str, Any]:
    text = item.message
    if item.field_changes:
        changes = "; ".join(
            f"{fc.path}: {format_value(fc.before)} -> {format_value(fc.after)}"
            for fc in item.field_changes
        )
        text += f" (cloud -> spec: {changes})"
    result: dict[str, Any] = {
        "ruleId": _RULES[item.kind][0],
        "ruleIndex": _KINDS.index(item.kind),
        "level": _LEVEL[item.severity],
        "message": {"text": f"{item.address}: {text}"},
        "partialFingerprints": {"address/v1": item.address},
        "properties": {
            "address": item.address,
            "kind": item.kind.value,
            "severity": item.severity.value,
            "security-severity": _SECURITY_SEVERITY[item.severity],
            "region": item.region,
        },
    }
    location = _location(item, spec_files)
    if location is not None:
        result["locations"] = [location]
    return result


def sarif_document(report: DriftReport) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL,
                        "rules": [_rule(k) for k in _KINDS],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(i, report.spec_files) for i in report.items],
                "properties": {
                    "summary": report.summary.model_dump(mode="json"),
                    "coverage": report.coverage.model_dump(
                        mode="json", exclude={"unencrypted", "regions"}
                    ),
                },
            }
        ],
    }


def render_sarif(report: DriftReport) -> str:
    return json.dumps(sarif_document(report), indent=2, ensure_ascii=False) + "\n"
