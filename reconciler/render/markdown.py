"""Plan -> Markdown for a pull-request comment. Pure; no timestamps.

Refusals first, then a summary table, warnings, and one collapsible <details> per change.
GitHub rejects comments over 65,536 characters: the output stays under MAX_CHARS, and past it
keeps the counts, the refusals and as many changes as fit (one line each), and says so.
"""

from __future__ import annotations

from reconciler.plan.model import Change, Plan
from reconciler.render.common import (
    NO_CHANGES,
    format_value,
    restart_note,
    restart_when,
    summary_line,
    symbol,
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


def _refusals(plan: Plan) -> list[str]:
    if not plan.refusals:
        return []
    lines = ["#### :x: Refused", "", "| address | code | what to do |", "|---|---|---|"]
    lines += [
        f"| `{_cell(r.address)}` | {r.code.value} | {_cell(r.message)} |" for r in plan.refusals
    ]
    return [*lines, ""]


def _warnings(plan: Plan) -> list[str]:
    if not plan.warnings:
        return []
    lines = ["#### :warning: Warnings", ""]
    lines += [
        f"- `{_cell(w.address)}` **{w.code.value}**: {_cell(w.message)}" for w in plan.warnings
    ]
    return [*lines, ""]


def _headline(change: Change) -> str:
    mark = f" — :warning: **restarts {restart_when(change)}**" if change.restart else ""
    return f"<code>{symbol(change)} {change.address}</code> ({change.action.value}){mark}"


def _change_details(change: Change) -> str:
    body = [f"operations: {', '.join(change.operations)}"]
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


def _assemble(head: list[str], blocks: list[str], note: str | None) -> str:
    parts = ["\n".join(head)]
    if blocks:
        parts.append("#### Changes, in apply order\n\n" + "\n".join(blocks))
    if note:
        parts.append(note)
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def render_markdown(plan: Plan, *, max_chars: int = MAX_CHARS) -> str:
    """The plan as a PR comment, never longer than `max_chars`."""
    head = [
        TITLE,
        "",
        _status(plan),
        "",
        *_refusals(plan),
        *_summary_table(plan),
        "",
        *_warnings(plan),
    ]
    full = _assemble(head, [_change_details(c) for c in plan.changes], None)
    if len(full) <= max_chars:
        return full
    # Too long: drop the warnings (each change line marks its restart) and list changes one
    # line each, as many as fit, then say what was left out.
    head = [TITLE, "", _status(plan), "", *_refusals(plan), *_summary_table(plan), ""]
    if len(_assemble(head, [], "x" * 200)) > max_chars:
        head = [
            TITLE,
            "",
            _status(plan),
            "",
            *_summary_table(plan),
            "",
            f"{len(plan.refusals)} refusals: too many to show here.",
        ]
    shown: list[str] = []
    for index, change in enumerate(plan.changes):
        line = f"- {_headline(change)}"
        note = _omitted(len(plan.changes) - index - 1, len(plan.warnings))
        if len(_assemble(head, [*shown, line], note)) > max_chars:
            break
        shown.append(line)
    return _assemble(head, shown, _omitted(len(plan.changes) - len(shown), len(plan.warnings)))


def _omitted(changes: int, warnings: int) -> str:
    return (
        f"_This plan is too long for one comment: {changes} more change(s) and the "
        f"{warnings} warning(s) and field-level details are left out. Run "
        "`reconciler plan` or read the JSON plan artifact for everything._"
    )
