"""Apply: interpret a Plan's operations against the cloud (README, "Apply").

Order: changes are taken in plan order. An `rds_encryption` change starts once its
`depends_on` are done; such changes run in parallel, at most `parallelism` at once. Every other
change runs alone, in order: it starts when everything before it has finished, and nothing
after it starts until it has. A dependency that ended in any other way than `done` (failed,
not started, or `scheduled` for a maintenance window, which has not happened yet) leaves its
dependents `not_started`.

Failure: the first failed change stops new writes (changes not started are reported
`not_started`); changes already writing or waiting finish. The result lists every change.
`apply_plan` raises only ApplyError from `check_applicable` (before anything is read or
written) and Interrupted (after a signal: no new write, writes in flight finish, the journal
stays consistent; the partial result is the error's `apply_result`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from reconciler import cancellation
from reconciler.apply import calls
from reconciler.apply.change import RunState, run_change
from reconciler.apply.journal import Journal
from reconciler.apply.results import (
    EARLIER_FAILED,
    ApplyEvent,
    ApplyOptions,
    ApplyResult,
    Carried,
    ChangeOutcome,
    StopFlag,
)
from reconciler.cloud.clients import CloudClients
from reconciler.errors import ApplyError, Interrupted
from reconciler.kinds import find_kind
from reconciler.plan.model import Change, Plan, is_ref

__all__ = [
    "ApplyEvent",
    "ApplyOptions",
    "ApplyResult",
    "Carried",
    "ChangeOutcome",
    "apply_part",
    "apply_plan",
    "check_applicable",
]

DEFAULT_RAM_REGION = "cn-hangzhou"
"""RAM is global; its client still needs a region name when the plan has no regional change."""
POLL_S = 0.2
"""How often the scheduling thread wakes while waiting (signals are handled there)."""


def check_applicable(plan: Plan, options: ApplyOptions) -> None:
    """Raise ApplyError before any read or write when the plan must not be applied: it has
    refusals; a change restarts an instance (restart=True), now or scheduled for its
    maintenance window, and `allow_restart` is not set; a change cannot be undone
    (irreversible=True) and `allow_irreversible` is not set; or it is not well formed (an unknown
    operation, a dependency or reference to a change that does not come before)."""
    if plan.refusals:
        listed = "; ".join(f"{r.address}: {r.code}" for r in plan.refusals)
        raise ApplyError(
            f"the plan has {len(plan.refusals)} refusal(s), so nothing was applied ({listed}). "
            "Fix them and plan again"
        )
    restarting = [c for c in plan.changes if c.restart]
    if restarting and not options.allow_restart:
        raise ApplyError(_restart_consent_message(restarting))
    irreversible = [c for c in plan.changes if c.irreversible]
    if irreversible and not options.allow_irreversible:
        raise ApplyError(_irreversible_consent_message(irreversible))
    _check_well_formed(plan)


def _irreversible_consent_message(changes: list[Change]) -> str:
    """A change that cannot be undone (enabling TDE: RDS cannot turn it off, "Configure TDE",
    docs/real-cloud.md) needs --allow-irreversible, as well as --allow-restart."""
    names = ", ".join(c.target_id or c.address for c in changes)
    return (
        f"applying this plan enables TDE on {len(changes)} instance(s): {names}. TDE cannot be "
        "turned off once enabled, so this cannot be undone. Pass --allow-irreversible (and "
        "--allow-restart: enabling TDE restarts the instance) to accept it; nothing was applied"
    )


def _restart_consent_message(restarting: list[Change]) -> str:
    """Every restart needs --allow-restart, a scheduled one too: that RDS defers an encryption
    change to the maintenance window (SwitchTimeMode=MaintainTime) is not documented
    (docs/real-cloud.md), so the restart may come at once."""
    names = ", ".join(
        f"{c.target_id or c.address} ({'in its maintenance window' if c.scheduled else 'now'})"
        for c in restarting
    )
    scheduled = any(c.scheduled for c in restarting)
    why = (
        " A scheduled change is submitted for the maintenance window (SwitchTimeMode="
        "MaintainTime), but whether Alibaba Cloud honours the window for an encryption change "
        "is not documented (docs/real-cloud.md): it may restart the instance at once."
        if scheduled
        else ""
    )
    return (
        f"applying this plan restarts {len(restarting)} instance(s): {names}.{why} Pass "
        "--allow-restart to accept the restarts; nothing was applied"
    )


def _check_well_formed(plan: Plan, earlier: frozenset[str] = frozenset()) -> None:
    """`earlier`: changes made before this part of a plan (apply_part), which its changes may
    depend on and refer to."""
    seen: set[str] = set(earlier)
    for change in plan.changes:
        for dep in change.depends_on:
            if dep not in seen:
                raise ApplyError(
                    f"malformed plan: {change.address} depends on {dep}, which is not an "
                    "earlier change of the plan; nothing was applied"
                )
        produced: set[str] = set()
        _check_target(change)
        for op in change.operations:
            if op.op not in calls.WRITES:
                raise ApplyError(
                    f"malformed plan: {change.address} has operation {op.op}, which apply does "
                    "not know; nothing was applied"
                )
            for value in op.params.values():
                if is_ref(value) and not (
                    value["ref"] in seen or (value["ref"] == change.address and produced)
                ):
                    raise ApplyError(
                        f"malformed plan: {change.address} refers to {value['ref']}, which no "
                        "earlier operation creates; nothing was applied"
                    )
            if op.op in calls.PRODUCES:
                produced.add(op.op)
        seen.add(change.address)


def _check_target(change: Change) -> None:
    """A change writes to the resource its address names, and to no other (its kind says how):
    the fresh read before the write (compare.moved) reads that one."""
    kind = find_kind(change.address)
    problem = kind.target_problem(change) if kind is not None else None
    if problem is not None:
        raise ApplyError(problem)


def apply_plan(
    plan: Plan,
    clients: CloudClients,
    options: ApplyOptions | None = None,
    on_event: Callable[[ApplyEvent], None] = lambda e: None,
) -> ApplyResult:
    """check_applicable, then carry the plan out. See the module docstring."""
    options = options or ApplyOptions()
    check_applicable(plan, options)
    run = RunState(
        clients, options, _one_at_a_time(on_event), ram_region(plan), journal=options.journal
    )
    if options.stop is not None:
        run.stop = options.stop
    journal_start(run.journal, plan)
    outcomes, interrupted = _Scheduler(plan, run).run()
    result = ApplyResult([outcomes.get(c.address) or _unrecorded(c) for c in plan.changes])
    journal_end(run.journal, result)
    if interrupted is not None:
        raise interrupted.with_apply_result(result)
    return result


def journal_start(journal: Journal | None, plan: Plan) -> None:
    """The journal's one `start` entry of a run (apply/journal.py)."""
    if journal is not None:
        changes = [c.address for c in plan.changes]
        journal.append({"event": "start", "fingerprint": plan.fingerprint, "changes": changes})


def journal_end(journal: Journal | None, result: ApplyResult) -> None:
    """The journal's one `end` entry of a run: every change's outcome."""
    if journal is not None:
        outcomes = {o.address: o.status for o in result.outcomes}
        journal.append({"event": "end", "outcomes": outcomes})


def ram_region(plan: Plan) -> str:
    """The region RAM's client is named with: the plan's first regional change's."""
    return next((c.region for c in plan.changes if c.region), None) or DEFAULT_RAM_REGION


def apply_part(
    plan: Plan,
    clients: CloudClients,
    options: ApplyOptions,
    on_event: Callable[[ApplyEvent], None],
    carried: Carried,
    stop: StopFlag | None = None,
) -> tuple[ApplyResult, Carried]:
    """Carry out a part of a plan whose whole was checked (check_applicable) and whose
    journal `start` entry the caller wrote (it writes the `end` too): app/apply_processes.py
    applies the account-wide changes, then each region's in a worker process. The part's
    changes may depend on and refer to `carried` (what the parts before made); `stop` is shared
    with the parts running beside it (a failure in one stops new writes in all, as in one
    run). Returns the result and what this part hands on; raises Interrupted as apply_plan."""
    _check_well_formed(plan, carried.done)
    emit = _one_at_a_time(on_event)
    run = RunState(clients, options, emit, carried.ram_region, journal=options.journal)
    stop = stop if stop is not None else options.stop
    if stop is not None:
        run.stop = stop
    run.outputs.update(carried.outputs)
    if carried.ram_changed:
        run.ram_changed.set()
    outcomes, interrupted = _Scheduler(plan, run, done=carried.done).run()
    result = ApplyResult([outcomes.get(c.address) or _unrecorded(c) for c in plan.changes])
    if interrupted is not None:
        raise interrupted.with_apply_result(result)
    made = {o.address for o in result.outcomes if o.status == "done"}
    after = Carried(
        carried.ram_region, carried.done | made, dict(run.outputs), run.ram_changed.is_set()
    )
    return result, after


def _one_at_a_time(on_event: Callable[[ApplyEvent], None]) -> Callable[[ApplyEvent], None]:
    events = threading.Lock()

    def emit(event: ApplyEvent) -> None:
        with events:
            on_event(event)

    return emit


def _unrecorded(change: Change) -> ChangeOutcome:
    """A change whose outcome a signal kept from being recorded (it landed mid-bookkeeping)."""
    return ChangeOutcome(
        change.address,
        "failed",
        "interrupted before its outcome was recorded: see the journal, and plan again",
    )


def _is_parallel(change: Change) -> bool:
    kind = find_kind(change.address)
    return kind is not None and kind.runs_in_parallel


class _Scheduler:
    def __init__(self, plan: Plan, run: RunState, done: frozenset[str] = frozenset()) -> None:
        self.plan = plan
        self.run_state = run
        self.pending: list[Change] = list(plan.changes)
        self.running: dict[Future[ChangeOutcome], Change] = {}
        self.outcomes: dict[str, ChangeOutcome] = {a: ChangeOutcome(a, "done") for a in done}
        """Seeded with the changes made before this part (apply_part): its dependencies."""
        self.interrupted: Interrupted | None = None
        self.limit = max(1, run.options.parallelism)

    def run(self) -> tuple[dict[str, ChangeOutcome], Interrupted | None]:
        with ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix="apply") as pool:
            try:
                self._loop(pool)
            except Interrupted as error:  # the signal handler, on this (the main) thread
                self._note_interrupt(error)
            self._drain()
        self._skip_rest("not started: the run was interrupted" if self.interrupted else None)
        return self.outcomes, self.interrupted

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while self.pending or self.running:
            if self._stopping():
                return
            self._start_ready(pool)
            if not self.running:
                if self.pending:  # nothing can start and nothing will finish
                    self._skip_rest(None)
                return
            done, _ = wait(self.running, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                self._collect(future)

    def _stopping(self) -> bool:
        if cancellation.requested() and self.interrupted is None:
            self._note_interrupt(cancellation.interrupted() or Interrupted(2))
        return self.interrupted is not None or self.run_state.stop.is_set()

    def _note_interrupt(self, error: Interrupted) -> None:
        if self.interrupted is None:
            self.interrupted = error
        self.run_state.stop.set()

    def _start_ready(self, pool: ThreadPoolExecutor) -> None:
        serial_running = any(not _is_parallel(c) for c in self.running.values())
        if serial_running:
            return
        for change in list(self.pending):
            blocked = self._blocked_by(change)
            if blocked is not None:
                self.pending.remove(change)
                self.outcomes[change.address] = self._skipped(change, blocked)
                continue
            ready = all(d in self.outcomes for d in change.depends_on)
            if not _is_parallel(change):
                if ready and not self.running and self.pending[0] is change:
                    self._submit(pool, change)
                return  # everything after a serial change waits for it
            if len(self.running) >= self.limit:
                return
            if ready:
                self._submit(pool, change)

    def _blocked_by(self, change: Change) -> str | None:
        for dep in change.depends_on:
            outcome = self.outcomes.get(dep)
            if outcome is not None and outcome.status != "done":
                return f"not started: {dep} is {outcome.status.replace('_', ' ')}"
        return None

    def _skipped(self, change: Change, detail: str) -> ChangeOutcome:
        self.run_state.emit(ApplyEvent("skipped", change.address, detail))
        return ChangeOutcome(change.address, "not_started", detail)

    def _submit(self, pool: ThreadPoolExecutor, change: Change) -> None:
        self.pending.remove(change)
        self.running[pool.submit(run_change, change, self.run_state)] = change

    def _collect(self, future: Future[ChangeOutcome]) -> None:
        change = self.running.pop(future)
        try:
            self.outcomes[change.address] = future.result()
        except Interrupted as error:
            self._note_interrupt(error)
            self.outcomes[change.address] = ChangeOutcome(
                change.address,
                "failed",
                "interrupted: its write may have been made (see the journal); plan again",
            )
        except Exception as error:  # a bug must not lose the other changes' outcomes
            self.run_state.stop.set()
            self.outcomes[change.address] = ChangeOutcome(
                change.address, "failed", f"{type(error).__name__}: {error}"
            )

    def _drain(self) -> None:
        """Let changes in flight finish (their writes complete; after a signal their reads
        stop at once). A second signal here ends the process (cli/interrupt.py)."""
        while self.running:
            try:
                done, _ = wait(self.running, timeout=POLL_S, return_when=FIRST_COMPLETED)
            except Interrupted as error:
                self._note_interrupt(error)
                continue
            for future in done:
                self._collect(future)

    def _skip_rest(self, reason: str | None) -> None:
        for change in self.pending:
            detail = reason or EARLIER_FAILED
            self.outcomes[change.address] = self._skipped(change, detail)
        self.pending = []
