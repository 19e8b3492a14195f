"""DriftReport -> JUnit XML, so CI dashboards (GitLab, Jenkins, GitHub test reporters) show
drift as tests. Pure; no timestamps.

One test case per address: every address the spec declares (passing when in sync), every item
(a failure, except an unmanaged instance, which passes with its encryption in system-out unless
`strict`), and every ignored item (skipped, naming the glob). The coverage goes in the suite's
properties. Elements and attributes are those the common JUnit schema requires: testsuites >
testsuite(name, tests, failures, errors, skipped) > testcase(name, classname) > failure(message,
type) | skipped(message).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reconciler.drift.model import DriftItem, DriftReport, Kind
from reconciler.render.common import format_value
from reconciler.render.drift_text import controls_text, regions_phrase

SUITE = "reconciler drift"


def _classname(address: str) -> str:
    return "reconciler.drift." + address.split(".", 1)[0]


def _details(item: DriftItem) -> str:
    lines = [item.message]
    if item.location:
        lines.append(f"spec: {item.location}")
    lines += [
        f"{fc.path}: {format_value(fc.before)} -> {format_value(fc.after)}"
        for fc in item.field_changes
    ]
    if item.controls:
        lines.append(f"controls: {controls_text(item)}")
    return "\n".join(lines)


def _case(address: str) -> ET.Element:
    return ET.Element("testcase", {"name": address, "classname": _classname(address)})


def _run_properties(report: DriftReport) -> list[tuple[str, str]]:
    run = report.run
    return [
        ("run.read_at", run.read_at or "unknown"),
        ("run.account_id", run.account_id),
        ("run.regions_scope", run.regions_scope.value),
        ("run.regions_read", regions_phrase(run)),
        ("run.tool_version", run.tool_version),
        ("run.spec_digest", run.spec_digest or "unknown"),
        ("run.spec_files", ", ".join(report.spec_files)),
    ]


def render_junit(report: DriftReport, *, strict: bool = False) -> str:
    items = {i.address: i for i in report.items}
    ignored = {i.address: i for i in report.ignored}
    addresses = sorted(set(report.checked) | set(items) | set(ignored))
    cases: list[ET.Element] = []
    failures = skipped = 0
    for address in addresses:
        case = _case(address)
        item = items.get(address)
        if item is not None and (item.kind is not Kind.UNMANAGED or strict):
            failures += 1
            failure = ET.SubElement(
                case,
                "failure",
                {
                    "message": f"{item.severity.value} {item.kind.value}: {item.message}",
                    "type": f"{item.kind.value}.{item.severity.value}",
                },
            )
            failure.text = _details(item)
        elif item is not None:
            ET.SubElement(case, "system-out").text = item.message
        elif address in ignored:
            skipped += 1
            ET.SubElement(
                case,
                "skipped",
                {"message": f"ignored by defaults.ignore ({ignored[address].glob})"},
            )
        cases.append(case)
    counts = {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
    }
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in _run_properties(report):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    c = report.coverage
    for name in ("instances", "encrypted", "service_key", "cmk", "not_encrypted", "managed"):
        ET.SubElement(
            properties, "property", {"name": f"coverage.{name}", "value": str(getattr(c, name))}
        )
    suite.extend(cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
