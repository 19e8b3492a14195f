"""The drift finding of a planned TDE change (pure): TDE off where the spec wants it on, or on
another key, is high (issue 19), said from the change's views, never its human reason."""

from __future__ import annotations

from reconciler.core.facts import ObservedState
from reconciler.drift.finding import FIX, Finding
from reconciler.drift.model import Kind, Severity
from reconciler.kinds.rds_encryption.desired import describe_value
from reconciler.kinds.rds_tde.body import TdeAfter, TdeBefore
from reconciler.plan.model import Change


def tde_changed(change: Change, observed: ObservedState) -> Finding:
    now = TdeBefore.of(change, "before").tde.key
    after = TdeAfter.of(change)
    key_name = after.key_address.partition(".")[2] if after.key_address else None
    return Finding(
        change.address,
        Kind.CHANGED,
        Severity.HIGH,
        f"TDE is {describe_value(now)}; the spec wants it on with "
        f"{describe_value(after.tde.key, key_name)}. {FIX}",
        tuple(change.field_changes),
        change.region,
    )
