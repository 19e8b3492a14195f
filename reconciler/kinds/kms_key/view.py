"""The one view of a key (issue 17: a kind's one view of the facts): its settings as the spec
writes them, from an observed key. The planner's `before` and apply's fresh check before a
write both come from here (kinds/kms_key/plan.py, kinds/kms_key/apply.py), so what the plan
showed and what apply compares cannot drift apart. Pure: imports only core."""

from __future__ import annotations

from typing import Any

from reconciler.core.facts import ObservedKey
from reconciler.core.rules import key_state_name, managed_tags


def key_view(key: ObservedKey, desired: dict[str, Any]) -> dict[str, Any]:
    """The same settings as observed, limited to what `desired` manages."""
    wanted = desired["alias"]
    # Observe finds a spec key by its alias (then listed), or adopts a key with no alias at
    # all (a CreateKey whose answer was lost): its alias is then absent, and made.
    has_it = wanted.lower() in (a.lower() for a in key.aliases)
    alias = wanted if has_it else (sorted(key.aliases)[0] if key.aliases else None)
    view: dict[str, Any] = {
        "alias": alias,
        "state": key_state_name(key.state),
        "deletion_protection": key.deletion_protection,
        "tags": managed_tags(key.tags),
    }
    if "description" in desired:
        view["description"] = key.description
    if "rotation" in desired:
        view["rotation"] = {"enabled": key.rotation_enabled}
        if desired["rotation"]["enabled"]:
            view["rotation"]["interval_days"] = key.rotation_interval_days
    return view
