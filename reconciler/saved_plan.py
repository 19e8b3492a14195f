"""Saved plans (`plan -o FILE`, `apply --plan FILE`): read one back, check that it may still
be applied, and split it into what is left to do and what an earlier run already made.

Pure functions of the plan, the spec and a fresh observation; nothing here talks to the cloud
or prints. reconciler.workflow re-exports them: callers use `workflow.check_saved_plan` etc.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.plan.model import Change, Operation, Plan
    from reconciler.spec.loader import LoadedSpec
    from reconciler.state.models import ObservedState


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
        return load_plan(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise PlanFileError(
            f"plan file {name} is not a valid plan: {where}: {first['msg']}{more}"
        ) from error


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

    - The spec: the plan must have been made from this spec (`spec_digest`); a plan of other
      spec files is refused as a whole.
    - Per change: the facts it rests on (`facts_digest`) must be those of a fresh observation.
      Changes elsewhere in the cloud do not count. A change whose resource has meanwhile
      reached what the spec wants (an earlier run of this same plan was interrupted after
      making it, or someone made it by hand) is not stale: nothing is left to do there, and
      apply finds it done when it reads the resource again before writing.
    - A refused plan is never applied (it was never saved by `plan -o` either).
    `fresh` is the plan made from `observed` (made here when not given), used to say how the
    facts moved and whether a resource already converged."""
    from reconciler.plan.digest import facts_digest, spec_digest

    findings: list[StaleFinding] = []
    wanted = spec_digest(loaded.spec)
    if saved.spec_digest != wanted:
        files = ", ".join(loaded.files) or "the spec"
        why = (
            "the plan carries no spec digest"
            if saved.spec_digest is None
            else "it was made from other spec files, or from these before they changed"
        )
        findings.append(
            StaleFinding(
                None,
                f"the saved plan does not belong to the spec in {files}: {why}. Plan again "
                "with these files (`reconciler plan -o FILE`), or name the files the plan "
                "was made from",
            )
        )
        return findings  # per-address facts mean nothing against another spec
    if saved.refusals:
        codes = ", ".join(sorted({r.code for r in saved.refusals}))
        findings.append(StaleFinding(None, f"the saved plan is refused ({codes})"))
    if fresh is None:
        from reconciler.workflow import make_plan

        fresh = make_plan(loaded, observed)
    for change in saved.changes:
        if change.facts_digest is None:
            findings.append(
                StaleFinding(change.address, "the change carries no facts digest to check")
            )
            continue
        if facts_digest(observed, change.address) == change.facts_digest:
            continue
        now = fresh.change(change.address)
        refused = [r for r in fresh.refusals if r.address == change.address]
        if now is None and not refused:
            continue  # already what the spec wants: nothing left to do there
        findings.append(
            StaleFinding(
                change.address,
                "the facts this change rests on changed since the plan was made",
                tuple(_how_it_moved(change, now, refused, observed)),
            )
        )
    return findings


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
"""Parameters derived from the plan itself (its fingerprint), so they differ in every new plan."""


def _operations_moved(saved: Change, now: Change) -> list[str]:
    """What a fresh plan would call differently at this address."""
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
            {k: v for k, v in op.params.items() if k not in _PLAN_DERIVED_PARAMS}
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
    from reconciler.plan.digest import facts

    kind = address.partition(".")[0]
    now = facts(observed, address)
    if kind == "rds_encryption" and now.get("instance"):
        instance = now["instance"]
        lines = [f"instance status is now {instance['status']}, lock mode {instance['lock_mode']}"]
        for task in now.get("tasks") or []:
            lines.append(
                f"task {task['task_id']} ({task.get('task_type') or 'encryption change'}) is "
                f"{task['status']}"
            )
        return lines
    if kind == "kms_key" and now.get("key"):
        users = now.get("users")
        count = "unknown" if users is None else str(len(users))
        return [f"key {now['key']['key_id']} is {now['key']['state']}; users now: {count}"]
    return ["facts besides the resource's own view changed (e.g. a related resource)"]


@dataclass(frozen=True)
class Resumption:
    """A saved plan that check_saved_plan() accepted, split into what is left to do and what
    is already made (an earlier run of the same plan was stopped after making it, or someone
    made it by hand)."""

    plan: Plan
    """The saved plan less the changes already made: same fingerprint, so the same
    ClientTokens. A reference to a change already made is replaced by the value now observed
    (the key it created), and it no longer appears in depends_on."""
    made: tuple[Change, ...] = ()
    """The saved changes whose resource already is what the spec wants, in plan order."""
    order: tuple[str, ...] = ()
    """Every address of the saved plan, in its order (for the result)."""
    observed: ObservedState | None = None
    """The observation the split was made on (an instance still re-encrypting is waited for)."""


def resume(saved: Plan, observed: ObservedState, fresh: Plan) -> Resumption:
    """Split an accepted saved plan (check_saved_plan gave []) into what is left to do and
    what is already made. Raises PlanFileError when a change left to do needs a value of a
    change already made that the observation does not hold (then plan again)."""
    from reconciler.plan.digest import facts_digest
    from reconciler.plan.model import summarise

    made = [
        c
        for c in saved.changes
        if c.facts_digest != facts_digest(observed, c.address) and fresh.change(c.address) is None
    ]
    order = tuple(c.address for c in saved.changes)
    if not made:
        return Resumption(saved, order=order, observed=observed)
    gone = {c.address for c in made}
    left = [
        c.model_copy(
            update={
                "depends_on": [d for d in c.depends_on if d not in gone],
                "operations": [resolved(op, gone, observed) for op in c.operations],
            }
        )
        for c in saved.changes
        if c.address not in gone
    ]
    plan = saved.model_copy(
        update={"changes": left, "summary": summarise(left, list(saved.refusals))}
    )
    return Resumption(plan, tuple(made), order, observed)


def resolved(op: Operation, gone: set[str], observed: ObservedState) -> Operation:
    """`op` with each reference to a change in `gone` replaced by the value now observed."""
    from reconciler.plan.model import is_ref

    params = dict(op.params)
    for name, value in op.params.items():
        if is_ref(value) and value["ref"] in gone:
            params[name] = _observed_attr(value["ref"], value["attr"], observed)
    return op.model_copy(update={"params": params})


def _observed_attr(address: str, attr: str, observed: ObservedState) -> str:
    kind, _, name = address.partition(".")
    key = observed.keys.get(name) if kind == "kms_key" else None
    value = getattr(key, attr, None) if key is not None else None
    if not value:
        raise PlanFileError(
            f"the saved plan needs the {attr} of {address}, which an earlier run made, but "
            "the cloud does not show it now: plan again"
        )
    return str(value)
