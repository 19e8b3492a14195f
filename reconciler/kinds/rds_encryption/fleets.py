"""Fleets (issue 21): which listed instances each `fleets.<name>` selects, and the spec in which
they are managed as if listed under `instances:` (README, "Fleets (selectors)").

Pure: the reads (state/fleets.py) hand in every PostgreSQL instance listed for the fleets'
regions with its tags; `expand` returns the effective spec, each added instance's fleet, and
what the fleets report. Rules: an `instances:` entry wins over a fleet; an instance two fleets
select with different wants is refused naming both (identical wants are one want); an instance
that cannot be encrypted (serverless, storage, edition: guards.check_supports_encryption) is
left out and named in ONE warning of its fleet, unless the fleet is `strict`, which manages it
so that the planner refuses it as it would an `instances:` entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.core.facts import ObservedInstance
from reconciler.kinds.rds_encryption.guards import check_supports_encryption
from reconciler.plan.actions import RefusalCode, WarningCode
from reconciler.spec.models import FleetSpec, InstanceSpec, Spec

INSTANCE_KINDS = ("rds_encryption", "rds_tde")
"""The kinds whose address is `<kind>.<instance id>`: a fleet's instance shows in both."""
_NAMED = 20
"""How many instances a fleet's warning names before `and N more`."""


@dataclass(frozen=True)
class Candidate:
    """A listed PostgreSQL instance and every tag it carries (ListTagResources)."""

    instance: ObservedInstance
    tags: Mapping[str, str]


@dataclass(frozen=True)
class Finding:
    """A fleet's refusal or warning: the address it is at, its code, its message."""

    address: str
    code: RefusalCode | WarningCode
    message: str


@dataclass(frozen=True)
class Expansion:
    spec: Spec
    """The spec with every selected instance under `instances` (the fleet's wants)."""
    origins: dict[str, str] = field(default_factory=dict)
    """Instance id -> `fleets.<name>` of every instance a fleet added."""
    refusals: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    left_out: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Instance id -> (`fleets.<name>`, why) of every member left alone as unencryptable."""

    def left_alone(self, address: str) -> tuple[str, str] | None:
        """(`fleets.<name>`, what drift says) of a member left alone as unencryptable: still
        unmanaged, but adding it under `instances:` would be refused."""
        kind, _, instance_id = address.partition(".")
        if kind != "rds_encryption" or instance_id not in self.left_out:
            return None
        fleet, why = self.left_out[instance_id]
        return fleet, (
            f"{instance_id} is selected by `{fleet}` but cannot be encrypted ({why}), so it is "
            "left alone. Narrow the selector to leave it out, or set `strict: true` to refuse it"
        )

    def via(self, address: str) -> str | None:
        """The fleet an instance's address (disk or TDE) came from; None otherwise."""
        kind, _, instance_id = address.partition(".")
        return self.origins.get(instance_id) if kind in INSTANCE_KINDS else None


def origin(name: str) -> str:
    return f"fleets.{name}"


def matches(fleet: FleetSpec, default_region: str, candidate: Candidate) -> bool:
    """Every condition the fleet's select gives holds (tags: ALL of them, exact values)."""
    select, instance = fleet.select, candidate.instance
    if instance.region not in select.region_list(default_region):
        return False
    if any(candidate.tags.get(k) != v for k, v in select.tags.items()):
        return False
    if select.engine_versions and instance.engine_version not in select.engine_versions:
        return False
    if select.id_pattern is not None and not re.fullmatch(select.id_pattern, instance.instance_id):
        return False
    wanted = {c.lower() for c in select.categories}
    return not wanted or instance.category.lower() in wanted


def expand(spec: Spec, candidates: list[Candidate]) -> Expansion:
    added: dict[str, InstanceSpec] = {}
    origins: dict[str, str] = {}
    refusals: list[Finding] = []
    left_out: dict[str, list[str]] = {}
    alone: dict[str, tuple[str, str]] = {}
    for candidate in sorted(candidates, key=lambda c: c.instance.instance_id):
        instance_id = candidate.instance.instance_id
        if instance_id in spec.instances:
            continue  # an explicit entry wins
        chosen = [
            n for n, f in sorted(spec.fleets.items()) if matches(f, spec.defaults.region, candidate)
        ]
        if not chosen:
            continue
        wants = {n: _wants(spec.fleets[n], candidate) for n in chosen}
        if len(set(wants.values())) > 1:
            refusals.append(_conflict(instance_id, chosen))
            continue
        name = chosen[0]
        problems = check_supports_encryption(candidate.instance)
        if problems and not all(spec.fleets[n].strict for n in chosen):
            for n in chosen:
                left_out.setdefault(n, []).append(f"{instance_id} ({_why(problems)})")
            alone[instance_id] = (origin(name), _why(problems))
            continue
        added[instance_id] = wants[name]
        origins[instance_id] = origin(name)
    instances = {**spec.instances, **added}
    return Expansion(
        spec=spec.model_copy(update={"instances": instances}),
        origins=origins,
        refusals=tuple(refusals),
        warnings=tuple(_left_out(n, ids) for n, ids in sorted(left_out.items())),
        left_out=alone,
    )


def _wants(fleet: FleetSpec, candidate: Candidate) -> InstanceSpec:
    return fleet.wants().model_copy(update={"region": candidate.instance.region})


def _conflict(instance_id: str, fleets: list[str]) -> Finding:
    names = " and ".join(f"`{origin(n)}`" for n in fleets)
    return Finding(
        f"rds_encryption.{instance_id}",
        RefusalCode.FLEET_CONFLICT,
        f"{instance_id} is selected by {names}, which want different encryption, TDE or "
        "restart: make their selectors disjoint, give them the same wants, or list the "
        "instance under `instances:` (an explicit entry wins over every fleet)",
    )


def _why(problems: list[tuple[RefusalCode, str]]) -> str:
    return ", ".join(str(code) for code, _ in problems)


def _left_out(name: str, ids: list[str]) -> Finding:
    return Finding(
        origin(name), WarningCode.FLEET_MEMBERS_UNENCRYPTABLE, _left_out_text(ids, len(ids))
    )


def _left_out_text(named: list[str], total: int) -> str:
    shown = "; ".join(named[:_NAMED]) + (f"; and {total - _NAMED} more" if total > _NAMED else "")
    return (
        f"{total} instance(s) the fleet selects cannot be encrypted and are left alone: "
        f"{shown}. Narrow the selector to leave them out, or set `strict: true` to refuse them"
    )


_LEFT_OUT = re.compile(
    r"([0-9]+) instance\(s\) the fleet selects cannot be encrypted and are left alone: "
    r"(.+?)(?:; and [0-9]+ more)?\. Narrow the selector to leave them out, or set `strict: "
    r"true` to refuse them"
)


def join_left_out(messages: list[str]) -> str:
    """One fleet's FleetMembersUnencryptable message out of those of disjoint parts of its
    regions (`--shard`), as one reading of every region writes it: each part names its first
    instances in id order, so the first of their union are the whole's first. Raises
    ValueError for a message not written by _left_out_text (never guessed)."""
    total, named = 0, []
    for message in messages:
        found = _LEFT_OUT.fullmatch(message)
        if found is None:
            raise ValueError(f"not a fleet's left-out message: {message!r}")
        total += int(found[1])
        named += found[2].split("; ")
    return _left_out_text(sorted(named, key=lambda item: item.partition(" ")[0]), total)
