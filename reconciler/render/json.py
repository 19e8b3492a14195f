"""Plan -> the JSON document of docs/plan-format.md (also the saved plan file). Pure and
stable: keys in the model's fixed order, lists in plan order, two-space indent, trailing newline."""

from __future__ import annotations

import json

from reconciler.plan.model import Plan, plan_to_dict


def render_json(plan: Plan) -> str:
    """The plan as JSON; `reconciler.plan.model.load_plan` reads it back into an equal Plan."""
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"
