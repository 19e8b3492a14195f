"""`reconciler import --accounts FILE` (pure; README, "Import of several accounts"): the specs of
several accounts' readings as one spec folder.

Each account is read and settled on its own (app/importer.py), as one account is; here its
blocks (drift/importer.py `import_state`) are written into one spec: `accounts:` (as the file
gave it, with the `account_id` each account's credentials landed in), `account: <name>` on
every key, instance and fleet, and files per account (`<account>.keys.yaml`,
`<account>.fleets.yaml`, `<account>.<region>.yaml`). With more than one account, the name of
each key and fleet starts with its account (`alpha.rds-prod`): two accounts may use the same
alias or tag. The spec
has one `ram:` block for every account, so the accounts' RAM must import the same; otherwise
the import stops (a block right for one account would plan a change in another).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.drift.importer import (
    SCHEMA_LINE,
    Imported,
    Reading,
    _comment,
    _dump,
    _entries_text,
    _file,
    _has_something,
    _own_body,
    _placed,
    _region_body,
    import_state,
)
from reconciler.drift.yaml_blocks import Placement, YamlBlock, YamlEntry
from reconciler.errors import ReconcilerError

OWNED = ("kms_keys", "instances", "fleets")
"""The blocks whose entries belong to one account (`account:`)."""
KEY_FIELDS = ("encryption", "tde")
"""The fields of an instance or fleet entry that may name a key of kms_keys."""


@dataclass(frozen=True)
class AccountReading:
    """One account's name, how the spec reaches it (its `accounts:` entry), and its reading."""

    name: str
    entry: Mapping[str, Any]
    reading: Reading


def account_blocks(parts: Sequence[AccountReading], default_region: str) -> dict[str, Imported]:
    """Each account's blocks, its entries naming the account (and, with several accounts, its
    keys named after it), rendered against the one default region."""
    prefix = len(parts) > 1
    found = {}
    for part in parts:
        got = part.reading
        regions = [default_region, *(r for r in got.regions if r != default_region)]
        fleet_prefix = f"{part.name}." if prefix else ""
        imported = import_state(got.observed, regions, got.held, got.tags, fleet_prefix)
        imported.blocks = [_owned(b, part.name, prefix) for b in imported.blocks]
        found[part.name] = imported
    return found


def _owned(block: YamlBlock, account: str, prefix: bool) -> YamlBlock:
    if block.key not in OWNED:
        return block
    entries = []
    for entry in block.entries:
        data = {"account": account, **_renamed_keys(entry.data, account, prefix)}
        name = f"{account}.{entry.name}"[:64] if prefix and block.key == "kms_keys" else entry.name
        entries.append(YamlEntry(name, data, entry.notes, entry.region))
    block.entries = entries
    return block


def _renamed_keys(data: dict[str, Any], account: str, prefix: bool) -> dict[str, Any]:
    """An entry's `{key: <kms_keys name>}` values as the account's key names (a literal key id
    or `service` stays)."""
    from reconciler.spec.models import SERVICE_KEY, is_arn, is_key_id

    if not prefix:
        return data
    renamed = dict(data)
    for field in KEY_FIELDS:
        value = data.get(field)
        if isinstance(value, dict) and isinstance(value.get("key"), str):
            key = value["key"]
            if key != SERVICE_KEY and not is_key_id(key) and not is_arn(key):
                renamed[field] = {**value, "key": f"{account}.{key}"[:64]}
    return renamed


def shared_ram(blocks: Mapping[str, Imported]) -> YamlBlock | None:
    """The one `ram:` block of every account; ReconcilerError when the accounts differ."""
    found = {name: next(iter(_placed(i, Placement.DEFAULTS)), None) for name, i in blocks.items()}
    data = {name: (b.entries[0].data if b and b.entries else None) for name, b in found.items()}
    if len({repr(d) for d in data.values()}) > 1:
        said = "; ".join(f"{n}: {d if d is not None else 'none'}" for n, d in data.items())
        raise ReconcilerError(
            "the accounts' RAM (the role RDS uses for a CMK) would import differently, and a "
            f"spec has one `ram:` block for every account ({said}): import these accounts one "
            "at a time (--account NAME), or make their RAM the same"
        )
    return next(iter(found.values()))


def accounts_entry(part: AccountReading) -> dict[str, Any]:
    """The account's `accounts:` entry as given, with the id its credentials landed in."""
    entry = dict(part.entry)
    found = part.reading.observed.account_id
    if "account_id" not in entry and found:
        entry["account_id"] = found
    return entry


def _defaults_file(
    parts: Sequence[AccountReading],
    blocks: Mapping[str, Imported],
    default_region: str,
    planned: Sequence[str],
) -> str:
    names = ", ".join(p.name for p in parts)
    text = (
        SCHEMA_LINE + "\n#\n" + _comment(f"Written by `reconciler import` from accounts {names}:")
    )
    for part in parts:
        regions = part.reading.regions
        empty = [r for r in sorted(regions) if not _has_something(blocks[part.name], r)]
        line = f"- {part.name}: {len(regions)} region(s) read: {', '.join(sorted(regions))}."
        line += f" Nothing to import in {', '.join(empty)}." if empty else ""
        text += _comment(line)
    text += "".join(_comment(line) for line in planned)
    for part in parts:
        text += "".join(_comment(f"{part.name}: {line}") for line in part.reading.held.lines())
    defaults = {"region": default_region, "restart": "maintenance-window"}
    accounts = {p.name: accounts_entry(p) for p in parts}
    text += _dump({"version": 1, "defaults": defaults, "accounts": accounts})
    ram = shared_ram(blocks)
    return text + (_entries_text(ram.entries, 0) if ram else "")


def accounts_files(
    parts: Sequence[AccountReading], default_region: str, planned: Sequence[str] = ()
) -> dict[str, str]:
    """00-defaults.yaml (accounts, RAM, the header), then per account its own files."""
    blocks = account_blocks(parts, default_region)
    says = list(planned[:1])
    files = {"00-defaults.yaml": _defaults_file(parts, blocks, default_region, planned)}
    for part in parts:
        imported = blocks[part.name]
        for block in _placed(imported, Placement.OWN_FILE):
            if block.entries:
                head = _file(f"{part.name}: {block.header}", *says)
                files[f"{part.name}.{block.file_name}"] = head + _own_body(block)
        per_region = _placed(imported, Placement.PER_REGION)
        for region in sorted(part.reading.regions):
            if not _has_something(imported, region):
                continue
            heads = (f"{part.name}: " + b.header.format(region=region) for b in per_region)
            files[f"{part.name}.{region}.yaml"] = _file(*heads, *says) + "".join(
                _region_body(b, region, head=True) for b in per_region
            )
    return files


def accounts_document(
    parts: Sequence[AccountReading], default_region: str, planned: Sequence[str] = ()
) -> str:
    """Everything in one YAML document (for stdout): each top-level key once."""
    blocks = account_blocks(parts, default_region)
    text = _defaults_file(parts, blocks, default_region, planned)
    for placement in (Placement.OWN_FILE, Placement.PER_REGION):
        keys = dict.fromkeys(b.key for i in blocks.values() for b in _placed(i, placement))
        for key in keys:
            body, entries = "", False
            for part in parts:
                for block in _placed(blocks[part.name], placement):
                    if block.key != key:
                        continue
                    entries = entries or bool(block.entries)
                    if placement is Placement.OWN_FILE:
                        body += _entries_text(block.entries, 2)
                    else:
                        regions = sorted(part.reading.regions)
                        body += "".join(_region_body(block, r, head=False) for r in regions)
            text += (f"{key}:\n" if entries else "") + body
    return text
