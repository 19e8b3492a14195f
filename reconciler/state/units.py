"""The units a reading is split into across processes, and the merge of their facts (pure).

A unit is one account-region (docs/architecture.md, "Processes"): every call of a unit goes to
its region (RAM, which is global, and the account's KMS status to the account unit only), so
the per account-region quotas (docs/real-cloud.md, "Quotas") each belong to exactly one
process, and so do the buckets and the quota learnt from throttling (cloud/ratelimit.py).
`bucket_key` names the quota a call spends; `check_in_unit` refuses a call outside the unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from reconciler.cloud.ratelimit import GLOBAL_SERVICES
from reconciler.core.facts import ObservedState
from reconciler.errors import ObserveError
from reconciler.spec.models import FleetSpec, InstanceSpec, KmsKeySpec, Spec
from reconciler.state.reads import ReadScope

GLOBAL = "global"
"""The `region` of a RAM quota: RAM is one endpoint for the whole account."""


@dataclass(frozen=True, order=True)
class ReadUnit:
    """One account-region. `account` is None while the spec declares no accounts (the
    credentials' own account)."""

    account: str | None
    region: str

    def __str__(self) -> str:
        return self.region if self.account is None else f"{self.account}/{self.region}"


BucketKey = tuple[str | None, str, str]
"""(account, region or "global", service:Action): one quota, one token bucket."""


def bucket_key(unit: ReadUnit, service: str, region: str, action: str) -> BucketKey:
    """The quota a call of `unit` to `service` in `region` spends."""
    return (unit.account, GLOBAL if service in GLOBAL_SERVICES else region, f"{service}:{action}")


def check_in_unit(unit: ReadUnit, service: str, region: str, *, reads_account: bool) -> None:
    """Refuse a call another unit's process owns the quota of (a bug, never a fact)."""
    own = region == unit.region and service not in GLOBAL_SERVICES
    if not own and not (service in GLOBAL_SERVICES and reads_account):
        raise ObserveError(
            f"the reads of {unit} called {service} in {region}: that quota belongs to another "
            "process (docs/architecture.md, Processes); please report it"
        )


def read_units(scope: ReadScope) -> list[ReadUnit]:
    """Every region the scope reads (the spec's, and those listed beyond it), sorted."""
    regions = set(scope.spec.regions()) | set(scope.regions)
    return [ReadUnit(None, region) for region in sorted(regions)]


def account_unit(scope: ReadScope, units: Sequence[ReadUnit]) -> ReadUnit:
    """The unit that reads what is account-wide (RAM, DescribeAccountKmsStatus): the default
    region's, where one process reads them today too."""
    return next((u for u in units if u.region == scope.spec.defaults.region), units[0])


def unit_scope(scope: ReadScope, unit: ReadUnit, *, reads_account: bool) -> ReadScope:
    """The part of `scope` in `unit`'s region: its instances, keys and fleets (their regions
    written out; a fleet narrowed to the unit's region), the unit's region as the default, RAM
    only for the account unit."""
    spec, region = scope.spec, unit.region
    default = spec.defaults.region  # spec.instance_region/key_region inlined: every unit
    # looks at every instance of its account
    instances = {
        i: _in_region(s, region)
        for i, s in spec.instances.items()
        if (s.region or default) == region
    }
    keys = {
        n: _in_region(k, region)
        for n, k in spec.kms_keys.items()
        if (k.region or default) == region
    }
    part = spec.model_copy(
        update={
            "defaults": spec.defaults.model_copy(update={"region": region}),
            "instances": instances,
            "kms_keys": keys,
            "fleets": _fleets_in(spec, region),
            "ram": spec.ram if reads_account else None,
        }
    )
    return replace(
        scope,
        spec=part,
        regions=tuple(r for r in scope.regions if r == region),
        ram=scope.effective_ram() if reads_account else None,
        account_reads=reads_account,
    )


def _fleets_in(spec: Spec, region: str) -> dict[str, FleetSpec]:
    """Each fleet that selects in `region`, selecting there only (its regions as written, or
    the spec's default region): a unit's reads stay in its region."""
    found = {}
    for name, fleet in spec.fleets.items():
        if region in fleet.select.region_list(spec.defaults.region):
            select = fleet.select.model_copy(update={"regions": (region,)})
            found[name] = fleet.model_copy(update={"select": select})
    return found


_Regional = TypeVar("_Regional", InstanceSpec, KmsKeySpec)


def _in_region(body: _Regional, region: str) -> _Regional:
    """`body` with its region written out; itself (frozen) when it names it already, as most
    do: a copy of each is most of the parent's work before the first read."""
    return body if body.region == region else body.model_copy(update={"region": region})


# --- the merge ------------------------------------------------------------------------------

_BY_KEY = (
    "keys",
    "keys_by_id",
    "service_keys",
    "instances",
    "key_users",
    "backups",
    "kms_instances",
)
"""Fields keyed by something of one region (an id, a region): the parts never share a key."""
_SETS = ("regions_listed", "task_regions", "backup_regions")
_OWN = ("account_id", "kms_activated", "kms_status", "ram", "tasks", "read_at")
"""Fields merged by a rule of their own (merge_states)."""


def merge_states(
    parts: Sequence[tuple[ReadUnit, ObservedState]], account: ReadUnit
) -> ObservedState:
    """One ObservedState from the units' parts, as one process would have read it. Fails
    closed: a field no rule here knows, two parts reporting one resource differently, or two
    account ids, stop with an ObserveError."""
    unknown = set(ObservedState.model_fields) - {*_BY_KEY, *_SETS, *_OWN}
    if unknown:
        raise ObserveError(f"no merge rule for the observed fields {sorted(unknown)}")
    states = [state for _, state in parts]
    main = next((s for u, s in parts if u == account), None)
    if main is None:
        raise ObserveError(f"the account's reads ({account}) are missing")
    fields: dict[str, Any] = {name: _union(parts, name) for name in _BY_KEY}
    fields.update({name: sorted({v for s in states for v in getattr(s, name)}) for name in _SETS})
    activated = all(s.kms_activated for s in states)
    fields.update(
        account_id=_account_id(parts),
        kms_activated=activated,
        kms_status=main.kms_status if activated else "NotEnabled",
        ram=main.ram,
        tasks=sorted(
            (t for s in states for t in s.tasks), key=lambda t: (t.instance_id, t.task_id)
        ),
        read_at=min((s.read_at for s in states if s.read_at), default=None),
    )
    return ObservedState(**fields)


def _union(parts: Sequence[tuple[ReadUnit, ObservedState]], name: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    seen: dict[str, ReadUnit] = {}
    for unit, state in parts:
        for key, value in getattr(state, name).items():
            if key in merged and merged[key] != value:
                raise ObserveError(
                    f"the reads of {seen[key]} and {unit} disagree on {name} {key}: read again"
                )
            merged[key], seen[key] = value, seen.get(key, unit)
    return dict(sorted(merged.items()))


def _account_id(parts: Sequence[tuple[ReadUnit, ObservedState]]) -> str | None:
    found = {s.account_id: u for u, s in parts if s.account_id}
    if len(found) > 1:
        named = ", ".join(f"{a} in {u}" for a, u in sorted(found.items()))
        raise ObserveError(f"the regions read answer as different accounts ({named})")
    return next(iter(found), None)
