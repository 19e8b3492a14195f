"""`reconciler import`'s `kms_keys:` block (pure): every key an instance refers to that the
spec can declare, named by its alias (a key without one, or in a state the spec cannot declare,
stays referred to by its id), in keys.yaml."""

from __future__ import annotations

import re
from typing import Any

from reconciler.core.facts import ObservedKey
from reconciler.core.rules import KEY_STATE_NAMES, user_tags
from reconciler.drift.yaml_blocks import ImportContext, Placement, YamlBlock, YamlEntry
from reconciler.spec.models import RDS_ENCRYPTION_TAG, KeyState

_KEY_STATES = {api: name for api, name in KEY_STATE_NAMES.items() if name in set(KeyState)}
"""The KMS key states the spec language can declare (not PendingImport)."""


def to_yaml(context: ImportContext, kind: str) -> YamlBlock:
    """The keys the written blocks refer to (as `kind`), named in the order first referred."""
    block = YamlBlock(
        "kms_keys",
        Placement.OWN_FILE,
        [],
        header="KMS keys the instances use, named by their alias.",
        file_name="keys.yaml",
    )
    for key_id in context.references(kind):
        key = context.observed.keys_by_id.get(key_id)
        aliases = sorted(a for a in (key.aliases if key else []) if not a.startswith("alias/acs/"))
        if key is None or not aliases or key.state not in _KEY_STATES:
            continue  # referred to by its id
        name = _key_name(aliases[0], set(block.names.values()), key.region)
        if context.why_left_out(f"{kind}.{name}") is not None:
            continue  # declaring it plans a change: referred to by its id (drift/importer.py)
        block.names[key_id] = name
        block.entries.append(
            YamlEntry(name, _key_entry(key, aliases[0], context.default_region), _notes(key))
        )
    return block


def _notes(key: ObservedKey) -> tuple[str, ...]:
    tag, value = RDS_ENCRYPTION_TAG
    if key.tags.get(tag, "").lower() != value:
        return (f"{key.key_id} lacks the tag {tag}={value}: plan adds it",)
    return ()


def _key_name(alias: str, taken: set[str], region: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", alias.removeprefix("alias/"))[:64] or "key"
    name = base if base not in taken else f"{base}-{region}"[:64]
    counter = 2
    while name in taken:
        name = f"{base[:58]}-{counter}"
        counter += 1
    return name


def _rotation(key: ObservedKey) -> dict[str, Any] | None:
    if not key.rotation_enabled:
        return {"enabled": False}
    days = key.rotation_interval_days
    if days is None or not 7 <= days <= 730:
        return None  # not expressible: left unmanaged (omitted)
    return {"enabled": True, "interval_days": days}


def _key_entry(key: ObservedKey, alias: str, default_region: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"alias": alias}
    if key.region != default_region:
        entry["region"] = key.region
    if key.description:
        entry["description"] = key.description
    if key.dkms_instance_id:  # DescribeKey's DKMSInstanceId; absent: the region's default key
        entry["kms_instance"] = key.dkms_instance_id
    rotation = _rotation(key)
    if rotation is not None:
        entry["rotation"] = rotation
    entry["deletion_protection"] = key.deletion_protection
    state = _KEY_STATES.get(key.state)
    if state and state != "enabled":
        entry["state"] = state
    tags = user_tags(dict(sorted(key.tags.items())))
    if tags:
        entry["tags"] = tags
    return entry
