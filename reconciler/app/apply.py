"""apply: the locks, the journal, and carrying out a plan or what is left of a saved one,
as functions that print nothing (docs/architecture.md).

    account = read_account(loaded, clients)                # one read, then the locks
    with apply_lock(lock_scopes(loaded, account, endpoint)):   # ApplyError naming the holder
        observed, plan = observe_and_plan(loaded, clients) # read under the lock (app.plan)
        check_locked_account(account, observed)
        findings = check_saved_plan(saved, loaded, observed, plan)   # app.saved_plan
        result = apply(plan, clients, options, on_event)   # ApplyError before any write

Settling: the changes of a saved plan that an earlier run already made report `done` without
a write, and an instance still re-encrypting from that run is waited for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.app.saved_plan import Resumption, resolved, resume
from reconciler.kinds import find_kind

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.apply.executor import ApplyEvent, ApplyOptions, ApplyResult
    from reconciler.apply.lock import ApplyLocks, LockScope
    from reconciler.cloud.clients import CloudClients
    from reconciler.core.facts import ObservedState
    from reconciler.plan.model import Change, Plan
    from reconciler.spec.loader import LoadedSpec

JOURNAL_NAME = "journal.jsonl"


def journal_path(state_dir: str | Path) -> Path:
    """Where apply records its writes: `<state dir>/journal.jsonl`."""
    return Path(state_dir) / JOURNAL_NAME


def check_journal(state_dir: str | Path) -> None:
    """Raise ApplyError when the journal of `state_dir` cannot be written (apply() checks it
    too; the CLI asks first, so the error comes before the cloud is read)."""
    from reconciler.apply.journal import Journal

    Journal(journal_path(state_dir)).check()


def read_account(loaded: LoadedSpec, clients: CloudClients) -> str | None:
    """The account of the credentials, from the ARN of the RDS service key of the default
    region (one read), else of the spec's other regions in turn, as the observation finds it;
    None where no region has one (KMS not activated). What the apply locks are named by, read
    before the observation so that the plan is made from facts read under the locks."""
    from reconciler.cloud.kms import service_key

    spec = loaded.spec
    others = [r for r in spec.regions() if r != spec.defaults.region]
    for region in [spec.defaults.region, *others]:
        account = service_key(clients, region).account_id
        if account:
            return account
    return None


def lock_scopes(loaded: LoadedSpec, account: str | None, endpoint: str | None) -> list[LockScope]:
    """What an apply of `loaded` locks: every region the spec touches (a superset of the
    plan's), and the account as a whole when RAM may be changed (the role is account-wide)."""
    from reconciler.apply.lock import ACCOUNT_WIDE, LockScope

    regions = list(loaded.spec.regions())
    if loaded.spec.effective_ram() is not None:
        regions.append(ACCOUNT_WIDE)
    return [LockScope(account, region, endpoint) for region in regions]


@contextlib.contextmanager
def locked(
    loaded: LoadedSpec, clients: CloudClients, endpoint: str | None, home: str | Path | None = None
) -> Iterator[str | None]:
    """Hold the apply locks of the spec's (account, region)s; yields the account.

    The account is read first, with one call (the RDS service key's ARN), so that the locks are
    held before the observation the plan is made from: nothing read before them is used for a
    write. (The other way, observing and then locking, would need a second observation.)"""
    account = read_account(loaded, clients)
    with apply_lock(lock_scopes(loaded, account, endpoint), home):
        yield account


def to_apply(
    saved: Plan | None, loaded: LoadedSpec, observed: ObservedState, fresh: Plan
) -> Resumption:
    """What apply carries out: of a saved plan that check_saved_plan() accepted, what is left
    (resume()); without one, the fresh plan, in its order."""
    if saved is not None:
        return resume(saved, loaded, observed, fresh)
    return Resumption(fresh, order=tuple(c.address for c in fresh.changes))


def apply_lock(scopes: Sequence[LockScope], home: str | Path | None = None) -> ApplyLocks:
    """The one-apply-at-a-time locks of `scopes` in the user's state folder (`home`, default
    lock_home()). Entering raises ApplyError naming the holder when another apply holds one."""
    from reconciler.apply.lock import ApplyLocks, lock_home

    return ApplyLocks(lock_home() if home is None else home, scopes)


def check_locked_account(account: str | None, observed: ObservedState) -> None:
    """Raise ApplyError when the observation saw another account than the locks are named by."""
    from reconciler.errors import ApplyError

    if observed.account_id != account:
        raise ApplyError(
            f"the account read before taking the apply lock ({account or 'unknown'}) is not "
            f"the one observed ({observed.account_id or 'unknown'}); nothing was written: run "
            "again"
        )


def check_applicable(plan: Plan, options: ApplyOptions) -> None:
    """Raise ApplyError, before any write, when the plan may not be applied with these
    options (a refusal; a restart, immediate or scheduled, without allow_restart; a change
    that cannot be undone without allow_irreversible; naming the instances)."""
    from reconciler.apply.executor import check_applicable as check

    check(plan, options)


def apply(
    plan: Plan | Resumption,
    clients: CloudClients,
    options: ApplyOptions,
    on_event: Callable[[ApplyEvent], None] | None = None,
    *,
    state_dir: str | Path | None = None,
) -> ApplyResult:
    """Carry the plan out (a Resumption: what is left of a saved plan). With `state_dir`,
    writes are recorded in its journal (unless `options` already names one); the caller holds
    apply_lock(...) around this and the observation the plan was made from. Raises ApplyError
    before any write when the plan may not be applied (or its journal cannot be written);
    re-raises Interrupted after stopping new writes and waiting for those in flight (the
    executor's partial result is on the error as `apply_result`).

    Changes of a Resumption that are already made report `done` without a write; an instance
    whose change an earlier run submitted and that is still re-encrypting is waited for, as
    if this run had submitted it."""
    from reconciler.apply.executor import ApplyResult
    from reconciler.apply.journal import Journal

    resumed = plan if isinstance(plan, Resumption) else Resumption(plan)
    if state_dir is not None and options.journal is None:
        options = dataclasses.replace(options, journal=Journal(journal_path(state_dir)))
    check_applicable(resumed.plan, options)
    if options.journal is not None:
        options.journal.check()
    lock = threading.Lock()

    def emit(event: ApplyEvent) -> None:
        if on_event is not None:
            with lock:
                on_event(event)

    result = (
        _carry_out(resumed.plan, clients, options, emit)
        if resumed.plan.changes
        else ApplyResult([])
    )
    if not resumed.made:
        return result
    settled = _settle(resumed, clients, options, emit)
    outcomes = {o.address: o for o in [*result.outcomes, *settled]}
    return ApplyResult([outcomes[a] for a in resumed.order if a in outcomes])


def fan_out_of(plan: Plan, clients: CloudClients, cap: int | None = None) -> Any:
    """How `plan` is applied in worker processes (`--processes`, at most `cap`), or None: in
    this process (app/apply_processes.py). The CLI asks it too, to say so."""
    from reconciler.app.apply_processes import fan_out

    return fan_out(plan, getattr(getattr(clients, "settings", None), "processes", 1), cap)


def _carry_out(
    plan: Plan, clients: CloudClients, options: ApplyOptions, emit: Callable[[ApplyEvent], None]
) -> ApplyResult:
    """The executor in this process, or its parts in worker processes (`--processes`)."""
    from reconciler.app.apply_processes import apply_fanned_out
    from reconciler.apply.executor import apply_plan

    fanout = fan_out_of(plan, clients, options.process_cap)
    if fanout is None:
        return apply_plan(plan, clients, options, emit)
    return apply_fanned_out(plan, clients, options, emit, fanout)


MADE_ALREADY = "already as the plan wants (made by an earlier run of this plan, or by hand)"


def _settle(
    resumed: Resumption,
    clients: CloudClients,
    options: ApplyOptions,
    emit: Callable[[ApplyEvent], None],
) -> list[Any]:
    """Outcomes of the changes an earlier run made; waits for instances still switching."""
    from concurrent.futures import ThreadPoolExecutor

    from reconciler.apply.compare import ServiceKeys
    from reconciler.apply.executor import ApplyEvent, ChangeOutcome
    from reconciler.apply.waiter import Waiter

    waiter = Waiter(clients, options, emit, ServiceKeys(clients))

    def one(change: Change) -> Any:
        switching = _still_switching(change, resumed.observed)
        if switching is None:
            emit(ApplyEvent("done", change.address, MADE_ALREADY))
            return ChangeOutcome(change.address, "done", MADE_ALREADY)
        if change.scheduled:
            detail = "submitted for the maintenance window by an earlier run of this plan"
            emit(ApplyEvent("scheduled", change.address, detail))
            return ChangeOutcome(change.address, "scheduled", detail)
        instance, target = switching
        emit(ApplyEvent("waiting", change.address, "submitted by an earlier run; waiting"))
        waited = waiter.until_done(change.address, instance.region, instance.instance_id, target)
        status = "done" if waited.ok else "failed"
        emit(ApplyEvent(status, change.address, waited.detail))
        return ChangeOutcome(change.address, status, waited.detail)

    with ThreadPoolExecutor(max(1, options.parallelism), thread_name_prefix="settle") as pool:
        return list(pool.map(one, resumed.made))


def _still_switching(change: Change, observed: ObservedState | None) -> tuple[Any, str] | None:
    """(instance, the value it switches to) when an earlier run's write of `change` is still
    under way (its kind says: reconciler/kinds); else None."""
    kind = find_kind(change.address)
    if observed is None or kind is None:
        return None

    def last_params() -> dict[str, Any]:
        operation = change.operations[-1]
        refs = {value["ref"] for value in operation.refs()}
        return resolved(operation, refs, observed).params

    return kind.still_switching(change, observed, last_params)
