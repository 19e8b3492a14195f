"""What a kind's `to_yaml` gives `reconciler import` (drift/importer.py assembles the files):
its block of the spec, where the block goes, and references to resources of other kinds,
resolved once the kind that owns them has written its block. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.core.facts import ObservedState


class Placement(StrEnum):
    """Which file a block goes to."""

    DEFAULTS = "defaults"
    """00-defaults.yaml, after `defaults` (each entry is a top-level key)."""
    OWN_FILE = "own_file"
    """A file of its own (`file_name`), written only when the block has entries."""
    PER_REGION = "per_region"
    """One file per region read (`<region>.yaml`), each with the entries of its region."""


@dataclass(frozen=True)
class Ref:
    """The spec's name of a resource of kind `kind`, known by `ident` (e.g. a key id)."""

    kind: str
    ident: str


@dataclass(frozen=True)
class YamlEntry:
    """One entry of a block: `name: data`, with comment lines above it."""

    name: str
    data: Any
    notes: tuple[str, ...] = ()
    region: str | None = None
    """The region whose file it goes to (PER_REGION)."""


@dataclass
class YamlBlock:
    """A kind's part of the spec."""

    key: str
    """The spec's top-level key (`ram`, `kms_keys`, `instances`)."""
    placement: Placement
    entries: list[YamlEntry]
    header: str = ""
    """The comment heading its file (`{region}` is the region, PER_REGION)."""
    file_name: str = ""
    """OWN_FILE: the file's name."""
    names: dict[str, str] = field(default_factory=dict)
    """ident -> the spec's name, for the Refs to this kind; an ident without one is written
    as it is."""
    region_comments: dict[str, list[str]] = field(default_factory=dict)
    """Region -> comment lines at the end of its file (what was left out, and why)."""


@dataclass
class ImportContext:
    """What a kind's `to_yaml` may ask: the observation, the regions read (the first is the
    spec's default) and the blocks of the kinds written before it (those after it in apply
    order: the ones that refer to it)."""

    observed: ObservedState
    regions: list[str]
    blocks: dict[str, YamlBlock] = field(default_factory=dict)
    """Kind name -> its block."""
    left_out: dict[str, str] = field(default_factory=dict)
    """Plan address -> why the resource is not written: planning the draft spec planned a
    change or a refusal there (drift/importer.py), and an imported spec plans no changes. The
    kind that writes the address leaves it out, as a comment saying why."""
    cmk_users_left_out: str | None = None
    """Why every instance using a CMK (for its disk or TDE) is left out: the draft planned a
    change or refusal of RAM, which RDS needs to reach a CMK (docs/real-cloud.md, RAM)."""

    def why_left_out(self, *addresses: str) -> str | None:
        """Why the first of `addresses` that is left out is; None when none is."""
        return next((self.left_out[a] for a in addresses if a in self.left_out), None)

    @property
    def default_region(self) -> str:
        return self.regions[0]

    def references(self, kind: str) -> list[str]:
        """The idents of `kind` the written blocks refer to, each once, in the order written."""
        found: dict[str, None] = {}
        for block in self.blocks.values():
            for entry in block.entries:
                for ref in _refs(entry.data):
                    if ref.kind == kind:
                        found.setdefault(ref.ident, None)
        return list(found)


def _refs(data: Any) -> list[Ref]:
    if isinstance(data, Ref):
        return [data]
    if isinstance(data, dict):
        return [r for value in data.values() for r in _refs(value)]
    if isinstance(data, list):
        return [r for value in data for r in _refs(value)]
    return []


def resolved(data: Any, blocks: dict[str, YamlBlock]) -> Any:
    """`data` with each Ref replaced by the spec's name its kind gave it, else its ident. A Ref
    to a kind that wrote no block is a bug: KeyError."""
    if isinstance(data, Ref):
        return blocks[data.kind].names.get(data.ident, data.ident)
    if isinstance(data, dict):
        return {k: resolved(v, blocks) for k, v in data.items()}
    if isinstance(data, list):
        return [resolved(v, blocks) for v in data]
    return data
