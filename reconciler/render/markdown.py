"""Plan -> Markdown for a pull-request comment. Pure; no timestamps.

Refusals first, then a summary table, warnings, and one collapsible <details> per change.
GitHub rejects comments over 65,536 characters: the output stays under MAX_CHARS, and past it
keeps the counts, as many refusals and then changes (one line each) as fit, and says so.
"""

from __future__ import annotations

from reconciler.plan.model import Change, Plan
from reconciler.render.common import (
    IRREVERSIBLE_NOTE,
    NO_CHANGES,
    format_value,
    restart_note,
    restart_when,
    summary_line,
    symbol,
    via_suffix,
)

MAX_CHARS = 65_000
TITLE = "### Reconciler plan"


def _cell(text: str) -> str:
    """Text safe inside a table cell: no pipes, no line breaks, no HTML."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\n", " ")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _fence(body: str) -> str:
    """A code block whose fence is longer than any backtick run inside it."""
    longest, run = 0, 0
    for ch in body:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{body}\n{fence}"


def _status(plan: Plan) -> str:
    if plan.refusals:
        return f":x: **{summary_line(plan)}** — the plan cannot be applied."
    if not plan.changes:
        return f":white_check_mark: {NO_CHANGES}"
    marker = ":warning: " if plan.summary.restart else ""
    return f"{marker}**{summary_line(plan)}**"


def _summary_table(plan: Plan) -> list[str]:
    s = plan.summary
    rows = [
        ("create", s.create),
        ("update", s.update),
        ("delete", s.delete),
        ("restart (on apply or in the maintenance window)", s.restart),
        ("refused", s.refused),
    ]
    return ["| | count |", "|---|---:|", *(f"| {name} | {n} |" for name, n in rows)]


def _refusal_rows(plan: Plan) -> list[str]:
    return [
        f"| `{_cell(r.address)}`{_cell(via_suffix(r))} | {r.code.value} | {_cell(r.message)} |"
        for r in plan.refusals
    ]


def _warnings(plan: Plan) -> list[str]:
    if not plan.warnings:
        return []
    lines = ["#### :warning: Warnings", ""]
    lines += [
        f"- `{_cell(w.address)}`{_cell(via_suffix(w))} **{w.code.value}**: {_cell(w.message)}"
        for w in plan.warnings
    ]
    return [*lines, ""]


def _headline(change: Change) -> str:
    mark = f" — :warning: **restarts {restart_when(change)}**" if change.restart else ""
    if change.irreversible:
        mark += " — :no_entry: **irreversible**"
    via = via_suffix(change)
    return f"<code>{symbol(change)} {change.address}</code>{via} ({change.action.value}){mark}"


def _change_details(change: Change) -> str:
    body = [f"operations: {', '.join(change.op_names)}"]
    if change.irreversible:
        body.insert(0, f"! {IRREVERSIBLE_NOTE}")
    if change.restart:
        body.insert(0, f"! {restart_note(change)}")
    if change.depends_on:
        body.append(f"depends on: {', '.join(change.depends_on)}")
    body += [
        f"{fc.path}: {format_value(fc.before)} -> {format_value(fc.after)}"
        for fc in change.field_changes
    ]
    why = f"{_cell(change.reason)}\n\n" if change.reason else ""
    return (
        f"<details><summary>{_headline(change)}</summary>\n\n{why}"
        f"{_fence(chr(10).join(body))}\n\n</details>"
    )


def _head(plan: Plan, refusal_rows: list[str], *, warnings: bool) -> list[str]:
    """Everything above the changes: status, refusals (those rows), counts, warnings."""
    head = [TITLE, "", _status(plan), ""]
    if refusal_rows:
        head += ["#### :x: Refused", "", "| address | code | what to do |", "|---|---|---|"]
        head += [*refusal_rows, ""]
    head += [*_summary_table(plan), ""]
    return head + (_warnings(plan) if warnings else [])


def _assemble(head: list[str], blocks: list[str], note: str | None) -> str:
    parts = ["\n".join(head)]
    if blocks:
        parts.append("#### Changes, in apply order\n\n" + "\n".join(blocks))
    if note:
        parts.append(note)
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def render_markdown(plan: Plan, *, max_chars: int = MAX_CHARS) -> str:
    """The plan as a PR comment, never longer than `max_chars`."""
    rows = _refusal_rows(plan)
    details = [_change_details(c) for c in plan.changes]
    full = _assemble(_head(plan, rows, warnings=True), details, None)
    return full if len(full) <= max_chars else _summarised(plan, rows, max_chars)


def _summarised(plan: Plan, refusal_rows: list[str], max_chars: int) -> str:
    """Too long for one comment: no warnings and no details; as many refusals, then as many
    changes (one line each, restarts marked), as fit; and a note of what was left out."""
    longest_note = _omitted(plan, len(refusal_rows), len(plan.changes))
    # The fixed part: the head with an (empty) refusal table, the changes title, the note.
    room = max_chars - len(_assemble(_head(plan, [""], warnings=False), [""], longest_note))
    shown_refusals = _fit(refusal_rows, room)
    room -= sum(len(row) + 1 for row in shown_refusals)
    shown_changes = _fit([f"- {_headline(c)}" for c in plan.changes], room)
    note = _omitted(
        plan, len(refusal_rows) - len(shown_refusals), len(plan.changes) - len(shown_changes)
    )
    return _assemble(_head(plan, shown_refusals, warnings=False), shown_changes, note)


def _fit(rows: list[str], room: int) -> list[str]:
    """The leading rows that fit in `room` characters, one line each."""
    kept: list[str] = []
    for row in rows:
        room -= len(row) + 1
        if room < 0:
            break
        kept.append(row)
    return kept


def _omitted(plan: Plan, refusals: int, changes: int) -> str:
    hidden_refusals = f"{refusals} more refusal(s), " if refusals else ""
    return (
        f"_This plan is too long for one comment: {hidden_refusals}{changes} more change(s) and "
        f"the {len(plan.warnings)} warning(s) and field-level details are left out. Run "
        "`reconciler plan` or read the JSON plan artifact for everything._"
    )
