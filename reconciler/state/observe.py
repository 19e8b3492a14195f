"""observe(scope, clients) -> ObservedState: read only what the scope needs, concurrently.

The scope is a spec (what plan and apply read), or a ReadScope: a spec plus what drift and
import read beyond it (every PostgreSQL instance's encryption for the coverage, regions the
spec does not name, every engine, the keys instances use, the RAM role by its default name).

This is the kind-agnostic engine: each kind (reconciler/kinds, in registry order) submits its
reads for the scope (`ResourceKind.start_reads`, kinds/<kind>/read.py says which), then, once
every first answer is in, the reads that need them (`follow_up_reads`: e.g. the keys instances
are found to use); the kinds' `observed_fields` make up the ObservedState. Together they stay
within N + ceil(N/100) + K + 10 calls for N instances and K keys (README, "Measured";
tests/bench/bench_call_bound.py).

Fail closed: only answers known to state a fact are facts (cloud/answers.py); any other error
stops observation with an ObserveError naming the action, the resource, the code and the
request id.

The work runs on a thread pool; a small event loop reacts to each answer (e.g. a listed page
submits that page's instance reads at once), so no worker ever waits on another and the pool
stays full.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol

from reconciler.cloud.clients import CloudClients
from reconciler.core.facts import ObservedState
from reconciler.errors import CloudCallError, NetworkError, ObserveError
from reconciler.kinds import KINDS
from reconciler.spec.models import Spec
from reconciler.state.reads import Facts, ReadScope

__all__ = ["Progress", "ReadScope", "observe"]

Progress = Callable[[int, int], None]


class Executor(Protocol):
    """What _Loop needs of a pool: ThreadPoolExecutor, or a worker's RankedExecutor."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> object: ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None: ...


class _Loop:
    """Submit tasks with a continuation; a continuation runs, under one lock, on the worker
    that finished the task, and may submit more tasks.

    Running continuations on the workers (rather than handing every answer back to the calling
    thread) saves a thread wake-up and a GIL hand-over per call, which is most of our own cost
    per call at a thousand instances. The continuations only record facts and submit reads."""

    def __init__(self, pool: Executor, progress: Progress | None) -> None:
        self._pool = pool
        self.lock = threading.Lock()
        """Held while continuations run; hold it to submit from outside one."""
        self._idle = threading.Condition(self.lock)
        self._progress = progress
        self._outstanding = 0
        self._error: BaseException | None = None
        self.submitted = 0
        self.finished = 0

    def submit(self, then: Callable[[Any], None], fn: Callable[..., Any], *args: Any) -> None:
        """Call from a continuation, or with `lock` held."""
        self._outstanding += 1
        self.submitted += 1
        self._pool.submit(self._task, then, fn, args)

    def _task(self, then: Callable[[Any], None], fn: Callable[..., Any], args: tuple) -> None:
        try:
            result = fn(*args)
        except BaseException as error:  # handed to the waiting thread, raised there
            result, failed = None, error
        else:
            failed = None
        with self._idle:
            try:
                if failed is None and self._error is None:
                    then(result)
            except BaseException as error:
                failed = error
            if failed is not None and self._error is None:
                self._error = failed
            self._outstanding -= 1
            self.finished += 1
            if self._outstanding == 0 or self._error is not None:
                self._idle.notify_all()

    def run(self) -> None:
        """Wait until every task and continuation is done; raise the first failure."""
        with self._idle:
            while self._outstanding and self._error is None:
                self._idle.wait(timeout=0.1)
                if self._progress is not None:
                    self._progress(self.finished, self.submitted)
            if self._error is not None:
                raise self._error
        if self._progress is not None:
            self._progress(self.finished, self.submitted)


def observe(
    scope: Spec | ReadScope,
    clients: CloudClients,
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
    now: datetime | None = None,
    pool: Executor | None = None,
) -> ObservedState:
    """Read the facts the plan (a Spec) or drift and import (a ReadScope) need. Documented
    not-found answers become None/absent; every other failure raises ObserveError. `now` bounds
    the task-center query (default: the clock). `pool`: the threads to read on, in this
    process (a worker's, shared by its units: state/ranked_pool.py); default: a pool of
    `parallelism` threads of its own."""
    moment = now or datetime.now(UTC)
    requested = getattr(getattr(clients, "settings", None), "processes", 1)  # stubs: 1
    if requested != 1:  # worker processes, one account-region each
        from reconciler.state.processes import observe_in_processes, worker_count
        from reconciler.state.units import read_units

        read_scope = ReadScope.of(scope)
        units = read_units(read_scope)
        count = worker_count(requested, [read_scope], len(units))
        if count > 1:
            return observe_in_processes(
                read_scope,
                clients,
                units,
                count,
                parallelism=parallelism,
                progress=progress,
                now=moment,
                read=observe,
            )
    with _older_objects_left_out():
        if pool is not None:
            return _observe_on(pool, ReadScope.of(scope), clients, progress, moment)
        with ThreadPoolExecutor(max(1, parallelism), thread_name_prefix="observe") as own:
            return _observe_on(own, ReadScope.of(scope), clients, progress, moment)


def _observe_on(
    pool: Executor,
    scope: ReadScope,
    clients: CloudClients,
    progress: Progress | None,
    now: datetime,
) -> ObservedState:
    try:
        return _Observer(scope, clients, _Loop(pool, progress), now).run()
    except CloudCallError as error:
        pool.shutdown(wait=True, cancel_futures=True)
        _raise(error)


def observe_accounts(
    reads: Mapping[str, tuple[Spec | ReadScope, CloudClients]],
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
    now: datetime | None = None,
    on_account: Callable[[str, ObservedState], None] | None = None,
) -> dict[str, ObservedState]:
    """observe() of several accounts (each scope with its own account's clients). With worker
    processes, every account-region of every account is read in one pool of workers, so no
    account waits for the other's slowest region nor for a second start of the workers
    (docs/architecture.md, "Processes"), and `on_account` is given each account's facts as
    soon as they are complete, while the others are still read; otherwise every account at
    once in this process, on one pool of `parallelism` threads (`on_account` unused)."""
    from reconciler.state.processes import (
        account_units,
        observe_accounts_in_processes,
        worker_count,
    )

    moment = now or datetime.now(UTC)
    scopes = {name: (ReadScope.of(scope), clients) for name, (scope, clients) in reads.items()}
    requested = next(iter(reads.values()))[1].settings.processes
    units = sum(len(account_units(name, scope)) for name, (scope, _) in scopes.items())
    count = worker_count(requested, [scope for scope, _ in scopes.values()], units)
    if len(reads) > 1 and count > 1:
        found = observe_accounts_in_processes(
            scopes,
            count,
            parallelism=parallelism,
            progress=progress,
            now=moment,
            read=observe,
            on_account=None if on_account is None else _by_name(on_account),
        )
        return {str(name): state for name, state in found.items()}
    if len(scopes) == 1:  # observe() reads it in this process too (the same worker_count rule)
        [(name, (scope, clients))] = scopes.items()
        return {
            name: observe(scope, clients, parallelism=parallelism, progress=progress, now=moment)
        }
    return _observe_at_once(scopes, parallelism, progress, moment)


def _observe_at_once(
    scopes: Mapping[str, tuple[ReadScope, CloudClients]],
    parallelism: int,
    progress: Progress | None,
    now: datetime,
) -> dict[str, ObservedState]:
    """Each account's _Observer driven by a thread of its own, their reads on one shared pool:
    no account waits for another's slowest region, and `parallelism` still bounds the calls in
    flight. The first failure stops them all (the pool takes no new read) and is raised."""
    totals = _Totals(progress)
    with (
        _older_objects_left_out(),
        ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="observe") as pool,
        ThreadPoolExecutor(max_workers=len(scopes), thread_name_prefix="account") as drivers,
    ):
        runs = {
            drivers.submit(_Observer(scope, clients, _Loop(pool, totals.part(name)), now).run): name
            for name, (scope, clients) in scopes.items()
        }
        done, _running = wait(runs, return_when=FIRST_EXCEPTION)
        failed = next((f for f in runs if f in done and f.exception() is not None), None)
        if failed is not None:
            pool.shutdown(wait=False, cancel_futures=True)  # the others' next submit fails
            _raise(failed.exception())
        return {runs[f]: f.result() for f in runs}


def _by_name(
    on_account: Callable[[str, ObservedState], None],
) -> Callable[[str | None, ObservedState], None]:
    return lambda name, state: on_account(str(name), state)


@contextmanager
def _older_objects_left_out() -> Iterator[None]:
    """While reading, the garbage collector leaves out the objects alive before (gc.freeze):
    the spec, the SDK's modules. A full collection of them (~110,000 objects at 1,000
    instances) holds the GIL for 50-70 ms, every worker stalled, and one fell in every few
    reads of that size; the answers read meanwhile are collected as before. Left alone when
    someone else froze objects (their freeze is not ours to undo)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Totals:
    """The sum of every account's (finished, submitted) counts, shown as one progress."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def part(self, name: str) -> Progress | None:
        if self._progress is None:
            return None

        def report(finished: int, submitted: int) -> None:
            with self._lock:
                self._counts[name] = (finished, submitted)
                done = sum(f for f, _ in self._counts.values())
                total = sum(s for _, s in self._counts.values())
                assert self._progress is not None
                self._progress(done, total)

        return report


def _raise(error: BaseException | None) -> NoReturn:
    if isinstance(error, CloudCallError):
        raise ObserveError(f"reading the cloud failed: {error}{_advice(error)}") from error
    assert error is not None
    raise error


def _advice(error: CloudCallError) -> str:
    """What to do next, where the error's own message does not say it already."""
    from reconciler.cloud.retry import Family, family_of

    if isinstance(error, NetworkError):
        return ""  # names the endpoint, the cause and the fix itself
    family = family_of(error)
    if family is Family.NOT_AUTHORIZED:
        return (
            f" (check the credentials: the identity they give may not call {error.action}; "
            "`reconciler permissions --mode plan|drift|apply` prints the policy each command "
            "needs)"
        )
    if error.code.startswith(
        ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurityToken")
    ):
        return " (check the credentials and that they may read RDS, KMS and RAM)"
    if family is Family.THROTTLING:
        return " (gave up after retries; try again later or lower --parallelism)"
    if family is Family.UNAVAILABLE:
        return " (gave up after retries; try again later)"
    return ""


class _Observer:
    """The `Reader` the kinds submit their reads to: two rounds, then the kinds' fields."""

    def __init__(self, scope: ReadScope, clients: CloudClients, loop: _Loop, now: datetime) -> None:
        self.scope = scope
        self.clients = clients
        self.now = now
        self.facts = Facts()
        self._loop = loop

    def submit(self, then: Callable[[Any], None], fn: Callable[..., Any], *args: Any) -> None:
        self._loop.submit(then, fn, *args)

    def run(self) -> ObservedState:
        with self._loop.lock:  # workers run continuations under it: start them consistently
            for kind in KINDS:
                kind.start_reads(self, self.scope)
        self._loop.run()
        with self._loop.lock:
            for kind in KINDS:
                kind.follow_up_reads(self, self.scope)
        self._loop.run()
        return self._state()

    def _state(self) -> ObservedState:
        fields: dict[str, Any] = {}
        for kind in KINDS:
            part = kind.observed_fields(self, self.scope)
            if shared := sorted(fields.keys() & part.keys()):
                raise ValueError(f"kind {kind.name} sets fields another kind set: {shared}")
            fields.update(part)
        return ObservedState(**fields)
