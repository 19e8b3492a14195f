"""apply in worker processes, one region of an account at a time each (docs/architecture.md,
"Processes"; `--processes N`).

    fanout = fan_out(plan, requested)          # None: apply in this process, as before
    result = apply_fanned_out(plan, clients, options, emit, fanout)

How every apply promise is kept:
- Order: the changes every region needs (RAM, KMS keys: the serial changes the planner puts
  first) are made here first, in plan order; only then are the regions' changes (instance
  changes, which run in parallel in one process too) applied, each region in a worker, in the
  planner's order, with what the first ones produced (a new key's id). A plan of any other
  shape (a serial change after a parallel one, a change depending on another region's) is
  applied in this process.
- Guards: the worker runs the same change code (apply/change.py): each guard is read again
  right before its write there.
- One journal, written here from the workers' entries (apply_worker.RemoteJournal); one set
  of apply locks, held by the caller here; one progress display fed by the workers' events.
- Failure: one stop flag shared by every worker: a failed change anywhere stops new writes
  everywhere, as in one process; the result lists every change.
- Signals: once interrupted, each worker gets SIGTERM (a cancellation request there: no new
  call, writes in flight finish); the result, the journal's end and the exit code are as in
  one process. A worker that dies is named with the changes whose outcome is unknown.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reconciler import cancellation
from reconciler.errors import Interrupted

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.apply.results import (
        ApplyEvent,
        ApplyOptions,
        ApplyResult,
        Carried,
        ChangeOutcome,
    )
    from reconciler.cloud.clients import CloudClients
    from reconciler.plan.model import Change, Plan

POLL_S = 0.1
FINAL = {"done": "done", "failed": "failed", "scheduled": "scheduled", "skipped": "not_started"}
"""An event that ends a change, and the outcome it stands for."""


@dataclass(frozen=True)
class Fanout:
    """How a plan is applied in processes: `head` here first, then each unit in a worker."""

    head: tuple[str, ...]
    units: tuple[tuple[str, tuple[str, ...]], ...]
    """(region, its changes' addresses in plan order), by region."""
    processes: int


def fan_out(plan: Plan, requested: int | None, cap: int | None = None) -> Fanout | None:
    """The fan-out of `plan` for `--processes` (`requested`: 1 this process; None one per
    unit, at most one per core), at most `cap` processes (several accounts share
    `--processes`: app/apply_accounts.py), or None to apply it in this process."""
    from reconciler.kinds import find_kind
    from reconciler.state.processes import process_count

    if requested == 1:
        return None
    kinds = [find_kind(c.address) for c in plan.changes]
    parallel = [bool(k and k.runs_in_parallel) for k in kinds]
    first = parallel.index(True) if True in parallel else len(parallel)
    head, rest = plan.changes[:first], plan.changes[first:]
    if not all(parallel[first:]) or any(not c.region for c in rest):
        return None
    regions: dict[str, list[Change]] = {}
    for change in rest:
        regions.setdefault(str(change.region), []).append(change)
    heads = {c.address for c in head}
    for changes in regions.values():
        own = heads | {c.address for c in changes}
        if any(d not in own for c in changes for d in c.depends_on):
            return None  # depends on another region's change: one process orders it
    processes = process_count(requested, len(regions))
    if cap is not None:
        processes = min(processes, cap)
    if len(regions) < 2 or processes < 2:
        return None
    units = tuple((region, tuple(c.address for c in regions[region])) for region in sorted(regions))
    return Fanout(tuple(c.address for c in head), units, processes)


def apply_fanned_out(
    plan: Plan,
    clients: CloudClients,
    options: ApplyOptions,
    emit: Callable[[ApplyEvent], None],
    fanout: Fanout,
) -> ApplyResult:
    """apply_plan's contract (apply/executor.py), carried out as `fanout` says."""
    from reconciler.apply.executor import (
        apply_part,
        check_applicable,
        journal_end,
        journal_start,
        ram_region,
    )
    from reconciler.apply.results import ApplyResult, Carried

    check_applicable(plan, options)
    journal_start(options.journal, plan)
    outcomes: dict[str, ChangeOutcome] = {}
    interrupted: Interrupted | None = None
    carried = Carried(ram_region(plan))
    try:
        head, carried = apply_part(_part(plan, fanout.head), clients, options, emit, carried)
        outcomes.update((o.address, o) for o in head.outcomes)
    except Interrupted as error:
        interrupted = error
        outcomes.update((o.address, o) for o in error.apply_result.outcomes)
    if interrupted is None and all(o.status == "done" for o in outcomes.values()):
        workers = _Workers(plan, clients, options, emit, fanout, carried)
        found, interrupted = workers.run()
        outcomes.update(found)
    result = ApplyResult(
        [outcomes.get(c.address) or _skip(c, interrupted, emit) for c in plan.changes]
    )
    journal_end(options.journal, result)
    if interrupted is not None:
        raise interrupted.with_apply_result(result)
    return result


def _worker_options(options: ApplyOptions) -> ApplyOptions:
    """The options a worker applies with: no journal (it sends its entries here), a sleep
    that wakes on the cancellation SIGTERM requests there, and the stop flag as the job's."""
    import time

    sleep = cancellation.sleep if options.sleep is time.sleep else options.sleep
    return replace(options, journal=None, sleep=sleep, stop=None)


def _part(plan: Plan, addresses: Sequence[str]) -> Plan:
    wanted = set(addresses)
    return plan.model_copy(update={"changes": [c for c in plan.changes if c.address in wanted]})


def _skip(
    change: Change, interrupted: Interrupted | None, emit: Callable[[ApplyEvent], None]
) -> ChangeOutcome:
    from reconciler.apply.results import EARLIER_FAILED, ApplyEvent, ChangeOutcome

    detail = "not started: the run was interrupted" if interrupted is not None else EARLIER_FAILED
    emit(ApplyEvent("skipped", change.address, detail))
    return ChangeOutcome(change.address, "not_started", detail)


class _Workers:
    """The parent's side: start the workers, write their journal entries, forward their
    events, collect their results, until every unit is answered for."""

    def __init__(
        self,
        plan: Plan,
        clients: CloudClients,
        options: ApplyOptions,
        emit: Callable[[ApplyEvent], None],
        fanout: Fanout,
        carried: Carried,
    ) -> None:
        from reconciler.app.apply_worker import ApplyJob
        from reconciler.worker_start import environment, worker_context

        self.context = worker_context()
        self.plan, self.clients, self.emit, self.fanout = plan, clients, emit, fanout
        self.journal = options.journal
        self.job = ApplyJob(
            carried=carried,
            options=_worker_options(options),
            settings=replace(clients.settings, processes=1),
            limits=dict(clients.limiter.limits),
            stop=options.stop if options.stop is not None else self.context.Event(),
            parent=os.getpid(),
            environ=environment(),
        )
        self.answers: dict[int, list[ChangeOutcome]] = {}
        self.current: dict[int, int] = {}
        """Worker slot -> the unit it applies."""
        self.finals: dict[str, ChangeOutcome] = {}
        self.started: set[str] = set()
        self.interrupted: Interrupted | None = None
        self.signalled: set[int] = set()

    def run(self) -> tuple[dict[str, ChangeOutcome], Interrupted | None]:
        from reconciler.app.apply_worker import worker
        from reconciler.state.processes import stop_workers

        tasks, self.results = self.context.Queue(), self.context.Queue()
        for index, (region, addresses) in enumerate(self.fanout.units):
            tasks.put((index, region, _part(self.plan, addresses)))
        self.acks = [self.context.Queue() for _ in range(self.fanout.processes)]
        self.workers = [
            self.context.Process(
                target=worker, args=(self.job, slot, tasks, self.results, ack), daemon=True
            )
            for slot, ack in enumerate(self.acks)
        ]
        try:
            for process in self.workers:
                try:
                    process.start()
                except Interrupted as error:  # it may have started: it is told below
                    self._note_interrupt(error)
            for _ in self.workers:
                tasks.put(None)
            self._collect()
        finally:
            stop_workers(self.workers)
        found = {o.address: o for outcomes in self.answers.values() for o in outcomes}
        return found, self.interrupted

    def _collect(self) -> None:
        while len(self.answers) < len(self.fanout.units):
            try:
                if cancellation.requested() and self.interrupted is None:
                    raise cancellation.interrupted() or Interrupted(signal.SIGINT)
                self._tell_workers()
                try:
                    self._handle(self.results.get(timeout=POLL_S))
                except queue.Empty:
                    self._check_workers()
            except Interrupted as error:  # the signal handler, on this (the main) thread
                self._note_interrupt(error)

    def _note_interrupt(self, error: Interrupted) -> None:
        if self.interrupted is None:
            self.interrupted = error
        self._tell_workers()

    def _tell_workers(self) -> None:
        """Once interrupted, SIGTERM each started worker once: a cancellation request there
        (apply_worker), as the signal is here."""
        if self.interrupted is None:
            return
        for process in self.workers:
            pid = process.pid
            if pid is not None and pid not in self.signalled and process.exitcode is None:
                self.signalled.add(pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    def _handle(self, message: tuple) -> None:
        kind, index = message[0], message[1]
        if kind == "journal":
            self._write(index, message[2])
        elif kind == "event":
            self._event(message[2])
        elif kind == "start":
            self.current[message[2]] = index
        elif kind == "answer":
            self.clients.counter.add(message[3], message[4])
            self.answers[index] = message[2]
        else:  # "crash": a bug in the worker; its unit's outcomes are not known
            self.answers[index] = self._unknown(index, f"failed: {message[2]}")

    def _write(self, slot: int, entry: dict[str, Any]) -> None:
        """One of a worker's journal entries, on disk before the worker goes on."""
        if entry.get("event") == "before" and self.interrupted is not None:
            self.acks[slot].put(("refused", None))  # no write after the signal, nor its entry
            return
        try:
            if self.journal is not None:
                self.journal.append(entry)
        except OSError as error:
            self.acks[slot].put(("error", f"cannot write the apply journal: {error}"))
            return
        self.acks[slot].put(("ok", None))

    def _event(self, event: ApplyEvent) -> None:
        from reconciler.apply.results import ChangeOutcome

        self.started.add(event.address)
        status = FINAL.get(event.kind)
        if status is not None:
            self.finals[event.address] = ChangeOutcome(event.address, status, event.message)
        self.emit(event)

    def _check_workers(self) -> None:
        """A worker that ended before answering for its unit: its unit is answered for here."""
        for slot, process in enumerate(self.workers):
            index = self.current.get(slot)
            if process.exitcode is None or index is None or index in self.answers:
                continue
            self._drain()
            if index in self.answers:
                continue
            self.job.stop.set()  # as a failed change: nothing new starts elsewhere
            region = self.fanout.units[index][0]
            why = f"the worker process applying {region} ended (exit code {process.exitcode})"
            self.answers[index] = self._unknown(index, why)
        if all(p.exitcode is not None for p in self.workers):
            self._drain()
            for index, (region, _) in enumerate(self.fanout.units):
                if index not in self.answers:
                    why = f"no worker process was left to apply {region}"
                    self.answers[index] = self._unknown(index, why)

    def _drain(self) -> None:
        """Messages a worker sent before it ended may still be in the pipe."""
        while True:
            try:
                self._handle(self.results.get(timeout=POLL_S))
            except queue.Empty:
                return

    def _unknown(self, index: int, why: str) -> list[ChangeOutcome]:
        """The outcomes of a unit whose worker did not answer: what its events said; a change
        it started without an end is unknown (failed, never done); the rest not started."""
        from reconciler.apply.results import ApplyEvent, ChangeOutcome

        found = []
        for address in self.fanout.units[index][1]:
            if address in self.finals:
                found.append(self.finals[address])
                continue
            if address in self.started:
                detail = f"{why}: its outcome is unknown (see the journal); plan again"
                outcome = ChangeOutcome(address, "failed", detail)
            else:
                outcome = ChangeOutcome(address, "not_started", f"not started: {why}")
            self.emit(ApplyEvent(FINAL_EVENT[outcome.status], address, outcome.detail))
            found.append(outcome)
        return found


FINAL_EVENT = {"failed": "failed", "not_started": "skipped"}
