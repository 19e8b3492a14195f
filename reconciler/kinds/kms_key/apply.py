"""Apply's side of a key: the fresh read before the write, in the shape of the change's
`before`, through the kind's one view of a key (kinds/kms_key/view.py). Imports only cloud, core,
plan.model and its change bodies (kinds/kms_key/body.py)."""

from __future__ import annotations

from typing import Any

from reconciler.cloud import kms
from reconciler.cloud.clients import CloudClients
from reconciler.kinds.kms_key.body import KeyAfter, KeyBefore
from reconciler.kinds.kms_key.view import key_view
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
    """The fresh read in the shape of `before`, limited to the settings `before` holds: the
    planner's own view of the key (kinds/kms_key/view.py), from the same reads (DescribeKey,
    and ListResourceTags when the tags are compared). The alias is not read again here."""
    tags = kms.list_tags(clients, region, key_id) if "tags" in before else {}
    key = kms.key_from_metadata(metadata, region, tags=tags, aliases=[])
    rotation = before.get("rotation") or {}
    desired: dict[str, Any] = {"alias": ""}
    if "description" in before:
        desired["description"] = before["description"]
    if "rotation" in before:
        desired["rotation"] = {"enabled": "interval_days" in rotation}
    view = key_view(key, desired)
    return {k: v for k, v in view.items() if k in before and k != "alias"}
