"""DriftReport -> Markdown for an issue or pull-request comment. Pure; no timestamps.

Status line, counts by severity, a table of items (most severe first), the coverage per region
and the unencrypted instances in a collapsible block. Kept under MAX_CHARS (GitHub rejects
comments over 65,536 characters): past it, rows are cut and the comment says how many.
"""

from __future__ import annotations

from reconciler.drift.model import DriftItem, DriftReport, Severity
from reconciler.render.common import format_value
from reconciler.render.drift_text import controls_text, run_lines, tde_counts
from reconciler.render.markdown import _cell

MAX_CHARS = 65_000
MAX_UNENCRYPTED_LISTED = 300
"""Unencrypted instances named in the comment; the JSON and HTML reports list them all."""
TITLE = "### Reconciler drift report"
_ICON = {
    Severity.CRITICAL: ":red_circle:",
    Severity.HIGH: ":orange_circle:",
    Severity.MEDIUM: ":yellow_circle:",
    Severity.LOW: ":large_blue_circle:",
    Severity.INFO: ":white_circle:",
}


def _status(report: DriftReport) -> str:
    s = report.summary
    ignored = f" ({s.ignored} ignored by `defaults.ignore`)" if s.ignored else ""
    if not report.items:
        return f":white_check_mark: No drift. The cloud matches the spec.{ignored}"
    if not s.drift:
        serious = s.items - s.info  # an unmanaged unencrypted instance is `medium`
        notice = f", {serious} of them above info (not encrypted)" if serious else ""
        return f":white_check_mark: In sync; {s.unmanaged} unmanaged instance(s){notice}.{ignored}"
    return f":x: **Drift: {s.items - s.unmanaged} item(s) out of sync**{ignored}"


def _counts(report: DriftReport) -> list[str]:
    s = report.summary
    return [
        "| " + " | ".join(level.value for level in Severity) + " |",
        "|" + "---:|" * len(Severity),
        "| " + " | ".join(str(getattr(s, level.value)) for level in Severity) + " |",
    ]


def _run(report: DriftReport) -> list[str]:
    return [f"- {_cell(line)}" for line in run_lines(report)]


def _changes(item: DriftItem) -> str:
    return "<br>".join(
        _cell(f"{fc.path}: {format_value(fc.before)} → {format_value(fc.after)}")
        for fc in item.field_changes
    )


def _controls(item: DriftItem) -> str:
    return f"<br>Controls: {_cell(controls_text(item))}" if item.controls else ""


def _row(item: DriftItem) -> str:
    where = f" ({_cell(item.location)})" if item.location else ""
    return (
        f"| {_ICON[item.severity]} {item.severity.value} | {item.kind.value} | "
        f"`{_cell(item.address)}`{where}{_via(item)} | {_cell(item.message)}{_controls(item)} | "
        f"{_changes(item)} |"
    )


def _coverage(report: DriftReport) -> list[str]:
    c = report.coverage
    lines = [
        "#### Coverage",
        "",
        "| region | instances | service key | CMK | not encrypted | managed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for region, r in c.regions.items():
        if not r.instances:
            continue  # the run's "Regions read" line names every region read
        lines.append(
            f"| {region} | {r.instances} | {r.service_key} | {r.cmk} | {r.not_encrypted} | "
            f"{r.managed} |"
        )
    lines.append(
        f"| **total** | {c.instances} | {c.service_key} | {c.cmk} | {c.not_encrypted} | "
        f"{c.managed} |"
    )
    if c.tde_not_read < c.instances:
        lines += ["", f"Disk encryption and TDE: {tde_counts(c)}."]
    if c.unencrypted:
        listed = ", ".join(
            f"`{u.instance_id}` ({u.region}{'' if u.managed else ', unmanaged'})"
            for u in c.unencrypted[:MAX_UNENCRYPTED_LISTED]
        )
        if len(c.unencrypted) > MAX_UNENCRYPTED_LISTED:
            listed += f" and {len(c.unencrypted) - MAX_UNENCRYPTED_LISTED} more"
        lines += [
            "",
            f"<details><summary>{len(c.unencrypted)} not encrypted</summary>\n\n{listed}\n\n"
            "</details>",
        ]
    return lines


def render_drift_markdown(report: DriftReport, *, max_chars: int = MAX_CHARS) -> str:
    head = [TITLE, "", _status(report), "", *_run(report), "", *_counts(report), ""]
    tail = ["", *_coverage(report)]
    rows = [_row(i) for i in report.items]
    table = ["| severity | kind | address | what | cloud → spec |", "|---|---|---|---|---|"]
    budget = max_chars - len("\n".join(head + tail)) - len("\n".join(table)) - 300
    kept: list[str] = []
    for row in rows:
        budget -= len(row) + 1
        if budget < 0:
            break
        kept.append(row)
    body = [*table, *kept] if rows else []
    if len(kept) < len(rows):
        body += [
            "",
            f"_{len(rows) - len(kept)} more item(s) left out to fit one comment: run "
            "`reconciler drift` or read the JSON report for everything._",
        ]
    text = "\n".join(head + body + tail) + "\n"
    return text if len(text) <= max_chars else text[: max_chars - 1] + "\n"


def _via(item: DriftItem) -> str:
    return f" (via `{item.via}`)" if item.via else ""
