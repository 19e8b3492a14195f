"""Plan -> terminal text, Terraform-like. Pure: same plan, same text; no timestamps.

Restarts are impossible to miss: a `[restart]` mark on the change's header and a
`! RESTARTS ...` line under it, in bold magenta: a look of their own, apart from refusals (red)
and warnings (yellow). With colour, the summary's non-zero counts take the same looks.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.plan.actions import Action
from reconciler.plan.model import Change, Plan, PlanWarning, Refusal
from reconciler.render.common import (
    IRREVERSIBLE_MARK,
    IRREVERSIBLE_NOTE,
    NO_CHANGES,
    RESTART_MARK,
    format_value,
    restart_note,
    summary_line,
    symbol,
    via_suffix,
)

_ANSI = {
    "green": "32",
    "yellow": "33",
    "red": "31",
    "bold_red": "1;31",
    "bold_magenta": "1;35",
    "bold": "1",
    "dim": "2",
}
RESTART_STYLE = "bold_magenta"
REFUSAL_STYLE = "bold_red"
_ACTION_COLOUR = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if self.color else text


def _change_lines(change: Change, paint: _Painter) -> list[str]:
    style = RESTART_STYLE if change.restart else _ACTION_COLOUR[change.action]
    head = f"  {symbol(change)} {change.action.value:<6} {change.address}{via_suffix(change)}"
    if change.restart:
        head += f"  {RESTART_MARK}"
    if change.irreversible:
        head += f"  {IRREVERSIBLE_MARK}"
    lines = [paint(head, style)]
    if change.restart:
        lines.append(paint(f"      ! {restart_note(change)}", RESTART_STYLE))
    if change.irreversible:
        lines.append(paint(f"      ! {IRREVERSIBLE_NOTE}", RESTART_STYLE))
    if change.reason:
        lines.append(f"      why: {change.reason}")
    lines.append(f"      operations: {', '.join(change.op_names)}")
    if change.depends_on:
        lines.append(f"      depends on: {', '.join(change.depends_on)}")
    for fc in change.field_changes:
        lines.append(f"      {fc.path}: {format_value(fc.before)} -> {format_value(fc.after)}")
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan for a terminal or a CI log; ANSI colour only when `color`."""
    paint = _Painter(color)
    out: list[str] = []
    if plan.changes:
        out.append(
            "The plan would make these changes, in this order, but it is refused (see below):"
            if plan.refusals
            else "The plan makes these changes, in this order:"
        )
        out.append("")
        for change in plan.changes:
            out.extend(_change_lines(change, paint))
            out.append("")
    elif not plan.refusals:
        out.append(NO_CHANGES)
        out.append("")
    out += _findings(
        "Refused: the plan cannot be applied until these are fixed:",
        ("x", "red", REFUSAL_STYLE),
        plan.refusals,
        paint,
    )
    out += _findings("Warnings:", ("!", "yellow", "yellow"), plan.warnings, paint)
    out.append(_summary(plan, paint))
    return "\n".join(out) + "\n"


def _summary(plan: Plan, paint: _Painter) -> str:
    """summary_line(plan), with each non-zero count in the look of what it counts."""
    text = summary_line(plan)
    if not paint.color:
        return text
    s = plan.summary
    looks = [
        (f"{s.create} to create", s.create, "green"),
        (f"{s.update} to update", s.update, "yellow"),
        (f"{s.delete} to delete", s.delete, "red"),
        (f"{s.restart} restart(s)", s.restart, RESTART_STYLE),
        (f"{s.refused} refused", s.refused, REFUSAL_STYLE),
    ]
    head, rest = text.split(" ", 1)
    for part, count, style in looks:
        if count:
            rest = rest.replace(part, paint(part, style), 1)
    return f"{paint(head, 'bold')} {rest}"


def _findings(
    title: str,
    look: tuple[str, str, str],
    findings: Sequence[Refusal | PlanWarning],
    paint: _Painter,
) -> list[str]:
    """A titled list of refusals or warnings; `look` is (mark, item style, title style)."""
    if not findings:
        return []
    mark, style, title_style = look
    lines = [paint(title, title_style)]
    for finding in findings:
        where = f"{finding.address}{via_suffix(finding)}"
        lines.append(paint(f"  {mark} {where}: {finding.code.value}", style))
        lines.append(f"      {finding.message}")
    return [*lines, ""]
