"""Saved plans (`plan -o FILE`, `apply --plan FILE`): read one back, check that it may still
be applied, and split it into what is left to do and what an earlier run already made.

Pure functions of the plan, the spec and a fresh observation; nothing here talks to the cloud
or prints. The fresh plan is made by reconciler.app.plan, which imports nothing of this
module (no cycle); reconciler.app.apply carries a Resumption out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.core.facts import ObservedState
    from reconciler.plan.model import Change, Operation, Plan
    from reconciler.spec.loader import LoadedSpec
    from reconciler.spec.models import Spec


class PlanFileError(ReconcilerError):
    """A saved plan file that cannot be read or is not a plan this version can apply."""


def read_plan_file(path: str | Path) -> Plan:
    """A file written by `plan -o`, back into a Plan. PlanFileError says what is wrong: not
    readable, not JSON, another format_version, or not a plan document."""
    from pydantic import ValidationError

    from reconciler.plan.model import FORMAT_VERSION, load_plan
    from reconciler.strict_json import StrictJsonError, strict_loads

    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFileError(f"plan file {name} does not exist") from None
    except IsADirectoryError:
        raise PlanFileError(f"plan file {name} is a folder") from None
    except (OSError, UnicodeDecodeError) as error:
        detail = getattr(error, "strerror", None) or "not UTF-8 text"
        raise PlanFileError(f"cannot read plan file {name}: {detail}") from error
    try:
        document = strict_loads(text)
    except json.JSONDecodeError as error:
        raise PlanFileError(
            f"plan file {name} is not JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); save a plan with `reconciler plan -o FILE`"
        ) from error
    except StrictJsonError as error:
        raise PlanFileError(
            f"plan file {name} is not a plan: {error}; save a plan with `reconciler plan -o FILE`"
        ) from error
    if not isinstance(document, dict) or "changes" not in document:
        raise PlanFileError(
            f"plan file {name} is not a plan document (no `changes`); save a plan with "
            "`reconciler plan -o FILE`"
        )
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanFileError(
            f"plan file {name} has format_version {json.dumps(version)}; this reconciler "
            f'applies format_version "{FORMAT_VERSION}" only: make the plan again with it'
        )
    try:
        plan = load_plan(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise PlanFileError(
            f"plan file {name} is not a valid plan: {where}: {first['msg']}{more}"
        ) from error
    _check_bodies(plan, name)
    return plan


def _check_bodies(plan: Plan, name: str) -> None:
    """Every change's `after` and `before` must be the typed body its kind writes
    (kinds/<kind>/body.py), so nothing later reads a key the planner did not write. An
    address of no kind is left to check_saved_plan, which names it as undeclared."""
    from reconciler.kinds import find_kind
    from reconciler.kinds.body import ChangeBodyError

    for change in plan.changes:
        kind = find_kind(change.address)
        if kind is None:
            continue
        try:
            kind.after(change)
            kind.before(change)
        except ChangeBodyError as error:
            raise PlanFileError(f"plan file {name} is not a valid plan: {error}") from None


@dataclass(frozen=True)
class StaleFinding:
    """Why a saved plan may not be applied: its spec differs, or the facts one of its
    changes rests on moved since it was made. `address` is None for the spec as a whole."""

    address: str | None
    message: str
    details: tuple[str, ...] = ()
    """How the facts moved, one line each (e.g. `encryption.key: "ServiceKey" -> "disabled"`)."""

    def __str__(self) -> str:
        head = f"{self.address}: {self.message}" if self.address else self.message
        return "\n".join([head, *(f"    {line}" for line in self.details)])


def check_saved_plan(
    saved: Plan, loaded: LoadedSpec, observed: ObservedState, fresh: Plan | None = None
) -> list[StaleFinding]:
    """What makes `saved` unsafe to apply now; [] when it may be applied.

    A saved plan is a commitment, not a program (docs/plan-format.md): apply carries out the
    fresh plan, and only where it makes exactly the saved change.
    - The spec: the plan must have been made from this spec (`spec_digest`); a plan of other
      spec files is refused as a whole. So must a refused plan, or one without a `plan_id`.
    - Per saved change: its address must appear once and belong to this spec. When the facts
      it rests on (`facts_digest`) are those of the fresh observation, the fresh plan (made with
      the saved `plan_id`) must hold the very same change: action, target, region, every
      operation with every parameter (ClientTokens included), `restart`, `scheduled`,
      `irreversible` and `depends_on`. When they moved, the change is stale, unless the
      resource has meanwhile reached what the spec wants (an earlier run of this same plan was
      interrupted after making it, or someone made it by hand): then nothing is left to do
      there.
    - A fresh change the saved plan does not hold (its resource moved since the plan) was
      never reviewed: the plan is refused, naming it.
    `fresh` is the plan made from `observed` with the saved plan's plan_id (made here when not
    given)."""
    from reconciler.plan.digest import spec_digest

    wanted = spec_digest(loaded.as_written())
    if saved.spec_digest != wanted:
        return [_other_spec(saved, loaded)]  # per-address facts mean nothing against another spec
    if saved.shard is not None:
        return [_a_shard(saved.shard.index, saved.shard.count)]
    findings: list[StaleFinding] = []
    if saved.refusals:
        codes = ", ".join(sorted({r.code for r in saved.refusals}))
        findings.append(StaleFinding(None, f"the saved plan is refused ({codes})"))
    if saved.plan_id is None:
        findings.append(
            StaleFinding(
                None,
                "the saved plan carries no plan_id (it was made by an older version of this "
                "tool), so its ClientTokens cannot be checked",
            )
        )
        return findings
    fresh = _fresh_for(saved, loaded, observed, fresh)
    made = made_addresses(saved, loaded, observed, fresh)
    seen: set[str] = set()
    for change in saved.changes:
        findings.extend(_check_change(change, seen, made, loaded, observed, fresh))
        seen.add(change.address)
    findings.extend(_unreviewed(fresh, seen))
    return findings


def _unreviewed(fresh: Plan, seen: set[str]) -> list[StaleFinding]:
    """The fresh plan's changes the saved plan does not hold: nobody reviewed them."""
    return [
        StaleFinding(
            change.address,
            "a fresh plan also changes it, and the saved plan does not (it moved since the "
            "plan was made): nobody reviewed that change. Plan again and review",
            (f"a fresh plan would call {', '.join(change.op_names)}",),
        )
        for change in fresh.changes
        if change.address not in seen
    ]


def _other_spec(saved: Plan, loaded: LoadedSpec) -> StaleFinding:
    files = ", ".join(loaded.files) or "the spec"
    why = (
        "the plan carries no spec digest"
        if saved.spec_digest is None
        else "it was made from other spec files, or from these before they changed"
    )
    return StaleFinding(
        None,
        f"the saved plan does not belong to the spec in {files}: {why}. Plan again with these "
        "files (`reconciler plan -o FILE`), or name the files the plan was made from",
    )


def _fresh_for(
    saved: Plan, loaded: LoadedSpec, observed: ObservedState, fresh: Plan | None
) -> Plan:
    """The fresh plan, made with the saved plan's id so that its ClientTokens are comparable."""
    if fresh is None:
        from reconciler.app.plan import make_plan

        return make_plan(loaded, observed, plan_id=saved.plan_id)
    if fresh.plan_id != saved.plan_id:
        raise ValueError("the fresh plan must be made with the saved plan's plan_id")
    return fresh


def _check_change(
    change: Change,
    seen: set[str],
    made: set[str],
    loaded: LoadedSpec,
    observed: ObservedState,
    fresh: Plan,
) -> list[StaleFinding]:
    from reconciler.plan.digest import facts_digest

    address = change.address
    if address in seen:
        return [StaleFinding(address, "the saved plan changes it twice")]
    now = fresh.change(address)
    if now is None and not declared(loaded.spec, address):
        return [
            StaleFinding(
                address,
                "is not a resource of this spec (the plan file was edited, or made from "
                "another spec)",
            )
        ]
    if change.facts_digest is None:
        return [StaleFinding(address, "the change carries no facts digest to check")]
    moved = facts_digest(observed, address) != change.facts_digest
    refused = [r for r in fresh.refusals if r.address == address]
    if address in made:
        return []  # already what the spec wants: nothing left to do there
    if moved:
        return [
            StaleFinding(
                address,
                "the facts this change rests on changed since the plan was made",
                tuple(_how_it_moved(change, now, refused, observed)),
            )
        ]
    if now is None:
        return [
            StaleFinding(
                address,
                "a fresh plan of this spec makes no change here from the same facts: the saved "
                "change is not what this spec plans (the file was edited, or made by another "
                "version)",
                tuple(f"a fresh plan refuses it: {r.code}" for r in refused),
            )
        ]
    try:
        differences = _differences(resolved_change(change, made, observed), now)
    except PlanFileError as error:
        return [StaleFinding(address, str(error))]
    if differences:
        return [
            StaleFinding(
                address,
                "the saved change is not the change a fresh plan makes from the same facts "
                "(the file was edited, or made by another version)",
                tuple(differences),
            )
        ]
    return []


def declared(spec: Spec, address: str) -> bool:
    """Whether `address` names a resource this spec manages (so a saved change there may have
    been made by an earlier run of the plan)."""
    from reconciler.kinds import find_kind

    kind = find_kind(address)
    return kind is not None and kind.declared(spec, address)


def made_addresses(
    saved: Plan, loaded: LoadedSpec, observed: ObservedState, fresh: Plan
) -> set[str]:
    """The saved changes already made: the spec declares the resource, the facts it rested on
    moved since the plan, a fresh plan has nothing left to do or refuse there, and what the
    change's operations set is what the cloud shows now."""
    from reconciler.plan.digest import facts_digest

    refused = {r.address for r in fresh.refusals}
    candidates = [
        c
        for c in saved.changes
        if fresh.change(c.address) is None
        and c.address not in refused
        and declared(loaded.spec, c.address)
        and c.facts_digest is not None
        and c.facts_digest != facts_digest(observed, c.address)
    ]
    return {c.address for c in candidates if achieved(c, observed)}


def achieved(change: Change, observed: ObservedState) -> bool:
    """Whether the cloud now shows what the change's operations set, as far as the facts tell
    (its kind says how: reconciler/kinds). An edited change claimed as made by an earlier run
    fails this, and is refused."""
    from reconciler.kinds import find_kind

    kind = find_kind(change.address)
    made = {r["ref"] for op in change.operations for r in op.refs()}
    try:
        params = [resolved(op, made, observed).params for op in change.operations]
    except PlanFileError:
        return False
    return kind is not None and kind.achieved(change, params, observed)


def resolved_change(change: Change, made: set[str], observed: ObservedState) -> Change:
    """`change` with references to changes already made replaced by the values observed, and
    without those changes in depends_on (as a fresh plan writes it)."""
    if not made:
        return change
    return change.model_copy(
        update={
            "depends_on": [d for d in change.depends_on if d not in made],
            "operations": [resolved(op, made, observed) for op in change.operations],
        }
    )


_COMPARED = (
    "action",
    "target_id",
    "region",
    "restart",
    "scheduled",
    "irreversible",
    "depends_on",
)
"""What must be equal besides the operations (docs/plan-format.md, "Saved plans")."""


def _differences(saved: Change, fresh: Change) -> list[str]:
    """How a saved change differs from the fresh plan's change at its address."""
    from reconciler.render.common import format_value

    lines = [
        f"{name}: {format_value(_plain(getattr(saved, name)))} in the saved plan, "
        f"{format_value(_plain(getattr(fresh, name)))} in a fresh one"
        for name in _COMPARED
        if getattr(saved, name) != getattr(fresh, name)
    ]
    return lines + _operations_moved(saved, fresh, keep_tokens=True)


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def _how_it_moved(
    saved: Change, now: Change | None, refused: list[Any], observed: ObservedState
) -> list[str]:
    """Lines saying how the resource moved: its view then and now, what the plan would now
    do instead, and the live facts (status, tasks) that changed without changing the view."""
    from reconciler.plan.diff import diff
    from reconciler.render.common import format_value

    lines: list[str] = []
    before_now = now.before if now is not None else saved.before
    if saved.before is None and before_now is not None:
        found = f" ({now.target_id})" if now is not None and now.target_id else ""
        lines.append(f"did not exist when planned; exists now{found}")
    elif saved.before is not None and before_now is None and now is not None:
        lines.append("existed when planned; gone now")
    else:
        for moved in diff(saved.before, before_now):
            lines.append(
                f"{moved.path}: {format_value(moved.before)} when planned, "
                f"{format_value(moved.after)} now"
            )
    for refusal in refused:
        lines.append(f"a fresh plan refuses it now: {refusal.code}")
    if now is not None:
        lines.extend(_operations_moved(saved, now))
    if not lines:
        lines.extend(_live_facts(saved.address, observed))
    return lines


_PLAN_DERIVED_PARAMS = frozenset({"ClientToken"})
"""Parameters derived from the plan itself (its plan_id), so they differ in every new plan."""


def _operations_moved(saved: Change, now: Change, *, keep_tokens: bool = False) -> list[str]:
    """What a fresh plan would call differently at this address (ClientTokens compared only
    with `keep_tokens`: a fresh plan made with the saved plan's id)."""
    from reconciler.plan.diff import diff
    from reconciler.render.common import format_value

    if now.op_names != saved.op_names:
        return [
            f"a fresh plan would now call {', '.join(now.op_names) or 'nothing'} "
            f"(the saved plan calls {', '.join(saved.op_names)})"
        ]
    lines = []
    for then, fresh in zip(saved.operations, now.operations, strict=True):
        keep = [
            {k: v for k, v in op.params.items() if keep_tokens or k not in _PLAN_DERIVED_PARAMS}
            for op in (then, fresh)
        ]
        for moved in diff(keep[0], keep[1]):
            lines.append(
                f"{then.op} {moved.path}: {format_value(moved.before)} in the saved plan, "
                f"{format_value(moved.after)} in a fresh one"
            )
    return lines


def _live_facts(address: str, observed: ObservedState) -> list[str]:
    """The facts besides the view that a change rests on, as they are now."""
    from reconciler.kinds import kind_of
    from reconciler.plan.digest import facts

    now = facts(observed, address)
    return kind_of(address).live_facts_lines(now)


@dataclass(frozen=True)
class Resumption:
    """What apply carries out: the plan, and the changes of a saved plan already made (an
    earlier run of the same plan was stopped after making them, or someone made them by
    hand)."""

    plan: Plan
    """What is left to do. For a saved plan that check_saved_plan() accepted, the FRESH plan
    (made with the saved plan_id, so with the same ClientTokens): it holds exactly the saved
    changes not yet made, and what apply prints comes from it."""
    made: tuple[Change, ...] = ()
    """The saved changes whose resource already is what the spec wants, in plan order."""
    order: tuple[str, ...] = ()
    """Every address of the saved plan, in its order (for the result)."""
    observed: ObservedState | None = None
    """The observation the split was made on (an instance still re-encrypting is waited for)."""


def resume(saved: Plan, loaded: LoadedSpec, observed: ObservedState, fresh: Plan) -> Resumption:
    """What apply does for a saved plan that check_saved_plan() accepted (it gave []): the
    fresh plan, and the saved changes already made."""
    made = made_addresses(saved, loaded, observed, fresh)
    order = tuple(c.address for c in saved.changes)
    done = tuple(c for c in saved.changes if c.address in made)
    return Resumption(fresh, done, order, observed)


def resolved(op: Operation, gone: set[str], observed: ObservedState) -> Operation:
    """`op` with each reference to a change in `gone` replaced by the value now observed."""
    from reconciler.plan.model import is_ref

    params = dict(op.params)
    for name, value in op.params.items():
        if is_ref(value) and value["ref"] in gone:
            params[name] = _observed_attr(value["ref"], value["attr"], observed)
    return op.model_copy(update={"params": params})


def _observed_attr(address: str, attr: str, observed: ObservedState) -> str:
    from reconciler.kinds import find_kind

    kind = find_kind(address)
    value = kind.observed_attr(address, attr, observed) if kind is not None else None
    if not value:
        raise PlanFileError(
            f"the saved plan needs the {attr} of {address}, which an earlier run made, but "
            "the cloud does not show it now: plan again"
        )
    return str(value)


def _a_shard(index: int, count: int) -> StaleFinding:
    """apply plans the whole spec afresh, so a shard's plan is never the fresh plan: say so
    instead of listing every other shard's change as unreviewed (README, "Sharding")."""
    return StaleFinding(
        None,
        f"the saved plan is shard {index}/{count} of a sharded plan (plan --shard): apply "
        "carries out a whole plan only; plan without --shard and apply that (shards are for "
        "review and drift across CI runners)",
    )
