"""`reconciler import`'s `instances:` block (pure): every PostgreSQL instance with its current
encryption, in its region's file; a CMK is referred to as a key (the kind `kms_key` names it),
and instances that cannot be encrypted (serverless, storage that is not ESSD, an edition
without disk encryption, another engine) are left out, as comments saying why."""

from __future__ import annotations

import re
from typing import Any

from reconciler.core.facts import ObservedInstance, ObservedState
from reconciler.drift.yaml_blocks import ImportContext, Placement, Ref, YamlBlock, YamlEntry
from reconciler.kinds.rds_encryption import guards
from reconciler.kinds.rds_tde.drift import SERVICE_MODE
from reconciler.spec.models import INSTANCE_ID_PATTERN

KEY_KIND = "kms_key"
"""The kind an instance's CMK is written as."""


def to_yaml(context: ImportContext) -> YamlBlock:
    observed = context.observed
    block = YamlBlock(
        "instances",
        Placement.PER_REGION,
        [],
        header="Instances in {region}, with their encryption today.",
    )
    skipped: dict[str, list[str]] = {}
    held: dict[str, list[str]] = {}
    for instance in sorted(observed.instances.values(), key=lambda i: i.instance_id):
        label = f"{instance.instance_id} ({_encryption_label(instance, observed)})"
        why = _why_not(instance)
        if why is not None:
            skipped.setdefault(instance.region, []).append(f"{label}: cannot be managed: {why}")
            continue
        held_back = why_left_out(context, instance)
        if held_back is not None:
            held.setdefault(instance.region, []).append(f"{label}: {held_back}")
            continue
        block.entries.append(_entry(instance, observed, context.default_region))
    for region, lines in skipped.items():
        intro = f"Not imported from {region}: RDS offers these no disk encryption."
        block.region_comments[region] = [intro, *lines]
    for region, lines in held.items():
        intro = (
            f"Left out of {region}, as plan would change or refuse them (an imported spec "
            "plans no change): add them to let plan act."
        )
        block.region_comments.setdefault(region, []).extend([intro, *lines])
    return block


def why_left_out(context: ImportContext, instance: ObservedInstance) -> str | None:
    """Why the instance is not written although it can be managed (ImportContext.left_out)."""
    ident = instance.instance_id
    why = context.why_left_out(f"rds_encryption.{ident}", f"rds_tde.{ident}")
    if why is None and uses_cmk(instance, context.observed):
        return context.cmk_users_left_out
    return why


def uses_cmk(instance: ObservedInstance, observed: ObservedState) -> bool:
    """Whether the instance's disk or its TDE is on a CMK (RDS reaches it through RAM)."""
    enc = instance.encryption
    disk = enc is not None and enc.enabled and not observed.on_service_key(instance)
    tde = instance.tde
    return disk or (tde is not None and tde.enabled and tde.mode != SERVICE_MODE)


def _entry(instance: ObservedInstance, observed: ObservedState, default_region: str) -> YamlEntry:
    data: dict[str, Any] = {}
    if instance.region != default_region:
        data["region"] = instance.region
    data["encryption"] = _encryption(instance, observed)
    notes: tuple[str, ...] = ()
    if instance.lock_mode.lower() != "unlock":
        notes = (
            f"locked ({instance.lock_mode}): plan warns InstanceAtRisk, and refuses any "
            "change to it until the lock is lifted",
        )
    return YamlEntry(instance.instance_id, data, notes, instance.region)


def _why_not(instance: ObservedInstance) -> str | None:
    """Why the instance cannot take disk encryption, or None when it can."""
    engine = guards.check_engine(instance)
    if engine is not None:
        return f"runs {instance.engine}; this tool manages disk encryption of PostgreSQL only"
    problems = guards.check_supports_encryption(instance)
    if problems:
        return "; ".join(
            message.split(";")[0].split(". ")[0].removeprefix(f"{instance.instance_id} ")
            for _, message in problems
        )
    if re.fullmatch(INSTANCE_ID_PATTERN, instance.instance_id) is None:
        return "its id is not one the spec language accepts"
    return None


def _encryption_label(instance: ObservedInstance, observed: ObservedState) -> str:
    enc = instance.encryption
    if enc is None or not enc.enabled:
        return "not encrypted"
    if observed.on_service_key(instance):
        return "on the service key"
    return f"on the CMK {enc.key_id}"


def _encryption(instance: ObservedInstance, observed: ObservedState) -> Any:
    enc = instance.encryption
    if enc is None or not enc.enabled:
        return "disabled"
    if observed.on_service_key(instance):
        return {"key": "service"}
    return {"key": Ref(KEY_KIND, str(enc.key_id))}
