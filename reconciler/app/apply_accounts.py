"""apply of several accounts at once: each account's changes with its own clients, side by
side (README, "Several accounts"; docs/architecture.md, "Several accounts").

    result = apply_accounts(runs, the_plan, options, on_event, journal=journal, prefix=True)

How the promises of one run hold across accounts:
- Order: each account's changes in the plan's order, as one account's apply makes them (its
  account-wide changes first, its regions then, in worker processes with `--processes`);
  accounts share nothing the cloud orders (a key, a role and an instance are each one
  account's), so no account waits for another.
- Failure: one stop flag for every account (a multiprocessing Event when an account fans out
  into worker processes): a failed change anywhere stops new writes everywhere; writes in
  flight finish; a change kept from starting by another account's failure names it.
- One journal: one `start` entry (the whole plan) and one `end` entry (every outcome); each
  account's write entries carry its name and the addresses as the plan spells them.
- Signals: every account's run sees the process-wide cancellation (reconciler/cancellation.py)
  and stops as one run does; the partial result of all of them is the error's.
- Progress: one event at a time, with the addresses as the plan spells them.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.app.accounts import SEPARATOR
from reconciler.apply.journal import Journal
from reconciler.errors import AccountApplyError, Interrupted

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.app.saved_plan import Resumption
    from reconciler.apply.results import (
        ApplyEvent,
        ApplyOptions,
        ApplyResult,
        ChangeOutcome,
        OutcomeStatus,
        StopFlag,
    )
    from reconciler.cloud.clients import CloudClients
    from reconciler.plan.model import Plan

POLL_S = 0.2
"""How often the calling (main) thread wakes while the accounts apply (signals land there)."""


@dataclass(frozen=True)
class AccountRun:
    """What one account carries out: its name, what is left of its plan, its clients."""

    name: str
    work: Resumption
    clients: CloudClients


def apply_accounts(
    runs: Sequence[AccountRun],
    plan: Plan,
    options: ApplyOptions,
    on_event: Callable[[ApplyEvent], None],
    *,
    journal: Journal | None,
    prefix: bool,
) -> ApplyResult:
    """Carry out every account's part of `plan` (the one plan shown, whose addresses carry the
    account when `prefix`) at once; the result in the plan's spelling, every account's
    outcomes in `runs`' order. Raises Interrupted after a signal (every account stopped, the
    partial result on the error) and AccountApplyError for an account's error, once every
    other account has finished (the result on it too)."""
    from reconciler.apply.executor import journal_end, journal_start
    from reconciler.apply.results import ApplyResult

    shares = process_shares(runs)
    stop = shared_stop(runs, shares)
    journal_start(journal, plan)
    events = threading.Lock()

    def emit_of(name: str) -> Callable[[ApplyEvent], None]:
        def emit(event: ApplyEvent) -> None:
            with events:
                on_event(_spelled(event, name, prefix))

        return emit

    def one(run: AccountRun) -> ApplyResult:
        return _apply_one(run, options, shares[run.name], stop, journal, prefix, emit_of(run.name))

    results, error = _run_all(runs, one, stop)
    outcomes = _named_stops([(run.name, results[run.name]) for run in runs], prefix)
    result = ApplyResult(outcomes)
    journal_end(journal, result)
    if isinstance(error, Interrupted):
        raise error.with_apply_result(result)
    if error is not None:
        raise AccountApplyError(_failure_message(error), result) from error
    return result


def _failure_message(error: BaseException) -> str:
    """What one account's error means for a run of several: the others stopped starting
    writes, and what each made is in the result and the journal."""
    return (
        f"{error}. The accounts were applied together: every account stopped starting writes; "
        "the result above and the journal say what each made. Plan again"
    )


def process_shares(runs: Sequence[AccountRun]) -> dict[str, int | None]:
    """Each account's most worker processes (None: no cap). The accounts whose changes go to
    worker processes share `--processes` (N, or one per core for 0), so that together they
    start no more than one account may alone: memory stays bounded however many accounts a
    spec declares. An account left fewer than two applies in this process."""
    from reconciler.app.apply import fan_out_of

    shares: dict[str, int | None] = {run.name: None for run in runs}
    fanning = [run for run in runs if fan_out_of(run.work.plan, run.clients) is not None]
    if len(fanning) < 2:
        return shares
    requested = fanning[0].clients.settings.processes
    total = requested or (os.cpu_count() or 1)
    for index, run in enumerate(fanning):
        shares[run.name] = total // len(fanning) + (1 if index < total % len(fanning) else 0)
    return shares


def shared_stop(runs: Sequence[AccountRun], shares: dict[str, int | None]) -> StopFlag:
    """The stop flag of every account: a multiprocessing Event when any account's changes go
    to worker processes (it reaches them), else a threading Event."""
    from reconciler.app.apply import fan_out_of

    if any(fan_out_of(run.work.plan, run.clients, shares[run.name]) for run in runs):
        from reconciler.worker_start import worker_context

        return worker_context().Event()
    return threading.Event()


def _apply_one(
    run: AccountRun,
    options: ApplyOptions,
    cap: int | None,
    stop: StopFlag,
    journal: Journal | None,
    prefix: bool,
    emit: Callable[[ApplyEvent], None],
) -> ApplyResult:
    from reconciler.app.apply import apply

    own = AccountJournal(journal, run.name, prefix) if journal is not None else None
    options = dataclasses.replace(options, journal=own, stop=stop, process_cap=cap)
    return apply(run.work, run.clients, options, emit)


def _run_all(
    runs: Sequence[AccountRun], one: Callable[[AccountRun], ApplyResult], stop: StopFlag
) -> tuple[dict[str, ApplyResult], BaseException | None]:
    """Each account's result once every account has ended, and the error to raise then
    (_worse). An account's error stops the others' new writes; an account that raised lists
    its changes as unknown, one never started (a signal first) as not started."""
    found: dict[str, ApplyResult] = {}
    error: BaseException | None = None
    pending: dict[Future[ApplyResult], AccountRun] = {}
    waiting = list(runs)
    with ThreadPoolExecutor(max(1, len(runs)), thread_name_prefix="account") as pool:
        while pending or (waiting and error is None):
            try:
                if waiting and error is None:
                    pending[pool.submit(one, waiting[0])] = waiting[0]
                    waiting.pop(0)
                    continue
                done, _ = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            except Interrupted as signalled:  # the signal handler, on this (the main) thread
                error = _worse(error, signalled)
                stop.set()
                continue  # each account stops by itself (the cancellation flag): wait for it
            for future in done:
                run = pending.pop(future)
                found[run.name], failure = _outcome_of(future, run)
                if failure is not None:
                    stop.set()
                    error = _worse(error, failure)
    for run in waiting:  # a signal came before they started
        found[run.name] = _listed(run, "not_started", "not started: the run was interrupted")
    return found, error


def _worse(error: BaseException | None, new: BaseException) -> BaseException:
    """The error a run of several accounts raises: an interruption (what the user did), else
    the first account's unexpected error."""
    if error is None or (isinstance(new, Interrupted) and not isinstance(error, Interrupted)):
        return new
    return error


def _outcome_of(
    future: Future[ApplyResult], run: AccountRun
) -> tuple[ApplyResult, BaseException | None]:
    try:
        return future.result(), None
    except Interrupted as error:
        if error.apply_result is not None:
            return error.apply_result, error
        return _listed(run, "not_started", "not started: the run was interrupted"), error
    except BaseException as error:  # re-raised once the other accounts end
        why = f"applying account {run.name} stopped ({type(error).__name__}: {error})"
        return _listed(run, "failed", f"{why}: its outcome is unknown (see the journal)"), error


def _listed(run: AccountRun, status: OutcomeStatus, detail: str) -> ApplyResult:
    """Every change of `run` with one outcome: the result names every change, always."""
    from reconciler.apply.results import ApplyResult, ChangeOutcome

    work = run.work
    addresses = work.order or tuple(c.address for c in [*work.plan.changes, *work.made])
    return ApplyResult([ChangeOutcome(a, status, detail) for a in addresses])


def _spelled(event: ApplyEvent, name: str, prefix: bool) -> ApplyEvent:
    from reconciler.app.accounts import account_event

    return account_event(event, name) if prefix else event


def _named_stops(results: Sequence[tuple[str, ApplyResult]], prefix: bool) -> list[ChangeOutcome]:
    """Every account's outcomes in the plan's spelling; a change that another account's
    failure kept from starting says which account failed."""
    from reconciler.app.accounts import account_result
    from reconciler.apply.results import EARLIER_FAILED

    failed = [name for name, result in results if _has_failed(result)]
    outcomes: list[ChangeOutcome] = []
    for name, result in results:
        others = [other for other in failed if other != name]
        if others and not _has_failed(result):
            why = f"not started: a change of account {', '.join(others)} failed"
            result = _with_detail(result, EARLIER_FAILED, why)
        outcomes += account_result(result, name, prefix).outcomes
    return outcomes


def _has_failed(result: ApplyResult) -> bool:
    return bool(result.with_status("failed"))


def _with_detail(result: ApplyResult, old: str, new: str) -> ApplyResult:
    from reconciler.apply.results import ApplyResult

    return ApplyResult(
        [dataclasses.replace(o, detail=new) if o.detail == old else o for o in result.outcomes]
    )


class AccountJournal(Journal):
    """One account's view of the run's journal: its write entries carry the account and the
    addresses as the plan spells them; its run's `start` and `end` are left to the caller,
    which writes the whole plan's (apply_accounts)."""

    def __init__(self, journal: Journal, name: str, prefix: bool) -> None:
        super().__init__(journal.path)
        self.shared, self.name, self.prefix = journal, name, prefix

    def append(self, entry: dict[str, Any]) -> None:
        if entry.get("event") in ("start", "end"):
            return
        named = {**entry, "account": self.name}
        if self.prefix and isinstance(entry.get("address"), str):
            named["address"] = f"{self.name}{SEPARATOR}{entry['address']}"
        self.shared.append(named)
