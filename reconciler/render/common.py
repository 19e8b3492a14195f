"""Display helpers every renderer shares: symbols, value formatting, the summary line."""

from __future__ import annotations

import json
from typing import Any

from reconciler.kinds import kind_of
from reconciler.plan.actions import KNOWN_AFTER_APPLY, Action
from reconciler.plan.model import Change, Plan

SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
RESTART_MARK = "[restart]"
"""Appended to the header of a change that restarts the instance. Not Terraform's `-/+`: that
means destroy-and-recreate, and nothing here is ever recreated."""

IRREVERSIBLE_MARK = "[irreversible]"
"""Appended to the header of a change that cannot be undone (enabling TDE)."""
IRREVERSIBLE_NOTE = (
    "IRREVERSIBLE: TDE cannot be turned off once enabled (apply needs --allow-irreversible)"
)
"""The line every format shows under such a change's header."""

NO_CHANGES = "No changes. The cloud matches the spec."


def symbol(change: Change) -> str:
    return SYMBOLS[change.action]


def format_value(value: Any) -> str:
    """One line: JSON for values, `(absent)` for a missing one, `(known after apply)` bare."""
    if value is None:
        return "(absent)"
    if value == KNOWN_AFTER_APPLY:
        return KNOWN_AFTER_APPLY
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def restart_when(change: Change) -> str:
    """When a restarting change restarts its instance, e.g. `in its maintenance window W`."""
    if change.scheduled:
        window = kind_of(change.address).maintenance_window(change) or "(not read)"
        return f"in its maintenance window {window}"
    return "when applied"


def restart_note(change: Change) -> str:
    # A scheduled change needs --allow-restart too: that RDS honours the window for an
    # encryption change is not documented (docs/real-cloud.md).
    how = "scheduled, SwitchTimeMode=MaintainTime; " if change.scheduled else ""
    return f"RESTARTS the instance {restart_when(change)} ({how}apply needs --allow-restart)"


def summary_line(plan: Plan) -> str:
    s = plan.summary
    return (
        f"Plan: {s.create} to create, {s.update} to update, {s.delete} to delete; "
        f"{s.restart} restart(s), {s.refused} refused"
    )


def via_suffix(item: Any) -> str:
    """` (via fleets.<name>)` for what a fleet brought in (docs/plan-format.md, `via`); "" for
    an `instances:` entry and for a fleet's own finding (its address names the fleet)."""
    via = getattr(item, "via", None)
    return f" (via {via})" if via and via != item.address else ""
