"""Fields added to a digested document after its digests existed (docs/plan-format.md: a plan's
spec digest and fingerprint) are left out of its dumps while unset, so documents that do not use
them keep their digests: a saved plan made before the field existed is not stale for nothing."""

from __future__ import annotations

from typing import Any

UNSET_VALUES: tuple[Any, ...] = (None, "", [], {})


def without_unset(data: Any, names: frozenset[str]) -> Any:
    """`data` (a model's dump) without the keys in `names` whose value is unset."""
    if not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items() if not (k in names and v in UNSET_VALUES)}
