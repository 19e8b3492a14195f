"""DriftReport -> one self-contained HTML file. Pure; no timestamps.

No network and no external asset: styles, script and pictures are inline, and a Content
Security Policy forbids the page to load anything. The coverage is an inline SVG, one stacked
bar per region (service key, CMK, not encrypted, not read). The items are a table with every
field of every item, filterable by severity (check boxes), region and kind (selects) and
sortable by any column (click its header; severity sorts by rank). Without script the table is
still complete, in the report's order.
"""

from __future__ import annotations

from html import escape

from reconciler.drift.model import Coverage, DriftItem, DriftReport, Kind, RegionCoverage, Severity
from reconciler.render.common import format_value
from reconciler.render.drift_text import controls_text, run_lines, summary_line

TOTAL = "total"
"""The label of the coverage's total row: never "all regions", which the regions read may not
be (the run's `Regions read` line says whether they were every region of the account)."""

COLOURS = {
    "service_key": "#2e7d32",
    "cmk": "#1565c0",
    "not_encrypted": "#c62828",
    "not_read": "#9e9e9e",
}
LABELS = {
    "service_key": "service key",
    "cmk": "CMK",
    "not_encrypted": "not encrypted",
    "not_read": "not read",
}
_BAR_WIDTH = 440
_ROW = 34

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d1d1d}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
#run{display:grid;grid-template-columns:max-content auto;gap:0 12px;margin:4px 0}#run dd{margin:0}
.status{font-weight:600;margin:8px 0 16px}.drift{color:#b71c1c}.sync{color:#1b5e20}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:6px 8px;
text-align:left;vertical-align:top}th{background:#f5f5f5;cursor:pointer;user-select:none;
white-space:nowrap}td:nth-child(4){white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}code{font-size:12px}
.sev{font-weight:600;text-transform:uppercase;font-size:12px}
.sev-critical{color:#fff;background:#b71c1c;padding:1px 6px;border-radius:3px}
.sev-high{color:#b71c1c}.sev-medium{color:#e65100}.sev-low{color:#0277bd}.sev-info{color:#616161}
.filters{display:flex;gap:18px;flex-wrap:wrap;align-items:center;margin:8px 0}
.changes{margin:0;padding-left:16px;max-width:460px}.muted{color:#757575}
.changes code,td:nth-child(3) code{overflow-wrap:anywhere}td:nth-child(5){min-width:240px}
td:nth-child(6){min-width:340px}td:nth-child(3){min-width:200px}
"""

_SCRIPT = """
(function () {
  var table = document.getElementById("items");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var shown = document.getElementById("shown");
  function wanted() {
    var severities = {};
    document.querySelectorAll("input.severity-filter").forEach(function (box) {
      severities[box.value] = box.checked;
    });
    return {
      severities: severities,
      region: document.getElementById("region-filter").value,
      kind: document.getElementById("kind-filter").value
    };
  }
  function filter() {
    var w = wanted(), count = 0;
    rows.forEach(function (row) {
      var ok = w.severities[row.dataset.severity] &&
        (!w.region || row.dataset.region === w.region) &&
        (!w.kind || row.dataset.kind === w.kind);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = String(count);
  }
  document.querySelectorAll("input.severity-filter, select.filter").forEach(function (el) {
    el.addEventListener("change", filter);
  });
  table.querySelectorAll("th[data-key]").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.dataset.key;
      var up = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th[data-key]").forEach(function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      rows.sort(function (a, b) {
        var x = a.dataset[key], y = b.dataset[key];
        var order = key === "rank" ? Number(x) - Number(y) : x.localeCompare(y);
        if (order === 0) { order = a.dataset.address.localeCompare(b.dataset.address); }
        return up ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
  filter();
}());
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _bar(y: int, label: str, counts: dict[str, int], total: int) -> list[str]:
    parts = [f'<text x="0" y="{y + 17}" class="region">{_e(label)}</text>']
    x = 150.0
    for name in ("service_key", "cmk", "not_encrypted", "not_read"):
        count = counts[name]
        if not count or not total:
            continue
        width = _BAR_WIDTH * count / total
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="24" '
            f'fill="{COLOURS[name]}" data-part="{name}" data-count="{count}">'
            f"<title>{_e(label)}: {count} {LABELS[name]}</title></rect>"
        )
        x += width
    parts.append(
        f'<text x="{150 + _BAR_WIDTH + 8}" y="{y + 17}">{total} instance(s): '
        f"{counts['service_key']} service key, {counts['cmk']} CMK, "
        f"{counts['not_encrypted']} not encrypted</text>"
    )
    return parts


def coverage_svg(coverage: Coverage) -> str:
    """One 100% stacked bar per region, and one for the total."""
    rows = [(region, r) for region, r in coverage.regions.items()]
    rows.append((TOTAL, coverage))
    height = _ROW * len(rows) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="coverage-chart" role="img" '
        f'width="{150 + _BAR_WIDTH + 440}" height="{height}" '
        f'aria-label="disk encryption per region" font-size="13">'
    ]
    for index, (label, r) in enumerate(rows):
        counts = {name: getattr(r, name) for name in COLOURS}
        parts += _bar(index * _ROW, label, counts, r.instances)
    x = 150
    for name, colour in COLOURS.items():
        y = _ROW * len(rows) + 8
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{y + 11}">{LABELS[name]}</text>')
        x += 130
    parts.append("</svg>")
    return "".join(parts)


TDE_COLUMNS = (
    ("disk_only", "disk encryption only"),
    ("tde_only", "TDE only"),
    ("disk_and_tde", "both"),
    ("neither", "neither"),
    ("tde_not_read", "TDE not read"),
)
"""The coverage of disk encryption and TDE together (TDE is read where the spec sets `tde`)."""


def tde_table(coverage: Coverage) -> str:
    """Per region and in total: instances with disk encryption only, TDE only, both, neither,
    and those whose TDE was not read."""
    head = "".join(f'<th scope="col">{_e(title)}</th>' for _, title in TDE_COLUMNS)
    rows = [(region, r) for region, r in coverage.regions.items()]
    rows.append((TOTAL, coverage))
    body = "".join(_tde_row(label, r) for label, r in rows)
    return (
        '<table id="tde-coverage"><caption>Disk encryption and TDE</caption><thead><tr>'
        f'<th scope="col">Region</th>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _tde_row(label: str, r: RegionCoverage) -> str:
    cells = "".join(f'<td data-part="{name}">{getattr(r, name)}</td>' for name, _ in TDE_COLUMNS)
    return f'<tr data-region="{_e(label)}"><th scope="row">{_e(label)}</th>{cells}</tr>'


def _changes(item: DriftItem) -> str:
    if not item.field_changes:
        return '<span class="muted">-</span>'
    lines = "".join(
        f"<li><code>{_e(fc.path)}</code>: <code>{_e(format_value(fc.before))}</code> &rarr; "
        f"<code>{_e(format_value(fc.after))}</code></li>"
        for fc in item.field_changes
    )
    return f'<ul class="changes">{lines}</ul>'


def _controls(item: DriftItem) -> str:
    if not item.controls:
        return ""
    return f'<br><span class="muted controls">Controls: {_e(controls_text(item))}</span>'


def _run(report: DriftReport) -> str:
    """When, which account, which regions, which tool version and which spec."""
    rows = "".join(
        f"<dt>{_e(name)}</dt><dd>{_e(value.strip())}</dd>"
        for name, _, value in (line.partition(":") for line in run_lines(report))
    )
    return f'<dl id="run" class="muted">{rows}</dl>'


def _row(item: DriftItem) -> str:
    region = item.region or "global"
    data = (
        f'data-severity="{_e(item.severity.value)}" data-rank="{item.severity.rank}" '
        f'data-kind="{_e(item.kind.value)}" data-region="{_e(region)}" '
        f'data-address="{_e(item.address)}" data-location="{_e(item.location or "")}"'
    )
    return (
        f"<tr {data}>"
        f'<td><span class="sev sev-{_e(item.severity.value)}">{_e(item.severity.value)}</span></td>'
        f"<td>{_e(item.kind.value)}</td><td><code>{_e(item.address)}</code></td>"
        f"<td>{_e(region)}</td><td>{_e(item.message)}{_controls(item)}</td>"
        f"<td>{_changes(item)}</td>"
        f"<td>{_e(item.location or '')}</td></tr>"
    )


def _filters(report: DriftReport) -> str:
    counts = {s: sum(i.severity is s for i in report.items) for s in Severity}
    boxes = "".join(
        f'<label><input type="checkbox" class="severity-filter" id="filter-{s.value}" '
        f'value="{s.value}" checked> {s.value} ({counts[s]})</label>'
        for s in Severity
    )
    regions = sorted({i.region or "global" for i in report.items})
    region_options = "".join(f'<option value="{_e(r)}">{_e(r)}</option>' for r in regions)
    kind_options = "".join(f'<option value="{k.value}">{k.value}</option>' for k in Kind)
    return (
        f'<div class="filters"><span>Severity: {boxes}</span>'
        f'<label>Region: <select class="filter" id="region-filter"><option value="">all</option>'
        f"{region_options}</select></label>"
        f'<label>Kind: <select class="filter" id="kind-filter"><option value="">all</option>'
        f"{kind_options}</select></label>"
        f'<span>Showing <span id="shown">{len(report.items)}</span> of {len(report.items)}'
        "</span></div>"
    )


_HEADERS = (
    ("rank", "Severity"),
    ("kind", "Kind"),
    ("address", "Address"),
    ("region", "Region"),
    ("", "What"),
    ("", "Cloud &rarr; spec"),
    ("location", "Spec"),
)


def _table(report: DriftReport) -> str:
    if not report.items:
        return '<p class="sync" id="no-items">No drift. The cloud matches the spec.</p>'
    head = "".join(
        f'<th data-key="{key}" scope="col">{title}</th>' if key else f'<th scope="col">{title}</th>'
        for key, title in _HEADERS
    )
    body = "".join(_row(i) for i in report.items)
    return (
        f'{_filters(report)}<table id="items"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _lists(report: DriftReport) -> str:
    out = []
    if report.coverage.unencrypted:
        names = "".join(
            f"<li><code>{_e(u.instance_id)}</code> ({_e(u.region)}"
            f"{'' if u.managed else ', unmanaged'})</li>"
            for u in report.coverage.unencrypted
        )
        out.append(
            f'<details id="unencrypted"><summary>{len(report.coverage.unencrypted)} instance(s) '
            f"not encrypted</summary><ul>{names}</ul></details>"
        )
    if report.ignored:
        names = "".join(
            f"<li><code>{_e(i.address)}</code> ({_e(i.kind.value)}, {_e(i.severity.value)}; "
            f"<code>{_e(i.glob)}</code>)</li>"
            for i in report.ignored
        )
        out.append(
            f'<details id="ignored"><summary>{len(report.ignored)} item(s) ignored by '
            f"defaults.ignore</summary><ul>{names}</ul></details>"
        )
    return "".join(out)


def render_html(report: DriftReport) -> str:
    drifted = report.summary.drift
    status_class = "drift" if drifted else "sync"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Reconciler drift report</title><style>{_STYLE}</style></head><body>"
        "<h1>Reconciler drift report</h1>"
        f"{_run(report)}"
        f'<p class="status {status_class}" id="status">{_e(summary_line(report))}</p>'
        f"<h2>Coverage</h2>{coverage_svg(report.coverage)}{tde_table(report.coverage)}"
        f"{_lists(report)}"
        f"<h2>Items</h2>{_table(report)}"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
