"""`--shard I/N`: a stable partition of the work by (account, region) units (pure: no I/O).

The partition (README, "Sharding across CI runners"): the units, each once, sorted by
(account, region), are dealt round-robin: the k-th unit (0-based) goes to shard k mod N + 1.
Every runner reads the same spec, so every runner computes the same partition; the shards'
sizes differ by one unit at most (a hash of the unit mod N would leave a shard empty or
double for a handful of regions). Adding a region may move later units to another shard,
which is harmless: each run is a whole partition of its own spec.

A shard reads and plans the instances and keys of its regions only (its calls, and its apply
locks, are its regions'). What belongs to the whole account (RAM, account-level refusals) is
planned in every shard that needs it (a CMK instance waits for the RAM role) but kept only by
the account's owner shard: the shard holding the account's first unit. A change of another
shard may name the owner's RAM change in `depends_on`: apply of that shard then refuses until
the owner's plan is applied and the shard planned again (docs/plan-format.md, `shard`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from reconciler.drift.model import DriftReport
from reconciler.errors import ReconcilerError
from reconciler.kinds import find_kind
from reconciler.plan.model import Plan, ShardInfo, ShardUnit
from reconciler.spec.models import Spec

Unit = tuple[str | None, str]
"""(account name or None, region)."""

FLEET_PREFIX = "fleets."
"""The address of a fleet's own findings (kinds/rds_encryption/fleets.py, origin())."""
_SHARD = re.compile(r"([0-9]+)/([0-9]+)")


class ShardError(ReconcilerError, ValueError):
    """A malformed `--shard` value."""


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N), 1 <= I <= N."""
    found = _SHARD.fullmatch(text.strip())
    if found is None:
        raise ShardError(f"--shard takes I/N (e.g. 2/3), not {text!r}")
    index, count = int(found[1]), int(found[2])
    if not 1 <= index <= count:
        raise ShardError(f"--shard {text}: I must be between 1 and N")
    return index, count


def _order(unit: Unit) -> tuple[str, str]:
    return (unit[0] or "", unit[1])


def shard_units(units: Iterable[Unit], index: int, count: int) -> list[Unit]:
    """The units of shard `index` of `count`: sorted units dealt round-robin (module doc)."""
    ordered = sorted(set(units), key=_order)
    return [u for k, u in enumerate(ordered) if k % count == index - 1]


def owns_account(units: Iterable[Unit], mine: Sequence[Unit], account: str | None) -> bool:
    """Whether this shard holds the account's first unit (it then keeps the account's RAM)."""
    of_account = sorted((u for u in set(units) if u[0] == account), key=_order)
    return bool(of_account) and of_account[0] in mine


def spec_regions(spec: Spec) -> list[str]:
    """The regions of the spec's instances, keys and fleets' selectors (its default region
    when it names none), sorted."""
    regions = {spec.instance_region(i) for i in spec.instances}
    regions |= {spec.key_region(n) for n in spec.kms_keys}
    for fleet in spec.fleets.values():
        regions.update(fleet.select.region_list(spec.defaults.region))
    return sorted(regions or {spec.defaults.region})


def spec_units(spec: Spec) -> list[Unit]:
    """The units of a spec without `accounts:` (the credentials' own account: None)."""
    return [(None, r) for r in spec_regions(spec)]


def account_units(spec: Spec) -> list[Unit]:
    """The units of a spec with `accounts:`: each declared account's regions (those of its
    own spec, spec/accounts.py), so every account has at least one unit and an owner."""
    from reconciler.spec.accounts import account_spec

    return [(name, r) for name in spec.accounts for r in spec_regions(account_spec(spec, name))]


def account_drift_units(spec: Spec, given: Sequence[str]) -> list[Unit]:
    """The drift units of a spec with `accounts:`: account_units() and, per account, the
    regions drift reads beyond the spec (`given`, else its declared `regions`). An account
    with neither would need a read of its regions to deal the units: refused, nothing read."""
    unknown = [name for name, body in spec.accounts.items() if not given and not body.regions]
    if unknown:
        names = ", ".join(f"accounts.{name}.regions" for name in unknown)
        raise ShardError(
            f"drift --shard of a spec with accounts needs the regions to read in each account "
            f"without reading them: declare {names} or give --region; nothing was read"
        )
    read = [(n, r) for n, body in spec.accounts.items() for r in (given or body.regions)]
    return sorted({*account_units(spec), *read}, key=_order)


def accounts_of(mine: Sequence[Unit]) -> list[str]:
    """The accounts a shard has units of: the only ones whose credentials it needs."""
    return sorted({a for a, _r in mine if a is not None})


def regions_of(mine: Sequence[Unit], account: str | None) -> list[str]:
    return [r for a, r in mine if a == account]


def shard_spec(spec: Spec, regions: Iterable[str], *, owner: bool) -> Spec:
    """The spec of a shard: its regions' instances and keys (each with its region written
    out), its fleets selecting in its regions only, the default region moved into the shard
    (its account reads stay there), RAM left out unless this shard owns the account or one of
    its instances needs RAM to plan."""
    mine = sorted(set(regions))
    instances = {
        i: s.model_copy(update={"region": spec.instance_region(i)})
        for i, s in spec.instances.items()
        if spec.instance_region(i) in mine
    }
    keys = {
        n: k.model_copy(update={"region": spec.key_region(n)})
        for n, k in spec.kms_keys.items()
        if spec.key_region(n) in mine
    }
    fleets = {
        n: f.model_copy(update={"select": f.select.model_copy(update={"regions": inside})})
        for n, f in spec.fleets.items()
        if (inside := tuple(r for r in f.select.region_list(spec.defaults.region) if r in mine))
    }
    default = spec.defaults.region if spec.defaults.region in mine else mine[0]
    update: dict[str, Any] = {
        "instances": instances,
        "kms_keys": keys,
        "fleets": fleets,
        "defaults": spec.defaults.model_copy(update={"region": default}),
    }
    narrowed = spec.model_copy(update=update)
    if owner:  # the owner plans RAM even when none of its own instances needs it
        return narrowed.model_copy(update={"ram": spec.effective_ram()})
    if not narrowed.uses_cmk():
        return narrowed.model_copy(update={"ram": None})
    return narrowed


def account_wide(address: str) -> bool:
    """An address of the account as a whole (RAM, or no kind's): kept by the owner shard. A
    fleet's warning is not: it names its instances in the shard's regions, so each shard
    keeps its own and `reconciler merge` joins them (combine.py)."""
    kind = find_kind(address)
    if kind is None:
        return not address.startswith(FLEET_PREFIX)
    return kind.writes_ram


def info(index: int, count: int, units: Sequence[Unit]) -> ShardInfo:
    return ShardInfo(
        index=index,
        count=count,
        units=[ShardUnit(account=a, region=r) for a, r in sorted(units, key=_order)],
    )


def trim_plan(plan: Plan, *, owner: bool, digest: str | None, shard: ShardInfo) -> Plan:
    """A shard's plan: the account-wide entries only where it owns the account, the whole
    spec's digest (every shard's is the same, so a saved shard plan is checked against the
    whole spec), and its `shard`."""
    from reconciler.plan.model import summarise

    keep = (lambda _a: True) if owner else (lambda a: not account_wide(a))
    changes = [c for c in plan.changes if keep(c.address)]
    refusals = [r for r in plan.refusals if keep(r.address)]
    return plan.model_copy(
        update={
            "changes": changes,
            "refusals": refusals,
            "warnings": [w for w in plan.warnings if keep(w.address)],
            "summary": summarise(changes, refusals),
            "spec_digest": digest,
            "shard": shard,
        }
    )


def trim_drift(report: DriftReport, *, owner: bool, shard: ShardInfo) -> DriftReport:
    """A shard's drift report: the account-wide items only where it owns the account."""
    from reconciler.drift.report import summarise

    if owner:
        return report.model_copy(update={"shard": shard})
    items = [i for i in report.items if not account_wide(i.address)]
    ignored = [i for i in report.ignored if not account_wide(i.address)]
    return report.model_copy(
        update={
            "items": items,
            "ignored": ignored,
            "checked": [a for a in report.checked if not account_wide(a)],
            "summary": summarise(items, len(ignored)),
            "shard": shard,
        }
    )
