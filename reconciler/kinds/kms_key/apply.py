"""Apply's side of a key: the fresh read before the write, in the shape of the change's
`before` (key state names and managed tags by reconciler.core.rules). Imports only cloud, core,
plan.model and its change bodies (kinds/kms_key/body.py)."""

from __future__ import annotations

from typing import Any

from reconciler.cloud import kms
from reconciler.cloud.clients import CloudClients
from reconciler.core.rules import key_state_name, managed_tags, rotation_days
from reconciler.kinds.kms_key.body import KeyAfter, KeyBefore
from reconciler.plan.model import Change


def moved(change: Change, clients: CloudClients) -> str | None:
    region = str(change.region)
    if change.before is None:  # create: the alias must still be free
        alias = KeyAfter.of(change).alias
        holder = kms.alias_target(clients, region, alias)
        return None if holder is None else f"the alias {alias} now exists (key {holder})"
    key_id = str(change.target_id)
    metadata = kms.describe_key(clients, region, key_id)
    if metadata is None:
        return f"key {key_id} no longer exists"
    before = KeyBefore.of(change, "before").wire()  # the settings it holds, as planned
    now = _key_view(clients, region, key_id, metadata, before)
    differ = sorted(k for k in now if now[k] != before.get(k))
    if not differ:
        return None
    return "; ".join(f"{k} is now {now[k]!r}, was {before.get(k)!r}" for k in differ)


def _key_view(
    clients: CloudClients,
    region: str,
    key_id: str,
    metadata: dict[str, Any],
    before: dict[str, Any],
) -> dict[str, Any]:
    """The fresh read in the shape of `before`, limited to the settings `before` holds."""
    view: dict[str, Any] = {}
    if "state" in before:
        state = str(metadata.get("KeyState"))
        view["state"] = key_state_name(state)
    if "deletion_protection" in before:
        view["deletion_protection"] = (
            str(metadata.get("DeletionProtection", "")).lower() == "enabled"
        )
    if "description" in before:
        view["description"] = metadata.get("Description") or ""
    if "rotation" in before:
        rotation: dict[str, Any] = {
            "enabled": str(metadata.get("AutomaticRotation", "")).lower() == "enabled"
        }
        if "interval_days" in before["rotation"]:
            rotation["interval_days"] = rotation_days(metadata.get("RotationInterval"))
        view["rotation"] = rotation
    if "tags" in before:
        tags = kms.list_tags(clients, region, key_id)
        view["tags"] = managed_tags(tags)
    return view
