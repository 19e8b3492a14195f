"""`reconciler import --as-fleet` (pure; README, "Import as fleets"): the imported instances
that a tag explains become one `fleets:` entry selecting that tag, instead of one `instances:`
entry each.

A tag `key=value` explains a fleet when at least MIN_MEMBERS instances carry it, every instance
of the regions read that carries it (of any engine) is an imported `instances:` entry, and all
of them have the same wants (encryption, TDE). The fleet, expanded as plan expands it
(kinds/rds_encryption/fleets.py), then selects exactly those instances with exactly their wants,
so the spec still plans no change; a new instance carrying the tag is planned by the next plan.

Tags are chosen greedily and deterministically: the tag explaining the most instances not yet in
a fleet first, then the tag key, then its value; a tag whose instances another chosen fleet
already selects is skipped (every instance is in at most one fleet). Alibaba-owned tags (acs:)
never select. The instances no tag explains stay `instances:` entries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from reconciler.core.rules import user_tags
from reconciler.drift.yaml_blocks import Placement, YamlBlock, YamlEntry

MIN_MEMBERS = 2
"""A tag one instance carries (a name tag, say) does not make a fleet."""
FILE_NAME = "fleets.yaml"
Tag = tuple[str, str]


def as_fleets(
    blocks: list[YamlBlock],
    tags: Mapping[str, Mapping[str, str]],
    regions: list[str],
    prefix: str = "",
) -> list[YamlBlock]:
    """`blocks` with the instances a tag explains moved from the `instances` block into a new
    `fleets` block (fleets.yaml); each moved instance leaves a comment in its region's file.
    `tags`: every tag of every instance of the regions read (instance id -> key -> value).
    `prefix` starts every fleet's name (an account's, when several are imported)."""
    instances = next((b for b in blocks if b.key == "instances"), None)
    if instances is None:
        return blocks
    entries = {e.name: e for e in instances.entries}
    fleets = YamlBlock(
        "fleets",
        Placement.OWN_FILE,
        [],
        header="Fleets: the instances a tag selects (`reconciler import --as-fleet`).",
        file_name=FILE_NAME,
    )
    for chosen, members in _choose(entries, tags):
        name = _name(chosen, {e.name for e in fleets.entries}, prefix)
        fleets.entries.append(_fleet(name, chosen, [entries[m] for m in members]))
        for member in members:
            entry = entries.pop(member)
            instances.region_comments.setdefault(entry.region or regions[0], []).append(
                f"{member}: selected by fleets.{name} ({FILE_NAME})"
            )
    instances.entries = list(entries.values())
    return [*blocks, fleets] if fleets.entries else blocks


def _wants(entry: YamlEntry) -> str:
    """The entry's wants without its region, comparable."""
    return json.dumps({k: v for k, v in entry.data.items() if k != "region"}, sort_keys=True)


def _carriers(tags: Mapping[str, Mapping[str, str]]) -> dict[Tag, set[str]]:
    found: dict[Tag, set[str]] = {}
    for instance_id, own in tags.items():
        for pair in user_tags(dict(own)).items():
            found.setdefault(pair, set()).add(instance_id)
    return found


def _explains(members: set[str], entries: Mapping[str, YamlEntry]) -> bool:
    return (
        len(members) >= MIN_MEMBERS
        and members <= entries.keys()
        and len({_wants(entries[m]) for m in members}) == 1
    )


def _choose(
    entries: Mapping[str, YamlEntry], tags: Mapping[str, Mapping[str, str]]
) -> list[tuple[Tag, list[str]]]:
    usable = {t: m for t, m in _carriers(tags).items() if _explains(m, entries)}
    chosen: list[tuple[Tag, list[str]]] = []
    taken: set[str] = set()
    for pair, members in sorted(usable.items(), key=lambda i: (-len(i[1]), i[0])):
        if members & taken:
            continue
        chosen.append((pair, sorted(members)))
        taken |= members
    return chosen


def _name(pair: Tag, taken: set[str], prefix: str) -> str:
    plain = re.sub(r"[^A-Za-z0-9_.-]", "-", f"{pair[0]}-{pair[1]}".strip("-")) or "fleet"
    base = (prefix + plain)[:60]
    name, counter = base, 2
    while name in taken:
        name, counter = f"{base}-{counter}", counter + 1
    return name


def _fleet(name: str, pair: Tag, members: list[YamlEntry]) -> YamlEntry:
    regions = sorted({m.region for m in members if m.region})
    data: dict[str, Any] = {"select": {"regions": regions, "tags": {pair[0]: pair[1]}}}
    data.update({k: v for k, v in members[0].data.items() if k != "region"})
    notes = [f"{pair[0]}={pair[1]} selects today: {', '.join(m.name for m in members)}"]
    notes += [f"{m.name}: {note}" for m in members for note in m.notes]
    return YamlEntry(name, data, tuple(notes))
