"""Rules over a whole configuration, which no single file or pydantic model can check.

Each function returns Diagnostics located at the YAML node they are about; none raises.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from reconciler.core.rules import deletion_protected_conflict, usable_by_rds
from reconciler.errors import Diagnostic
from reconciler.spec.key_refs import key_uses
from reconciler.spec.models import (
    KEY_ARN_SHAPE,
    SERVICE_KEY,
    SERVICE_KEY_SPELLINGS,
    is_arn,
    is_literal_key,
)
from reconciler.spec.scalars import shown
from reconciler.spec.source import Location, ParsedFile

SINGLETONS = ("version", "defaults", "ram", "accounts")
_COLLECTIONS = {"kms_keys": "key", "instances": "instance", "fleets": "fleet"}


def cross_file_problems(parsed: list[ParsedFile]) -> Iterable[Diagnostic]:
    """The same resource in two files, or a singleton block set twice with different values."""
    first_set: dict[str, tuple[ParsedFile, Any]] = {}
    declared: dict[tuple[str, str], ParsedFile] = {}
    for one in (p for p in parsed if isinstance(p.data, dict)):
        for name in SINGLETONS:
            if name not in one.data:
                continue
            if name in first_set and first_set[name][1] != one.data[name]:
                other = first_set[name][0]
                yield from _both(
                    (one, (name,)),
                    (other, (name,)),
                    f"`{name}` is also set with different values in {{other}}: set it in one file",
                )
            first_set.setdefault(name, (one, one.data[name]))
        for section, noun in _COLLECTIONS.items():
            block = one.data.get(section)
            for name in block if isinstance(block, dict) else ():
                other = declared.setdefault((section, name), one)
                if other is not one:
                    yield from _both(
                        (one, (section, name)),
                        (other, (section, name)),
                        f"{noun} `{name}` is also declared in {{other}}: declare it once",
                    )


def _both(
    here: tuple[ParsedFile, tuple[str, ...]], there: tuple[ParsedFile, tuple[str, ...]], text: str
) -> Iterable[Diagnostic]:
    """One diagnostic at each of two places, each naming the other."""
    a, b = here[0].at(here[1], key=True), there[0].at(there[1], key=True)
    yield Diagnostic(a.file, a.line, a.col, text.format(other=b))
    yield Diagnostic(b.file, b.line, b.col, text.format(other=a))


def missing_version(parsed: list[ParsedFile]) -> Iterable[Diagnostic]:
    """`version` is required once per configuration (any of its files may hold it)."""
    if not parsed or any(isinstance(one.data, dict) and "version" in one.data for one in parsed):
        return
    first = parsed[0].name
    if len(parsed) == 1:
        yield Diagnostic(first, 1, 1, "`version` is required: add `version: 1` at the top")
    else:
        yield Diagnostic(
            first, 1, 1, "`version` is required: add `version: 1` to one file of the configuration"
        )


def dangling_references(views: list[ParsedFile]) -> Iterable[Diagnostic]:
    """`encryption: {key: X}` or `tde: {key: X}` (of an instance, or `defaults.tde`) where X is
    not `service`, a kms_keys name, or a KMS key id."""
    names = {
        name
        for one in views
        if isinstance(one.data, dict) and isinstance(one.data.get("kms_keys"), dict)
        for name in one.data["kms_keys"]
    }
    for one in views:
        for path, ref in _key_references(one.data):
            if ref in SERVICE_KEY_SPELLINGS or ref in names or path in one.reported:
                continue
            if is_literal_key(ref):
                continue
            if is_arn(ref):
                where = one.at(path)
                yield Diagnostic(
                    where.file,
                    where.line,
                    where.col,
                    f"`{shown(ref)}` is not a KMS key ARN: write {KEY_ARN_SHAPE} (a 16-digit "
                    "account, a key id), or the key id alone",
                )
                continue
            close = difflib.get_close_matches(ref, [*names, SERVICE_KEY], n=1, cutoff=0.6)
            hint = (
                f"did you mean `{close[0]}`?"
                if close
                else ("use `service`, a name under kms_keys, or a KMS key id")
            )
            where = one.at(path)
            yield Diagnostic(
                where.file,
                where.line,
                where.col,
                f"key `{shown(ref)}` is not defined in kms_keys: {hint}",
            )


def _key_references(data: Any) -> Iterable[tuple[tuple[str, ...], str]]:
    """(path, key name) of every `{key: ...}` of one file, in file order."""
    if not isinstance(data, dict):
        return
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        yield from _reference(("defaults", "tde"), defaults.get("tde"))
    instances = data.get("instances")
    for instance_id, body in instances.items() if isinstance(instances, dict) else ():
        if isinstance(body, dict):
            for field in ("encryption", "tde"):
                yield from _reference(("instances", instance_id, field), body.get(field))
    fleets = data.get("fleets")
    for name, body in fleets.items() if isinstance(fleets, dict) else ():
        if isinstance(body, dict):
            for field in ("encryption", "tde"):
                yield from _reference(("fleets", name, field), body.get(field))


def _reference(path: tuple[str, ...], value: Any) -> Iterable[tuple[tuple[str, ...], str]]:
    ref = value.get("key") if isinstance(value, dict) else None
    if isinstance(ref, str):
        yield (*path, "key"), ref


def shared_aliases(spec: Any, locations: dict[str, Location]) -> list[Diagnostic]:
    """Two logical keys with one alias in one region (of one account: aliases are an
    account's own) would be the same KMS key."""
    from reconciler.spec.accounts import account_of_key

    owners: dict[tuple[str, str, str | None], str] = {}
    problems: list[Diagnostic] = []
    for name, key in spec.kms_keys.items():
        slot = (spec.key_region(name), key.alias.lower(), account_of_key(spec, name))
        if slot in owners:
            where = locations[f"kms_keys.{name}.alias"]
            problems.append(
                Diagnostic(
                    where.file,
                    where.line,
                    where.col,
                    f"alias `{key.alias}` is also used by key `{owners[slot]}` in {slot[0]}",
                )
            )
        owners.setdefault(slot, name)
    return problems


def planner_refusals(spec: Any, locations: dict[str, Location]) -> list[Diagnostic]:
    """What the planner refuses whatever the cloud holds, found offline from the spec alone.

    The planner reports these as refusals (KeyRegionMismatch, KeyNotUsable,
    KeyDeletionProtected); `validate` reports them as spec errors, so that it never passes a
    spec that every plan refuses. A literal key id's region and state are only known from the
    cloud, so they are left to the planner.
    """
    found: list[Diagnostic] = []
    for instance_id, field, ref, where in _named_key_uses(spec, locations):
        key_region, region = spec.key_region(ref), spec.instance_region(instance_id)
        if key_region != region:
            at_instance = field == "encryption"  # an instance's disk: its region is the point
            found.append(
                _at(
                    locations[f"rds_encryption.{instance_id}"] if at_instance else where,
                    f"kms_key `{ref}` is in {key_region} but the instance is in {region}; "
                    f"KMS keys are regional: use a key of {region}"
                    + ("" if at_instance else f" for its {field}"),
                )
            )
        state = spec.kms_keys[ref].state
        if not usable_by_rds(state):
            found.append(
                _at(
                    where,
                    f"kms_key `{ref}` has state {state.value}, so RDS cannot use it: set its "
                    "state: enabled, or pick another key",
                )
            )
    for name, key in spec.kms_keys.items():
        if deletion_protected_conflict(key.state, key.deletion_protection):
            found.append(
                _at(
                    locations[f"kms_keys.{name}.state"],
                    "state pending-deletion with deletion_protection: true: KMS refuses to "
                    "delete a protected key; set deletion_protection: false to delete it, or "
                    "state: enabled to keep it",
                )
            )
    return found


def _named_key_uses(
    spec: Any, locations: dict[str, Location]
) -> Iterable[tuple[str, str, str, Location]]:
    """(instance, `encryption` or `tde`, kms_keys name, where it is written) of every use of a
    spec key by name; a `tde` taken from defaults is placed at `defaults.tde.key`."""
    for instance_id, field, ref, where in key_uses(spec, locations):
        if ref != SERVICE_KEY and ref in spec.kms_keys:
            yield instance_id, field, ref, where


def _at(where: Location, message: str) -> Diagnostic:
    return Diagnostic(where.file, where.line, where.col, message)
