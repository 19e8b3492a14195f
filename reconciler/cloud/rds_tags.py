"""RDS instance tags (ListTagResources) -> {instance id: {key: value}} (issue 21, fleets;
docs/real-cloud.md, "RDS instance tags").

DescribeDBInstances' `Tags` filter keeps an instance carrying ANY of the tags, so a selector
that needs ALL of them reads each candidate's tags here, by ResourceId, 50 ids a call (the
documented maximum of ResourceId.N), every NextToken page. Fail closed: an answer row about an
instance not asked for, of another resource type, or without a string key or value stops the
reading; so does a repeated page token (the listing would never end).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.cloud.answers import reading
from reconciler.cloud.clients import CloudClients
from reconciler.cloud.rds_wire import answer, models

RESOURCE_TYPE = "INSTANCE"
"""ListTagResources' ResourceType for an RDS instance (the SDK model)."""
LISTED_TYPES = frozenset({"ALIYUN::RDS::INSTANCE"})
"""The ResourceType an answer row may name (the SDK model's comment); any other stops."""
IDS_PER_CALL = 50
MAX_PAGES = 1000
"""A guard against a NextToken that never ends (20 tags x 50 ids fit in 20 pages)."""


def instance_tags(
    clients: CloudClients, region: str, instance_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Every tag of each instance (an instance without tags maps to {})."""
    found: dict[str, dict[str, str]] = {i: {} for i in instance_ids}
    ids = sorted(found)
    for start in range(0, len(ids), IDS_PER_CALL):
        batch = ids[start : start + IDS_PER_CALL]
        for row in _rows(clients, region, batch):
            found[row[0]][row[1]] = row[2]
    return found


def _rows(clients: CloudClients, region: str, batch: list[str]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    token: str | None = None
    seen: set[str] = set()
    label = f"{region} {batch[0]}..{batch[-1]}" if len(batch) > 1 else batch[0]
    with reading("rds:ListTagResources", label):
        for _ in range(MAX_PAGES):
            request = models().ListTagResourcesRequest(
                region_id=region,
                resource_type=RESOURCE_TYPE,
                resource_id=batch,
                next_token=token,
            )
            body = answer(clients, region, "ListTagResources", "list_tag_resources", request)
            rows += [_row(item, batch) for item in _items(body)]
            token = body.get("NextToken") or None
            if token is None:
                return rows
            if token in seen:
                raise ValueError("NextToken repeats a page already read")
            seen.add(token)
        raise ValueError(f"more than {MAX_PAGES} pages of tags")


def _items(body: dict[str, Any]) -> list[Any]:
    if not body.get("RequestId"):
        raise ValueError("not an answer of the API (no RequestId)")
    listed = body["TagResources"]  # absent: not "no tags"
    items = (listed or {}).get("TagResource") or [] if isinstance(listed, dict) else None
    if not isinstance(items, list):
        raise TypeError("TagResources.TagResource is not a list")
    return items


def _row(item: Any, asked: list[str]) -> tuple[str, str, str]:
    if not isinstance(item, dict):
        raise TypeError("a TagResource is not an object")
    instance_id, key, value = item.get("ResourceId"), item.get("TagKey"), item.get("TagValue")
    if instance_id not in asked:
        raise ValueError(f"a tag of {instance_id!r}, which was not asked for")
    if item.get("ResourceType") not in LISTED_TYPES:
        raise ValueError(f"ResourceType {item.get('ResourceType')!r}")
    if not isinstance(key, str) or not key or not isinstance(value, str):
        raise TypeError(f"a tag of {instance_id} without a string key and value")
    return instance_id, key, value
