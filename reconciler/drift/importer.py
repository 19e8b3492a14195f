"""Observed state -> spec YAML of what exists (`reconciler import`). Pure.

The spec says what exists, so it plans no changes unless the cloud itself needs some (a key
without the RDS tag, the RAM role CMK instances need missing): the header says what it plans,
computed by planning the written files (`planned_lines`).

What is written: `defaults` (the first region read, the account), the RAM block when the role
exists (managed with the defaults when the role, the custom policy with the fixed document and
the attachment are as the documented manual steps leave them; Alibaba's system policy when that
is what is attached; verify only otherwise; every other policy attached to the role listed under
`extra_policies`), every KMS key a PostgreSQL instance uses (named by
its alias where it has one, else referred to by key id from the instance), and every
PostgreSQL instance with its current encryption. Instances that cannot be encrypted
(serverless, storage that is not ESSD, an edition without disk encryption, another engine) are
left out, as comments saying why. Every file starts with the `$schema` line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.core.rules import KEY_STATE_NAMES, user_tags
from reconciler.plan import guards
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.plan.ram_attachments import unwanted_attachments
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
    same_policy_document,
)
from reconciler.spec.models import (
    DEFAULT_POLICY,
    DEFAULT_ROLE,
    INSTANCE_ID_PATTERN,
    RDS_ENCRYPTION_TAG,
    KeyState,
    RamSpec,
    Spec,
)
from reconciler.state.models import ObservedInstance, ObservedKey, ObservedRam, ObservedState

SCHEMA_LINE = "# yaml-language-server: $schema=spec.schema.json"
_KEY_STATES = {api: name for api, name in KEY_STATE_NAMES.items() if name in set(KeyState)}
"""The KMS key states the spec language can declare (not PendingImport)."""


@dataclass
class Imported:
    """The spec as plain data, and the comments that go with it."""

    default_region: str
    account: str | None
    ram: dict[str, Any] | None
    ram_note: str | None
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    key_notes: dict[str, str] = field(default_factory=dict)
    instances: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Region -> instance id -> its spec entry."""
    skipped: dict[str, list[str]] = field(default_factory=dict)
    """Region -> comment lines for instances left out."""
    notes: dict[str, list[str]] = field(default_factory=dict)
    """Instance id -> comment lines above its entry."""


_NO_ROLE_NOTE = (
    f"role {DEFAULT_ROLE} does not exist, and CMK instances need it to reach their keys: "
    "plan creates it, its policy and the attachment"
)


def _ram(ram: ObservedRam | None) -> tuple[dict[str, Any] | None, str | None]:
    """The RAM block, and a note; (None, None) when the role does not exist (the block is
    then written only if a CMK is used, by `_ram_for_cmks`)."""
    block, note = _ram_block(ram)
    if block is None or ram is None:
        return block, note
    # The role's attachments are exclusive: every other policy attached today is kept by name,
    # so the imported spec plans no detach (a reviewer sees them listed and may drop some).
    kept = unwanted_attachments(RamSpec.model_validate(block), ram)
    if kept:
        block["extra_policies"] = [{"name": p.name, "type": p.policy_type.lower()} for p in kept]
    return block, note


def _ram_block(ram: ObservedRam | None) -> tuple[dict[str, Any] | None, str | None]:
    if ram is None or ram.role is None:
        return None, None
    trusted = same_policy_document(ram.role.trust_document, RDS_ENCRYPTION_TRUST_DOCUMENT)
    custom_ok = (
        ram.policy is not None
        and same_policy_document(ram.policy.document, RDS_ENCRYPTION_POLICY_DOCUMENT)
        and ram.attached(DEFAULT_POLICY, "Custom")
    )
    if trusted and custom_ok:
        return {"manage": True}, None
    if trusted and ram.attached(DEFAULT_POLICY, "System"):
        return {"manage": True, "policy_type": "system"}, None
    return (
        {"manage": False},
        f"role {DEFAULT_ROLE} exists but its trust, policy or attachment is not as the "
        "documented manual steps leave them: verify only (set manage: true to let plan repair "
        "them)",
    )


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


def import_state(observed: ObservedState, regions: list[str]) -> Imported:
    """The spec data for everything observed in `regions` (the first is the default)."""
    default_region = regions[0]
    ram, ram_note = _ram(observed.ram)
    out = Imported(default_region, observed.account_id, ram, ram_note)
    names: dict[str, str] = {}  # key id -> logical name
    for instance in sorted(observed.instances.values(), key=lambda i: i.instance_id):
        why = _why_not(instance)
        if why is not None:
            out.skipped.setdefault(instance.region, []).append(
                f"{instance.instance_id} ({_encryption_label(instance, observed)}): "
                f"cannot be managed: {why}"
            )
            continue
        entry: dict[str, Any] = {}
        if instance.region != default_region:
            entry["region"] = instance.region
        entry["encryption"] = _encryption(instance, observed, out, names)
        if instance.lock_mode.lower() != "unlock":
            out.notes[instance.instance_id] = [
                f"locked ({instance.lock_mode}): plan warns InstanceAtRisk, and refuses any "
                "change to it until the lock is lifted"
            ]
        out.instances.setdefault(instance.region, {})[instance.instance_id] = entry
    if out.ram is None and _uses_cmk(out):
        # Omitted, the spec would manage RAM anyway (CMKs are used): say so where it shows.
        out.ram, out.ram_note = {"manage": True}, _NO_ROLE_NOTE
    return out


def _uses_cmk(imported: Imported) -> bool:
    entries = [e for region in imported.instances.values() for e in region.values()]
    return any(
        isinstance(e["encryption"], dict) and e["encryption"]["key"] != "service" for e in entries
    )


def _encryption(
    instance: ObservedInstance, observed: ObservedState, out: Imported, names: dict[str, str]
) -> Any:
    enc = instance.encryption
    if enc is None or not enc.enabled:
        return "disabled"
    if observed.on_service_key(instance):
        return {"key": "service"}
    key_id = str(enc.key_id)
    if key_id in names:
        return {"key": names[key_id]}
    key = observed.keys_by_id.get(key_id)
    aliases = sorted(a for a in (key.aliases if key else []) if not a.startswith("alias/acs/"))
    if key is None or not aliases or key.state not in _KEY_STATES:
        return {"key": key_id}
    name = _key_name(aliases[0], set(out.keys), key.region)
    names[key_id] = name
    out.keys[name] = _key_entry(key, aliases[0], out.default_region)
    tag, value = RDS_ENCRYPTION_TAG
    if key.tags.get(tag, "").lower() != value:
        out.key_notes[name] = f"{key_id} lacks the tag {tag}={value}: plan adds it"
    return {"key": name}


# --- YAML ------------------------------------------------------------------------------------


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _indent_block(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def _comment(line: str, spaces: int = 0) -> str:
    return " " * spaces + "# " + " ".join(line.split()) + "\n"


def plan_imported(spec: Spec, observed: ObservedState) -> Plan:
    """The written spec planned against what import read. Import reads keys by id (those the
    instances use); plan reads the spec's keys by alias, so each is looked up here by its alias
    and region among them, as plan would find it."""
    by_alias = {
        (alias, key.region): key
        for key in observed.keys_by_id.values()
        if key is not None
        for alias in key.aliases
    }
    keys = {
        name: by_alias.get((entry.alias, spec.key_region(name)))
        for name, entry in spec.kms_keys.items()
    }
    return build_plan(spec, observed.model_copy(update={"keys": keys}))


def planned_lines(plan: Plan) -> list[str]:
    """What the written spec plans against what import read, for the header: computed by
    planning it, so "no changes" is said only when true."""
    if not plan.changes and not plan.refusals:
        lines = ["`reconciler plan` on these files plans no changes (as import read the cloud)."]
    else:
        lines = [
            f"`reconciler plan` on these files plans {len(plan.changes)} change(s) and "
            f"{len(plan.refusals)} refusal(s) (as import read the cloud):"
        ]
        lines += [f"- {c.action.value} {c.address}" for c in plan.changes]
        lines += [f"- refused {r.address}: {r.code.value}" for r in plan.refusals]
    warned = sorted({(w.address, w.code.value) for w in plan.warnings})
    lines += [f"- warns {address}: {code}" for address, code in warned]
    return lines


def defaults_yaml(imported: Imported, regions: list[str], planned: list[str]) -> str:
    defaults: dict[str, Any] = {"region": imported.default_region}
    if imported.account:
        defaults["account"] = imported.account
    defaults["restart"] = "maintenance-window"
    text = (
        SCHEMA_LINE
        + "\n#\n"
        + _comment(f"Written by `reconciler import` from what exists in {', '.join(regions)}.")
        + "".join(_comment(line) for line in planned)
    )
    text += _dump({"version": 1, "defaults": defaults})
    if imported.ram is not None:
        if imported.ram_note:
            text += _comment(imported.ram_note)
        text += _dump({"ram": imported.ram})
    return text


def _keys_body(imported: Imported) -> str:
    text = "kms_keys:\n"
    for name, entry in imported.keys.items():
        if name in imported.key_notes:
            text += _comment(imported.key_notes[name], 2)
        text += _indent_block(_dump({name: entry}), 2)
    return text


def _instances_body(imported: Imported, region: str, *, head: bool) -> str:
    text = ""
    instances = imported.instances.get(region, {})
    if instances:
        text += "instances:\n" if head else ""
        for instance_id, entry in instances.items():
            for note in imported.notes.get(instance_id, []):
                text += _comment(note, 2)
            text += _indent_block(_dump({instance_id: entry}), 2)
    skipped = imported.skipped.get(region, [])
    if skipped:
        text += _comment(f"Not imported from {region}: RDS offers these no disk encryption.")
        text += "".join(_comment(line) for line in skipped)
    return text


def import_files(
    observed: ObservedState, regions: list[str], planned: Sequence[str] = ()
) -> dict[str, str]:
    """File name -> YAML text: 00-defaults.yaml (its header says `planned`, the lines of
    `planned_lines`), keys.yaml (when a key is used), and one file per region read
    (`<region>.yaml`)."""
    imported = import_state(observed, regions)
    files = {"00-defaults.yaml": defaults_yaml(imported, regions, list(planned))}
    if imported.keys:
        files["keys.yaml"] = (
            SCHEMA_LINE
            + "\n#\n"
            + _comment("KMS keys the instances use, named by their alias.")
            + _keys_body(imported)
        )
    for region in sorted(regions):
        files[f"{region}.yaml"] = (
            SCHEMA_LINE
            + "\n#\n"
            + _comment(f"Instances in {region}, with their encryption today.")
            + _instances_body(imported, region, head=True)
        )
    return files


def import_document(observed: ObservedState, regions: list[str], planned: list[str] = ()) -> str:
    """Everything in one YAML document (for stdout)."""
    imported = import_state(observed, regions)
    text = defaults_yaml(imported, regions, list(planned))
    if imported.keys:
        text += _keys_body(imported)
    if imported.instances:
        text += "instances:\n"
    for region in sorted(regions):
        text += _instances_body(imported, region, head=False)
    return text
