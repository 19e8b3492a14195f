"""Observed state -> spec YAML of what exists (`reconciler import`). Pure.

The spec says what exists, so it plans no changes unless the cloud itself needs some (a key
without the RDS tag, the RAM role CMK instances need missing): the header says what it plans,
computed by planning the written files (`planned_lines`).

What is written: `defaults` (the first region read, the account), then each kind's block
(`ResourceKind.to_yaml`, in kinds/<kind>/to_yaml.py: RAM in 00-defaults.yaml, the keys the
instances use in keys.yaml, the instances in one file per region). This module only assembles:
it asks the kinds in reverse apply order (a kind's block may refer to resources of a kind before
it, which then names them) and writes the blocks in apply order. Every file starts with the
`$schema` line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.core.facts import ObservedState
from reconciler.drift.yaml_blocks import ImportContext, Placement, YamlBlock, YamlEntry, resolved
from reconciler.errors import ReconcilerError
from reconciler.kinds import KINDS, find_kind
from reconciler.kinds.rds_encryption.fleets import Candidate, expand
from reconciler.kinds.rds_encryption.import_fleets import as_fleets
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.spec.models import Spec

SCHEMA_LINE = "# yaml-language-server: $schema=spec.schema.json"
Tags = Mapping[str, Mapping[str, str]]
"""Every tag of every instance read (instance id -> key -> value): given, import writes fleets
where a tag explains the instances (`--as-fleet`, kinds/rds_encryption/import_fleets.py)."""


class EntryTexts:
    """Each entry's YAML, dumped once: import writes the same entries into its draft, its
    files and its document (the dump is most of import's CPU after the reads). Keyed by the
    entry itself (held here, so its id is never reused); entries are not changed once
    import_state has made them."""

    def __init__(self) -> None:
        self._done: dict[int, tuple[YamlEntry, str]] = {}

    def of(self, entry: YamlEntry) -> str:
        found = self._done.get(id(entry))
        if found is None or found[0] is not entry:
            found = (entry, _dump({entry.name: entry.data}))
            self._done[id(entry)] = found
        return found[1]


@dataclass
class Imported:
    """The spec as blocks of plain data (references resolved), in apply order."""

    default_region: str
    account: str | None
    blocks: list[YamlBlock]
    texts: EntryTexts = field(default_factory=EntryTexts, repr=False, compare=False)

    def block(self, key: str) -> YamlBlock | None:
        """The block of the spec's top-level `key`; None when none was written."""
        return next((b for b in self.blocks if b.key == key), None)


@dataclass(frozen=True)
class Held:
    """What import leaves out so that its spec plans no change (ImportContext.left_out and
    cmk_users_left_out): found by planning the draft (`held_back`)."""

    left_out: dict[str, str] = field(default_factory=dict)
    cmk_users: str | None = None

    def lines(self) -> list[str]:
        """The header's account of it."""
        if not self.left_out and self.cmk_users is None:
            return []
        lines = ["Left out, as plan would change or refuse them (add them back to let plan act):"]
        lines += [f"- {address}: {why}" for address, why in sorted(self.left_out.items())]
        if self.cmk_users is not None:
            lines.append(f"- every instance on a CMK, and ram: {self.cmk_users}")
        return lines


@dataclass(frozen=True)
class Reading:
    """What import read of one account, and what its spec leaves out (settled)."""

    observed: ObservedState
    regions: list[str]
    """The regions read; the first is the spec's default."""
    held: Held = Held()
    tags: Tags | None = None
    imported: Imported | None = None
    """The settled spec (import_state of the above, no fleet prefix); None: settling ran out of
    rounds."""
    plan: Plan | None = None
    """What its files (as written, header aside) plan against `observed`, with `imported`."""


def held_back(plan: Plan, held: Held) -> Held | None:
    """`held` with what `plan` changes or refuses left out too; None when it adds nothing (the
    draft plans no change, or only what cannot be left out). A change or refusal of a kind
    that writes RAM leaves out every CMK user (RDS reaches a CMK through the RAM role)."""
    found = {c.address: f"plan would {c.action.value} it: {c.reason}" for c in plan.changes}
    for refusal in plan.refusals:
        first = refusal.message.split(". ")[0]
        found.setdefault(refusal.address, f"plan refuses it ({refusal.code.value}): {first}")
    left_out, cmk_users = dict(held.left_out), held.cmk_users
    for address, why in found.items():  # in plan order: RAM's first change says the cause
        kind = find_kind(address)
        if kind is not None and kind.writes_ram:
            cmk_users = cmk_users or f"RDS reaches a CMK through RAM, and {address}: {why}"
        else:
            left_out.setdefault(address, why)
    if left_out == held.left_out and cmk_users == held.cmk_users:
        return None
    return Held(left_out, cmk_users)


def import_state(
    observed: ObservedState,
    regions: list[str],
    held: Held = Held(),
    tags: Tags | None = None,
    fleet_prefix: str = "",
) -> Imported:
    """The spec data for everything observed in `regions` (the first is the default), without
    what `held` leaves out; with `tags`, as fleets where a tag explains the instances (their
    names starting with `fleet_prefix`)."""
    context = ImportContext(
        observed, list(regions), left_out=dict(held.left_out), cmk_users_left_out=held.cmk_users
    )
    for kind in reversed(KINDS):
        block = kind.to_yaml(context)
        if block is not None:
            context.blocks[kind.name] = block
    blocks = _merged([context.blocks[k.name] for k in KINDS if k.name in context.blocks])
    for block in blocks:
        block.entries = [
            YamlEntry(e.name, resolved(e.data, context.blocks), e.notes, e.region)
            for e in block.entries
        ]
    if tags is not None:
        blocks = as_fleets(blocks, tags, list(regions), fleet_prefix)
    return Imported(regions[0], observed.account_id, blocks)


def _merged(blocks: list[YamlBlock]) -> list[YamlBlock]:
    """Blocks of one key and placement as one (an instance's `tde`, kinds/rds_tde, joins its
    `encryption`, kinds/rds_encryption): a later block's entry adds its data to the earlier
    entry of its name; one with no such entry is not written (the key needs the earlier
    block's data), which its region's comments say."""
    kept: list[YamlBlock] = []
    for block in blocks:
        place = (block.key, block.placement)
        first = next((b for b in kept if (b.key, b.placement) == place), None)
        if first is None:
            kept.append(block)
            continue
        index = {e.name: n for n, e in enumerate(first.entries)}
        for entry in block.entries:
            if entry.name not in index:
                first.region_comments.setdefault(entry.region or "", []).append(
                    f"{entry.name}: its {', '.join(entry.data)} is not written, as the instance "
                    "is not imported"
                )
                continue
            old = first.entries[index[entry.name]]
            first.entries[index[entry.name]] = YamlEntry(
                old.name, {**old.data, **entry.data}, old.notes + entry.notes, old.region
            )
        for region, lines in block.region_comments.items():
            first.region_comments.setdefault(region, []).extend(lines)
    return kept


# --- YAML ------------------------------------------------------------------------------------


_DUMPER: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's emitter when PyYAML has it (ten times faster: import writes an entry per
instance), else the pure-Python one: the same text for letters, digits, punctuation and
spaces; any text reads back as itself (tests/unit/drift/test_import_yaml_emitter.py)."""


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(
        data, Dumper=_DUMPER, sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def _indent_block(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def _comment(line: str, spaces: int = 0) -> str:
    return " " * spaces + "# " + " ".join(line.split()) + "\n"


def plan_imported(spec: Spec, observed: ObservedState, tags: Tags | None = None) -> Plan:
    """The written spec planned against what import read. Import reads keys by id (those the
    instances use); plan reads the spec's keys by alias, so each is looked up here by its alias
    and region among them, as plan would find it. Its fleets are expanded over the instances
    read with their `tags`, as plan expands them (app/fleets.py)."""
    spec = _expanded(spec, observed, tags or {})
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
    return build_plan(spec, observed.model_copy(update={"keys": keys}), for_report=True)


def _expanded(spec: Spec, observed: ObservedState, tags: Tags) -> Spec:
    """The spec with its fleets' instances as `instances:` entries. import writes a fleet only
    where it selects exactly instances with its wants (import_fleets.py), so a fleet's refusal
    or warning is a bug: said so, never written."""
    if not spec.fleets:
        return spec
    candidates = [Candidate(i, tags.get(i.instance_id, {})) for i in observed.instances.values()]
    expansion = expand(spec, candidates)
    found = [f"{f.address}: {f.message}" for f in (*expansion.refusals, *expansion.warnings)]
    if found:
        raise ReconcilerError(f"the imported fleets do not plan (please report it): {found[0]}")
    return expansion.spec


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


def _entries_text(
    entries: Sequence[YamlEntry], spaces: int, texts: EntryTexts | None = None
) -> str:
    text = ""
    for entry in entries:
        text += "".join(_comment(note, spaces) for note in entry.notes)
        dumped = texts.of(entry) if texts is not None else _dump({entry.name: entry.data})
        text += _indent_block(dumped, spaces)
    return text


def _placed(imported: Imported, placement: Placement) -> list[YamlBlock]:
    return [b for b in imported.blocks if b.placement is placement]


def defaults_yaml(
    imported: Imported, regions: list[str], planned: list[str], held: Held = Held()
) -> str:
    defaults: dict[str, Any] = {"region": imported.default_region}
    if imported.account:
        defaults["account"] = imported.account
    defaults["restart"] = "maintenance-window"
    empty = [r for r in sorted(regions) if not _has_something(imported, r)]
    read = f"Written by `reconciler import` from what exists in {len(regions)} region(s): "
    text = SCHEMA_LINE + "\n#\n" + _comment(read + ", ".join(sorted(regions)) + ".")
    if empty:
        text += _comment(f"Nothing to import in {len(empty)} region(s): {', '.join(empty)}.")
    text += "".join(_comment(line) for line in [*planned, *held.lines()])
    text += _dump({"version": 1, "defaults": defaults})
    for block in _placed(imported, Placement.DEFAULTS):
        text += _entries_text(block.entries, 0, imported.texts)
    return text


def _has_something(imported: Imported, region: str) -> bool:
    """Whether the region's file would hold an instance, or a comment about one."""
    return any(
        any(e.region == region for e in block.entries) or block.region_comments.get(region)
        for block in _placed(imported, Placement.PER_REGION)
    )


def regions_with_something(
    observed: ObservedState,
    regions: list[str],
    held: Held = Held(),
    imported: Imported | None = None,
) -> list[str]:
    """The regions import writes a file for (sorted); the others had nothing to import.
    `imported`: import_state(observed, regions, held), when already made."""
    imported = imported or import_state(observed, regions, held)
    return [r for r in sorted(regions) if _has_something(imported, r)]


def _own_body(block: YamlBlock, texts: EntryTexts | None = None) -> str:
    return f"{block.key}:\n" + _entries_text(block.entries, 2, texts)


def _region_body(
    block: YamlBlock, region: str, texts: EntryTexts | None = None, *, head: bool
) -> str:
    entries = [e for e in block.entries if e.region == region]
    comments = block.region_comments.get(region, [])
    text = f"{block.key}:\n" if entries and head else ""
    if head and not entries and comments:  # a file of comments only is not a spec file
        text = f"{block.key}: {{}}\n"
    text += _entries_text(entries, 2, texts)
    return text + "".join(_comment(line) for line in comments)


def _file(*headers: str) -> str:
    return SCHEMA_LINE + "\n#\n" + "".join(_comment(h) for h in headers)


def import_files(
    observed: ObservedState,
    regions: list[str],
    planned: Sequence[str] = (),
    held: Held = Held(),
    tags: Tags | None = None,
    imported: Imported | None = None,
) -> dict[str, str]:
    """File name -> YAML text: 00-defaults.yaml (its header names the regions read, those with
    nothing to import, says `planned`, the lines of `planned_lines`, and what `held` leaves
    out), a file of each kind that writes its own (e.g. keys.yaml, when a key is used), and one
    `<region>.yaml` per region with something to import. Each file's header says what plan
    does with it (the first line of `planned`). With `tags`: fleets.yaml too (import_state).
    `imported`: import_state(observed, regions, held, tags), when already made."""
    imported = imported or import_state(observed, regions, held, tags)
    says = list(planned[:1])
    files = {"00-defaults.yaml": defaults_yaml(imported, regions, list(planned), held)}
    for block in _placed(imported, Placement.OWN_FILE):
        if block.entries:
            files[block.file_name] = _file(block.header, *says) + _own_body(block, imported.texts)
    per_region = _placed(imported, Placement.PER_REGION)
    for region in sorted(regions):
        if not _has_something(imported, region):
            continue
        files[f"{region}.yaml"] = _file(
            *(b.header.format(region=region) for b in per_region), *says
        ) + "".join(_region_body(b, region, imported.texts, head=True) for b in per_region)
    return files


def import_document(
    observed: ObservedState,
    regions: list[str],
    planned: Sequence[str] = (),
    held: Held = Held(),
    tags: Tags | None = None,
    imported: Imported | None = None,
) -> str:
    """Everything in one YAML document (for stdout); `imported` as for import_files."""
    imported = imported or import_state(observed, regions, held, tags)
    text = defaults_yaml(imported, regions, list(planned), held)
    for block in _placed(imported, Placement.OWN_FILE):
        if block.entries:
            text += _own_body(block, imported.texts)
    for block in _placed(imported, Placement.PER_REGION):
        text += f"{block.key}:\n" if block.entries else ""
        text += "".join(
            _region_body(block, region, imported.texts, head=False) for region in sorted(regions)
        )
    return text
