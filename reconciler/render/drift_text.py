"""DriftReport -> terminal text. Pure: same report, same text; the only time in it is the
observation's (`run.read_at`).

What was read (when, account, regions, tool version, spec digest); items most severe first,
each with its kind, its message, its field changes as `path: cloud -> spec` and the controls
it evidences; then the coverage per region and the unencrypted instances.
"""

from __future__ import annotations

from reconciler.drift.model import (
    Coverage,
    DriftItem,
    DriftReport,
    RegionCoverage,
    RegionsScope,
    RunInfo,
    Severity,
)
from reconciler.render.common import format_value

NO_DRIFT = "No drift. The cloud matches the spec."
_ANSI = {
    Severity.CRITICAL: "1;31",
    Severity.HIGH: "31",
    Severity.MEDIUM: "33",
    Severity.LOW: "36",
    Severity.INFO: "2",
}
MAX_UNENCRYPTED_LISTED = 50
"""Beyond this many, the text names the count only (JSON and HTML list them all)."""


def regions_phrase(run: RunInfo) -> str:
    """Which regions were read and whether that was every region of the account."""
    listed = ", ".join(run.regions_read) or "none"
    n = len(run.regions_read)
    if run.regions_scope is RegionsScope.ALL:
        return f"every region of the account ({n}): {listed}"
    if run.regions_scope is RegionsScope.NARROWED:
        return f"narrowed by --region to {n} region(s), with the spec's: {listed}"
    return f"the spec's regions only ({n}): {listed}"


def run_lines(report: DriftReport) -> list[str]:
    """When, which account, which regions, which tool version and which spec."""
    run = report.run
    spec = ", ".join(report.spec_files) or "(none)"
    return [
        f"Read at: {run.read_at or 'unknown'} (UTC)",
        f"Account: {run.account_id}",
        f"Regions read: {regions_phrase(run)}",
        f"Tool: reconciler {run.tool_version}",
        f"Spec: {run.spec_digest or 'digest unknown'} ({spec})",
    ]


def controls_text(item: DriftItem) -> str:
    return "; ".join(f"{c.framework} {c.id}" for c in item.controls)


def summary_line(report: DriftReport) -> str:
    s = report.summary
    counts = ", ".join(
        f"{getattr(s, level.value)} {level.value}" for level in Severity if getattr(s, level.value)
    )
    if s.drift:
        head = f"Drift: {s.items} item(s)" + (f" ({counts})" if counts else "")
    else:  # only unmanaged instances, which are no drift (exit 0; --strict counts them)
        # Unmanaged instances are outside the spec, not drift from it; their severities are
        # still shown: an unencrypted one is `medium` (docs/drift-format.md).
        head = "In sync: no drift" + (
            f"; {s.unmanaged} unmanaged instance(s) outside the spec ({counts})" if s.items else ""
        )
    return f"{head}; {s.ignored} ignored by defaults.ignore"


def coverage_lines(coverage: Coverage) -> list[str]:
    c = coverage
    lines = [
        f"Coverage: {c.instances} PostgreSQL instance(s) in {len(c.regions)} region(s): "
        f"{c.encrypted} encrypted ({c.service_key} service key, {c.cmk} CMK), "
        f"{c.not_encrypted} not encrypted"
        + (f", {c.not_read} not read" if c.not_read else "")
        + f"; {c.managed} managed"
    ]
    empty = [region for region, r in c.regions.items() if not r.instances]
    for region, r in c.regions.items():
        if not r.instances:
            continue
        lines.append(
            f"  {region}: {r.instances} instance(s), {r.service_key} service key, {r.cmk} CMK, "
            f"{r.not_encrypted} not encrypted"
            + (f", {r.not_read} not read" if r.not_read else "")
            + f"; {r.managed} managed"
        )
    if empty:
        lines.append(f"  no PostgreSQL instance in {len(empty)} region(s) read")
    if c.tde_not_read < c.instances:
        lines.append(f"Disk encryption and TDE: {tde_counts(c)}")
    if c.unencrypted:
        shown = c.unencrypted[:MAX_UNENCRYPTED_LISTED]
        lines.append("Not encrypted:")
        lines += [
            f"  {u.instance_id} ({u.region}, {'managed' if u.managed else 'unmanaged'})"
            for u in shown
        ]
        if len(c.unencrypted) > len(shown):
            lines.append(f"  ... and {len(c.unencrypted) - len(shown)} more")
    return lines


def _item_lines(item: DriftItem, color: bool) -> list[str]:
    via = f" (via {item.via})" if item.via else ""
    head = f"  {item.severity.value.upper():<8} {item.kind.value:<9} {item.address}{via}"
    if color:
        head = f"\x1b[{_ANSI[item.severity]}m{head}\x1b[0m"
    lines = [head, f"      {item.message}"]
    if item.location:
        lines.append(f"      spec: {item.location}")
    lines += [
        f"      {fc.path}: {format_value(fc.before)} -> {format_value(fc.after)}"
        for fc in item.field_changes
    ]
    if item.controls:
        lines.append(f"      controls: {controls_text(item)}")
    return lines


def render_drift_text(report: DriftReport, *, color: bool = False) -> str:
    out: list[str] = [*run_lines(report), ""]
    if report.items:
        out += ["Drift (most severe first; field changes read `cloud -> spec`):", ""]
        for item in report.items:
            out += [*_item_lines(item, color), ""]
    else:
        out += [NO_DRIFT, ""]
    if report.ignored:
        out.append(
            f"Ignored by defaults.ignore: {len(report.ignored)} item(s) "
            f"({', '.join(i.address for i in report.ignored[:10])}"
            + (", ..." if len(report.ignored) > 10 else "")
            + ")"
        )
        out.append("")
    out += [*coverage_lines(report.coverage), ""]
    out.append(summary_line(report))
    return "\n".join(out) + "\n"


def tde_counts(c: RegionCoverage) -> str:
    """Disk encryption and TDE together (shown where any instance's TDE was read: where the
    spec sets `tde`)."""
    return (
        f"{c.disk_only} disk only, {c.tde_only} TDE only, {c.disk_and_tde} both, "
        f"{c.neither} neither, {c.tde_not_read} TDE not read"
    )
