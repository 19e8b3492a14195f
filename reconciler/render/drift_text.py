"""DriftReport -> terminal text. Pure: same report, same text; no timestamps.

Items most severe first, each with its kind, its message and its field changes as
`path: cloud -> spec`; then the coverage per region and the unencrypted instances.
"""

from __future__ import annotations

from reconciler.drift.model import Coverage, DriftItem, DriftReport, RegionCoverage, Severity
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


def summary_line(report: DriftReport) -> str:
    s = report.summary
    counts = ", ".join(
        f"{getattr(s, level.value)} {level.value}" for level in Severity if getattr(s, level.value)
    )
    if s.drift:
        head = f"Drift: {s.items} item(s)" + (f" ({counts})" if counts else "")
    else:  # only unmanaged instances, which are no drift (exit 0; --strict counts them)
        head = "In sync: no drift" + (
            f"; {s.items} informational item(s) ({s.unmanaged} unmanaged instance(s))"
            if s.items
            else ""
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
    for region, r in c.regions.items():
        lines.append(
            f"  {region}: {r.instances} instance(s), {r.service_key} service key, {r.cmk} CMK, "
            f"{r.not_encrypted} not encrypted"
            + (f", {r.not_read} not read" if r.not_read else "")
            + f"; {r.managed} managed"
        )
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
    head = f"  {item.severity.value.upper():<8} {item.kind.value:<9} {item.address}"
    if color:
        head = f"\x1b[{_ANSI[item.severity]}m{head}\x1b[0m"
    lines = [head, f"      {item.message}"]
    if item.location:
        lines.append(f"      spec: {item.location}")
    lines += [
        f"      {fc.path}: {format_value(fc.before)} -> {format_value(fc.after)}"
        for fc in item.field_changes
    ]
    return lines


def render_drift_text(report: DriftReport, *, color: bool = False) -> str:
    out: list[str] = []
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
