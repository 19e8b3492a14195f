"""Plan -> terminal text, Terraform-like. Pure: same plan, same text; no timestamps.

Restarts are impossible to miss: a `[restart]` mark in bold red on the change's header and a
`! RESTARTS ...` line under it.
"""

from __future__ import annotations

from reconciler.plan.actions import Action
from reconciler.plan.model import Change, Plan
from reconciler.render.common import (
    NO_CHANGES,
    RESTART_MARK,
    format_value,
    restart_note,
    summary_line,
    symbol,
)

_ANSI = {"green": "32", "yellow": "33", "red": "31", "bold_red": "1;31", "bold": "1", "dim": "2"}
_ACTION_COLOUR = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if self.color else text


def _change_lines(change: Change, paint: _Painter) -> list[str]:
    style = "bold_red" if change.restart else _ACTION_COLOUR[change.action]
    head = f"  {symbol(change)} {change.action.value:<6} {change.address}"
    if change.restart:
        head += f"  {RESTART_MARK}"
    lines = [paint(head, style)]
    if change.restart:
        lines.append(paint(f"      ! {restart_note(change)}", "bold_red"))
    if change.reason:
        lines.append(f"      why: {change.reason}")
    lines.append(f"      operations: {', '.join(change.operations)}")
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
        out.append("The plan makes these changes, in this order:")
        out.append("")
        for change in plan.changes:
            out.extend(_change_lines(change, paint))
            out.append("")
    elif not plan.refusals:
        out.append(NO_CHANGES)
        out.append("")
    if plan.refusals:
        out.append(paint("Refused: the plan cannot be applied until these are fixed:", "bold_red"))
        for refusal in plan.refusals:
            out.append(paint(f"  x {refusal.address}: {refusal.code.value}", "red"))
            out.append(f"      {refusal.message}")
        out.append("")
    if plan.warnings:
        out.append(paint("Warnings:", "yellow"))
        for warning in plan.warnings:
            out.append(paint(f"  ! {warning.address}: {warning.code.value}", "yellow"))
            out.append(f"      {warning.message}")
        out.append("")
    out.append(paint(summary_line(plan), "bold"))
    return "\n".join(out) + "\n"
