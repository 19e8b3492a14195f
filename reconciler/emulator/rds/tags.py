"""RDS instance tags: TagResources, UntagResources, ListTagResources, and the ``Tags`` filter of
DescribeDBInstances (docs/emulator.md, "RDS: tags").

Shapes follow the SDK models (alibabacloud_rds20140815): ``ResourceId.N``, ``Tag.N.Key`` /
``Tag.N.Value``, ``TagKey.N``, ``All``; ListTagResources answers
``TagResources.TagResource[]{ResourceId, ResourceType, TagKey, TagValue}`` with ``NextToken``.
A tag lives in its instance's document (``tags``, a key -> value mapping in the order added).

Documented (TagResources' page, the SDK models): at most 20 tags per instance, 1..50
instances per call, a key already on the instance is overwritten, a value may be empty,
``ResourceType`` ``INSTANCE`` for regular instances; ListTagResources needs ``ResourceId.N``
or ``Tag.N.Key``; UntagResources' ``All`` applies only without ``TagKey.N``; DescribeDBInstances
takes at most 5 tags and returns an instance that matches **any** of them (the SDK model's
words). AddTagsToResource's page: keys up to 64 characters, values up to 128, neither starting
with ``aliyun``. Emulator choices (docs/real-cloud.md, "RDS tags"): those length and prefix rules
hold for TagResources too, and a key may not start with ``acs:`` either (both prefixes compared
ignoring case); keys and values compare case-sensitively; every bad input is 400
``InvalidParameter``; ListTagResources pages 50 rows, lists every tag of each instance that
carries all the ``Tag.N`` filters, and an id of no instance of the region lists nothing;
UntagResources without ``TagKey.N`` or ``All=true`` is refused.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.dispatch import RequestContext
from reconciler.emulator.errors import missing_parameter
from reconciler.emulator.rds import models, paging
from reconciler.emulator.rds.models import RdsWorld
from reconciler.emulator.rds.rules import invalid, not_found

RESOURCE_TYPE = "INSTANCE"
LISTED_RESOURCE_TYPE = "ALIYUN::RDS::INSTANCE"
"""ListTagResources' ``ResourceType`` value for an RDS instance (the SDK model's comment)."""
MAX_TAGS_PER_INSTANCE = 20
MAX_RESOURCES_PER_CALL = 50
MAX_KEYS_PER_CALL = 20
MAX_FILTER_TAGS = 5  # DescribeDBInstances' Tags
MAX_KEY_LENGTH, MAX_VALUE_LENGTH = 64, 128
RESERVED_KEY_PREFIXES = ("aliyun", "acs:")
RESERVED_VALUE_PREFIXES = ("aliyun",)
LIST_PAGE_ROWS = 50


def tags_of(doc: dict[str, Any]) -> dict[str, str]:
    return dict(doc.get("tags") or {})


def matches_any(doc: dict[str, Any], wanted: dict[str, str]) -> bool:
    """DescribeDBInstances' ``Tags``: the instance carries at least one of the tags."""
    have = tags_of(doc)
    return any(key in have and have[key] == value for key, value in wanted.items())


# --- the request's parts -------------------------------------------------------------------


def _check_resource_type(ctx: RequestContext) -> None:
    if ctx.required("ResourceType") != RESOURCE_TYPE:
        raise invalid(f"The emulator supports only ResourceType={RESOURCE_TYPE}.")


def _resource_ids(ctx: RequestContext, *, required: bool) -> list[str]:
    ids = [i for item in ctx.flat_list("ResourceId") if (i := item.get("", "").strip())]
    if not ids and required:
        raise missing_parameter("ResourceId.1")
    if len(ids) > MAX_RESOURCES_PER_CALL:
        raise invalid(f"ResourceId.N takes at most {MAX_RESOURCES_PER_CALL} instances.")
    return list(dict.fromkeys(ids))


def _check_text(kind: str, text: str, most: int, reserved: tuple[str, ...]) -> None:
    if len(text) > most:
        raise invalid(f"The tag {kind} {text[:20]!r}... is longer than {most} characters.")
    if text.lower().startswith(reserved):
        raise invalid(f"The tag {kind} {text!r} starts with a reserved prefix.")


def _new_tags(ctx: RequestContext) -> dict[str, str]:
    """TagResources' ``Tag.N``: a later duplicate key wins (the SDK: "overwritten")."""
    items = ctx.flat_list("Tag")
    if not items:
        raise missing_parameter("Tag.1.Key")
    tags: dict[str, str] = {}
    for item in items:
        key, value = item.get("Key", ""), item.get("Value", "")
        if not key:
            raise invalid("Every Tag.N needs a non-empty Key.")
        _check_text("key", key, MAX_KEY_LENGTH, RESERVED_KEY_PREFIXES)
        _check_text("value", value, MAX_VALUE_LENGTH, RESERVED_VALUE_PREFIXES)
        tags[key] = value
    return tags


def _tag_keys(ctx: RequestContext) -> list[str]:
    keys = [item.get("", "") for item in ctx.flat_list("TagKey")]
    if any(not k for k in keys):
        raise invalid("TagKey.N may not be empty.")
    if len(keys) > MAX_KEYS_PER_CALL:
        raise invalid(f"TagKey.N takes at most {MAX_KEYS_PER_CALL} keys.")
    return keys


def _filter_tags(ctx: RequestContext) -> list[tuple[str, str | None]]:
    """ListTagResources' ``Tag.N``: (key, value), value None when ``Tag.N.Value`` is absent."""
    items = ctx.flat_list("Tag")
    if len(items) > MAX_KEYS_PER_CALL:
        raise invalid(f"Tag.N takes at most {MAX_KEYS_PER_CALL} tags.")
    if any(not item.get("Key") for item in items):
        raise invalid("Every Tag.N needs a non-empty Key.")
    return [(item["Key"], item.get("Value")) for item in items]


def _instance(world: RdsWorld, instance_id: str) -> dict[str, Any]:
    """The instance in the request's region (a regional API: another region's is not found)."""
    doc = world.tx.get(models.KIND, world.ctx.region, instance_id)
    if doc is None:
        raise not_found(instance_id)
    return doc


# --- the actions ---------------------------------------------------------------------------


def tag_resources(ctx: RequestContext) -> dict[str, Any]:
    _check_resource_type(ctx)
    world = RdsWorld(ctx)
    ids, new = _resource_ids(ctx, required=True), _new_tags(ctx)
    for doc in [_instance(world, i) for i in ids]:
        merged = {**tags_of(doc), **new}
        if len(merged) > MAX_TAGS_PER_INSTANCE:
            raise invalid(
                f"The instance {doc['DBInstanceId']} would carry {len(merged)} tags; "
                f"at most {MAX_TAGS_PER_INSTANCE} are allowed."
            )
        world.tx.put(models.KIND, doc["RegionId"], doc["DBInstanceId"], {**doc, "tags": merged})
    return {}


def untag_resources(ctx: RequestContext) -> dict[str, Any]:
    _check_resource_type(ctx)
    world = RdsWorld(ctx)
    ids, keys = _resource_ids(ctx, required=True), _tag_keys(ctx)
    remove_all = not keys and bool(ctx.bool_param("All", False))
    if not keys and not remove_all:
        raise invalid("Give TagKey.N, or All=true to remove every tag.")
    for doc in [_instance(world, i) for i in ids]:
        kept = {} if remove_all else {k: v for k, v in tags_of(doc).items() if k not in keys}
        world.tx.put(models.KIND, doc["RegionId"], doc["DBInstanceId"], {**doc, "tags": kept})
    return {}


def list_tag_resources(ctx: RequestContext) -> dict[str, Any]:
    _check_resource_type(ctx)
    world = RdsWorld(ctx)
    ids, wanted = _resource_ids(ctx, required=False), _filter_tags(ctx)
    if not ids and not wanted:
        raise invalid("Give ResourceId.N or Tag.N.Key.")
    token = ctx.str_param("NextToken")
    offset = paging.decode_token(token) if token else 0
    rows = [row for doc in _listed(world, ids) if _carries_all(doc, wanted) for row in _rows(doc)]
    body: dict[str, Any] = {"TagResources": {"TagResource": rows[offset : offset + LIST_PAGE_ROWS]}}
    if offset + LIST_PAGE_ROWS < len(rows):
        body["NextToken"] = paging.encode_token(offset + LIST_PAGE_ROWS)
    return body


def _listed(world: RdsWorld, ids: list[str]) -> list[dict[str, Any]]:
    """The region's instances in creation order, only ``ids`` when given."""
    docs = world.tx.list(models.KIND, world.ctx.region)
    return [d for d in docs if not ids or d["DBInstanceId"] in ids]


def _carries_all(doc: dict[str, Any], wanted: list[tuple[str, str | None]]) -> bool:
    have = tags_of(doc)
    return all(k in have and (v is None or have[k] == v) for k, v in wanted)


def _rows(doc: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "ResourceId": doc["DBInstanceId"],
            "ResourceType": LISTED_RESOURCE_TYPE,
            "TagKey": key,
            "TagValue": value,
        }
        for key, value in tags_of(doc).items()
    ]


ACTIONS = {
    "TagResources": tag_resources,
    "UntagResources": untag_resources,
    "ListTagResources": list_tag_resources,
}
REQUIRED = {name: ("RegionId", "ResourceType") for name in ACTIONS}
"""The SDK models mark RegionId and ResourceType required (ResourceId.N too, for the writes:
checked by the handlers, as it is a flattened list)."""
