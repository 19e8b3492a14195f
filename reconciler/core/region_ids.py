"""What a region id looks like, for every layer that meets one (the spec, cloud answers)."""

from __future__ import annotations

import re

REGION_SHAPE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")
"""Lowercase letters and digits in words joined by single hyphens, starting with a letter
(cn-hangzhou, ap-southeast-1, cn-shanghai-finance-1)."""
LONGEST = 32


def is_region_id(value: object) -> bool:
    """Whether `value` has a region id's shape (not whether the region exists)."""
    return isinstance(value, str) and len(value) <= LONGEST and bool(REGION_SHAPE.fullmatch(value))
