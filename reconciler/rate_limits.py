"""The `--rate-limit` option: `service:Action=N` items checked against the actions the tool
sends (reconciler/permissions.py), over the defaults of reconciler/cloud/ratelimit.py.

It lives outside cloud/ because the list of actions is derived from the resource kinds
(reconciler/kinds/), whose apply side imports cloud/: cloud/ importing it back would be an
import cycle (tests/unit/test_architecture.py)."""

from __future__ import annotations

import math

from reconciler.cloud.ratelimit import DEFAULT_LIMITS
from reconciler.errors import ReconcilerError
from reconciler.permissions import ACTIONS

KNOWN_ACTIONS: frozenset[str] = frozenset(a.name for a in ACTIONS if not a.implied)
"""Every action the tool sends: the reads of kms.py, ram.py and rds.py and the writes a plan may
contain (Op), as reconciler/permissions.py lists them. A limit on any other name would never
apply, so it is refused. tests/unit/cli/test_rate_limit_option.py checks it against the code."""
LIMIT_FORM = "service:Action=N, e.g. rds:DescribeDBInstanceEncryptionKey=50 (N > 0; 0 = no limit)"


def qualified_action(name: str) -> str | None:
    """`service:Action` for a known action, given with or without its service; else None."""
    if name in KNOWN_ACTIONS:
        return name
    matches = [known for known in KNOWN_ACTIONS if known.split(":", 1)[1] == name]
    return matches[0] if len(matches) == 1 else None


def parse_limits(items: list[str] | tuple[str, ...]) -> dict[str, float]:
    """Parse `service:Action=N` items (a known Action alone is qualified with its service);
    `0` removes a limit. Unknown actions and numbers that are negative, not finite or not
    numbers are refused: a limit that would never apply must not pass silently."""
    limits = dict(DEFAULT_LIMITS)
    for item in items:
        name, sep, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not name or not math.isfinite(rate) or rate < 0:
            raise ReconcilerError(f"bad rate limit {item!r}: write {LIMIT_FORM}")
        action = qualified_action(name.strip())
        if action is None:
            raise ReconcilerError(
                f"bad rate limit {item!r}: {name!r} is not an action this tool calls; "
                f"write {LIMIT_FORM}"
            )
        if rate == 0:
            limits.pop(action, None)
        else:
            limits[action] = rate
    return limits
