"""Saved plans and an instance's TDE: whether a saved change was made (pure)."""

from __future__ import annotations

from typing import Any

from reconciler.core.facts import ObservedState
from reconciler.kinds.rds_tde.body import GENERATED_KEY_MODE


def achieved(instance_id: str, params: list[dict[str, Any]], observed: ObservedState) -> bool:
    """TDE of the instance of the change's address is on with the key its writes asked for
    (RDS's generated key when they named none); False when TDE was not read."""
    instance = observed.instances.get(instance_id)
    tde = instance.tde if instance is not None else None
    if tde is None or not tde.enabled:
        return False
    return all(
        p.get("DBInstanceId") == instance_id
        and (
            tde.key_id == p["EncryptionKey"]
            if p.get("EncryptionKey")
            else tde.mode == GENERATED_KEY_MODE
        )
        for p in params
    )
