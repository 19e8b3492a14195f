"""Observe in worker processes, each reading one or two account-regions at once (units.py).

One process tops out near the SDK's CPU cost per call (README, "Measured"); workers read
disjoint account-regions and return facts (an ObservedState part, never an SDK object), which
the parent merges (units.merge_states). docs/architecture.md, "Processes", says why each
quota's token bucket, and the quota learnt from throttling, stay in one process.

- Each worker is a fork of a fresh fork server with the SDKs imported (worker_start.py): it
  inherits no thread, lock, signal handler or cancellation flag of the parent, adopts the
  run's environment, builds its own CloudClients from the picklable settings and resolves the
  credentials itself (an account's role assumed once per worker). Its start arguments hold no
  spec: each unit's part of the scope comes on the task queue.
- Several accounts are one pool: every account-region of every account is a unit; each
  account's facts are merged on their own (observe_accounts_in_processes).
- Progress: each worker sends its (finished, submitted) counts; the parent shows their sum.
- Signals: workers ignore SIGINT (a terminal sends it to the whole group); the parent, once
  interrupted, terminates them (SIGTERM ends a worker at once: no call starts after it) and
  exits 130/143 as in one process. A worker whose parent is gone ends itself.
- Fail closed: the first failed unit stops the reading with its error (ObserveError); a worker
  that dies before it answers is an error naming its unit, never a silently missing region.
"""

from __future__ import annotations

import gc
import itertools
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from reconciler import cancellation
from reconciler.cloud.clients import CloudClients, CloudSettings, Service
from reconciler.core.collector import collector_paused
from reconciler.core.facts import ObservedState
from reconciler.errors import ObserveError, ReconcilerError
from reconciler.state.ranked_pool import RankedExecutor, RankedPool
from reconciler.state.reads import ReadScope
from reconciler.state.units import (
    ReadUnit,
    account_unit,
    check_in_unit,
    merge_states,
    read_units,
    unit_scope,
)
from reconciler.worker_start import adopt_environment, environment, watch_run, worker_context

Progress = Callable[[int, int], None]
POLL_SECONDS = 0.1
DRAIN_SECONDS = 1.0
"""How long a dead worker's last messages may take to arrive before its unit is an error."""


SMALL_FLEET = 3000
"""Auto mode (`--processes 0`) reads a spec of fewer instances in this process: starting the
workers (the fork server's imports of the SDKs, about 0.7 s of CPU) costs more than the second
core saves below about this many reads (measured: docs/architecture.md, "Processes")."""


def worker_count(requested: int | None, scopes: Sequence[ReadScope], units: int) -> int:
    """How many worker processes to read `units` in; 1: in this process. `--processes N`
    is obeyed (at most one per unit); auto (None) reads a small fleet here, and a reading of
    every instance (drift, import: the count is unknown before it is read) in workers."""
    known = all(not s.all_instances for s in scopes)
    if requested is None and known and sum(len(s.spec.instances) for s in scopes) < SMALL_FLEET:
        return 1
    return process_count(requested, units)


def process_count(requested: int | None, units: int) -> int:
    """`--processes` (None: one per unit, at most one per core), never more than units."""
    wanted = requested if requested is not None else (os.cpu_count() or 1)
    return max(1, min(wanted, units))


@dataclass(frozen=True)
class Job:
    """What every worker starts with, all picklable: no client, no secret beyond the settings'
    and the environment's, and no spec. Its size does not grow with the fleet: a worker reads
    it from a pipe the parent writes before `start()` returns, so a large job started the
    workers one after the other (each waited for the previous one's imports)."""

    units: tuple[ReadUnit, ...]
    accounts: dict[str | None, ReadUnit]
    """Each account's unit that reads what is account-wide (units.account_unit)."""
    settings: dict[str | None, CloudSettings]
    """Each account's settings (its role to assume, when several accounts are read)."""
    limits: dict[str, float]
    parallelism: int
    now: datetime
    parent: int
    read: Callable[..., ObservedState]
    """The in-process observe (state/observe.py), passed in: pickled by name, no import cycle."""
    environ: dict[str, str] = field(repr=False)
    """The run's environment (worker_start.environment), which a spawned worker would have
    inherited: a worker adopts it first. Never in a repr: it may hold credentials."""
    units_at_once: int = 1
    """Units a worker reads at once (units_at_once())."""


Reads = Mapping[str | None, tuple[ReadScope, CloudClients]]
"""Each account's scope and clients (None: the credentials' own account, no `accounts:`)."""
Task = tuple[int, ReadScope]
"""A unit's index and its part of the scope (units.unit_scope), on the task queue."""


class UnitClients(CloudClients):
    """A worker's clients: every call must be its unit's (its quota is this process's)."""

    def __init__(self, settings: CloudSettings, unit: ReadUnit, reads_account: bool, **kw: Any):
        super().__init__(settings, **kw)
        self.unit, self.reads_account = unit, reads_account

    def call(self, service: Service, region: str, action: str, invoke: Any, **kw: Any) -> Any:
        check_in_unit(self.unit, service, region, reads_account=self.reads_account)
        return super().call(service, region, action, invoke, **kw)


def observe_in_processes(
    scope: ReadScope,
    clients: CloudClients,
    units: Sequence[ReadUnit],
    processes: int,
    *,
    parallelism: int,
    progress: Progress | None,
    now: datetime,
    read: Callable[..., ObservedState],
) -> ObservedState:
    """Read each unit in a worker (`read`: state.observe.observe, in-process there); merge the
    parts. Raises ObserveError (fail closed) and
    Interrupted (the parent's signal; every worker is stopped first)."""
    found = observe_accounts_in_processes(
        {None: (scope, clients)},
        processes,
        parallelism=parallelism,
        progress=progress,
        now=now,
        read=read,
        units={None: units},
    )
    return found[None]


def observe_accounts_in_processes(
    reads: Reads,
    processes: int | None,
    *,
    parallelism: int,
    progress: Progress | None,
    now: datetime,
    read: Callable[..., ObservedState],
    units: Mapping[str | None, Sequence[ReadUnit]] | None = None,
    on_account: Callable[[str | None, ObservedState], None] | None = None,
) -> dict[str | None, ObservedState]:
    """Every account-region of every account in one pool of workers (no account waits for
    another's slowest region), each account's facts merged on their own. `on_account` is
    given each account's facts as soon as its last unit answers, while the others' are still
    read (the plan of one account overlaps the reading of the next).

    The cyclic collector is paused while the parent collects: the parts it unpickles are many
    containers and no cycle, and each batch of them started a full collection of everything
    alive (the spec, the merged facts, an account's plan), 200 ms of a core at 10,000
    instances, taken from the workers and the emulator on a small machine."""
    context = worker_context()
    job = make_job(reads, parallelism=parallelism, now=now, read=read, units=units)
    tasks, results = context.Queue(), context.Queue()
    count = process_count(processes, len(job.units))
    job = replace(job, units_at_once=units_at_once(len(job.units), count))
    workers = [
        context.Process(target=_worker, args=(job, tasks, results), daemon=True)
        for _ in range(count)
    ]
    counters = {account: clients for account, (_, clients) in reads.items()}
    collector = _Collector(job, workers, results, counters, progress, on_account)
    try:
        for worker in workers:  # first: a worker's start overlaps the cutting of the tasks
            worker.start()
        for task in unit_tasks(reads, job):  # the queue's feeder thread writes them
            tasks.put(task)
        for _ in workers:
            tasks.put(None)
        with collector_paused():  # the parts are unpickled facts, no cycle (below)
            return collector.run()
    finally:
        _stop(workers)


def make_job(
    reads: Reads,
    *,
    parallelism: int,
    now: datetime,
    read: Callable[..., ObservedState],
    units: Mapping[str | None, Sequence[ReadUnit]] | None = None,
) -> Job:
    """The job of reading every account's units (default: units.read_units of its scope)."""
    by_account = {
        account: list(units[account]) if units else account_units(account, scope)
        for account, (scope, _) in reads.items()
    }
    return Job(
        units=tuple(u for account_units_ in by_account.values() for u in account_units_),
        accounts={a: account_unit(reads[a][0], us) for a, us in by_account.items()},
        settings={a: replace(c.settings, processes=1) for a, (_, c) in reads.items()},
        limits=dict(next(iter(reads.values()))[1].limiter.limits),
        parallelism=parallelism,
        now=now,
        parent=os.getpid(),
        read=read,
        environ=environment(),
    )


def account_units(account: str | None, scope: ReadScope) -> list[ReadUnit]:
    return [replace(unit, account=account) for unit in read_units(scope)]


def unit_tasks(reads: Reads, job: Job) -> list[Task]:
    """Each unit's part of its account's scope: a worker is sent only the parts it reads."""
    return [
        (index, unit_scope(reads[unit.account][0], unit, reads_account=_reads_account(job, unit)))
        for index, unit in enumerate(job.units)
    ]


def _reads_account(job: Job, unit: ReadUnit) -> bool:
    return unit == job.accounts[unit.account]


def _stop(workers: Sequence[Any]) -> None:
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    for worker in workers:
        worker.join(timeout=2.0)
        if worker.is_alive():
            worker.kill()
            worker.join()


class _Collector:
    """The parent's side: messages from the workers, until every unit answered."""

    def __init__(
        self,
        job: Job,
        workers: Sequence[Any],
        results: Any,
        clients: Mapping[str | None, CloudClients],
        progress: Progress | None,
        on_account: Callable[[str | None, ObservedState], None] | None = None,
    ) -> None:
        self.job, self.workers, self.results = job, workers, results
        self.clients, self.progress = clients, progress
        """Each account's clients: the workers' calls are counted on their counters."""
        self.on_account = on_account
        self.parts: dict[int, ObservedState] = {}
        self.merged: dict[str | None, ObservedState] = {}
        """Each account whose every unit answered: its facts, merged."""
        self.current: dict[int, set[int]] = {}
        """Worker pid -> the units it is reading (UNITS_AT_ONCE at most)."""
        self.counts: dict[int, tuple[int, int]] = {}

    def run(self) -> dict[str | None, ObservedState]:
        """Each account's facts, merged from its units' (units.merge_states)."""
        while len(self.parts) < len(self.job.units):
            try:
                self._handle(self.results.get(timeout=POLL_SECONDS))
            except queue.Empty:
                self._check_workers()
        if self.progress is not None:
            self.progress(*self._totals())
        return {account: self.merged[account] for account in self.job.accounts}

    def _merge_when_complete(self, account: str | None) -> None:
        indexes = [i for i, unit in enumerate(self.job.units) if unit.account == account]
        if account in self.merged or any(i not in self.parts for i in indexes):
            return
        parts = [(self.job.units[i], self.parts[i]) for i in indexes]
        self.merged[account] = merge_states(parts, self.job.accounts[account])
        if self.on_account is not None:
            self.on_account(account, self.merged[account])

    def _handle(self, message: tuple) -> None:
        kind, index = message[0], message[1]
        if kind == "start":
            self.current.setdefault(message[2], set()).add(index)
        elif kind == "progress":
            self.counts[index] = (message[2], message[3])
            if self.progress is not None:
                self.progress(*self._totals())
        elif kind == "done":
            state, calls, retries = message[2], message[3], message[4]
            self._count(index, calls, retries)
            self.parts[index] = state
            self._merge_when_complete(self.job.units[index].account)
        else:  # "error": the first failure stops every unit (fail closed)
            self._count(index, message[4], message[5])
            error_type = ObserveError if message[2] == "ObserveError" else ReconcilerError
            raise error_type(message[3])

    def _count(self, index: int, calls: dict[str, int], retries: dict[str, int]) -> None:
        self.clients[self.job.units[index].account].counter.add(calls, retries)

    def _totals(self) -> tuple[int, int]:
        return sum(d for d, _ in self.counts.values()), sum(t for _, t in self.counts.values())

    def _check_workers(self) -> None:
        dead = [w for w in self.workers if w.exitcode is not None]
        lost = [w for w in dead if self._unanswered(w.pid)]
        if not lost and (len(dead) < len(self.workers)):
            return
        self._drain()  # a worker that answered and ended: its answer may still be in the pipe
        if len(self.parts) == len(self.job.units):
            return
        cancellation.raise_if_cancelled()  # killed by the user's signal: that is the story
        for worker in lost:
            for index in sorted(self._unanswered(worker.pid)):
                raise ObserveError(
                    f"the worker process reading {self.job.units[index]} ended (exit code "
                    f"{worker.exitcode}) before it answered; nothing was read there"
                )
        if all(w.exitcode is not None for w in self.workers):
            missing = [str(u) for i, u in enumerate(self.job.units) if i not in self.parts]
            raise ObserveError(f"no worker process answered for {', '.join(missing)}")

    def _unanswered(self, pid: int | None) -> set[int]:
        """The units worker `pid` started and has not answered."""
        return self.current.get(pid or 0, set()) - set(self.parts)

    def _drain(self) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and len(self.parts) < len(self.job.units):
            try:
                self._handle(self.results.get(timeout=POLL_SECONDS))
            except queue.Empty:
                if not any(w.exitcode is None for w in self.workers):
                    return


# --- the worker's side ------------------------------------------------------------------------


UNITS_AT_ONCE = 2


def units_at_once(units: int, workers: int) -> int:
    """Units a worker reads at once: two when there are at least two a worker, else one.

    A worker's calls stay at most `--parallelism` under way whatever it reads: its units share
    one pool of that many threads, the older unit's reads first (state/ranked_pool.py); a
    second unit fills the threads the first one's last
    reads leave idle, and lists its first page while the first still reads, instead of after
    it (docs/architecture.md, "Processes"). With fewer units, a worker taking two would leave
    another with none."""
    return UNITS_AT_ONCE if units >= UNITS_AT_ONCE * workers else 1


def _worker(job: Job, tasks: Any, results: Any) -> None:
    """A worker process: read units (Task), `job.units_at_once` at a time, until told to stop
    (None) or a unit fails (its error is sent; the parent then stops every worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and terminates us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=watch_run, args=(job.parent,), daemon=True).start()
    adopt_environment(job.environ)
    gc.freeze()  # the fork server's imports: no collection walks them (observe.py says why)
    taken = itertools.count()
    free = threading.Semaphore(job.units_at_once)
    failed = threading.Event()
    with (
        RankedPool(max(1, job.parallelism)) as reads,
        ThreadPoolExecutor(job.units_at_once, thread_name_prefix="unit") as units,
    ):
        while free.acquire() and not failed.is_set():
            task = tasks.get()
            if task is None:
                break
            pool = reads.ranked(next(taken))  # the older unit's reads first
            reading = units.submit(_unit_task, job, task, pool, results, failed)
            reading.add_done_callback(lambda _: free.release())


def _unit_task(
    job: Job, task: Task, pool: RankedExecutor, results: Any, failed: threading.Event
) -> None:
    index, part = task
    results.put(("start", index, os.getpid()))
    clients: CloudClients | None = None
    try:
        clients = _unit_clients(job, index)
        state = _read_unit(job, index, part, clients, pool, results)
    except ReconcilerError as error:
        calls, retries = _counts(clients)
        results.put(("error", index, type(error).__name__, str(error), calls, retries))
        failed.set()
        return
    except Exception as error:  # a bug: still one line, as in one process
        results.put(("error", index, "", f"unexpected {type(error).__name__}: {error}", {}, {}))
        failed.set()
        return
    results.put(("done", index, state, *_counts(clients)))


def _counts(clients: CloudClients | None) -> tuple[dict[str, int], dict[str, int]]:
    if clients is None:
        return {}, {}
    return clients.counter.by_action(), clients.counter.retries()


_PROVIDERS: dict[str | None, Any] = {}
"""This worker's credentials provider of each account, resolved (an AssumeRole for a role) by
its first unit there and reused by the next: the provider refreshes its session itself."""
_PROVIDERS_LOCK = threading.Lock()
"""Two units of one account starting at once resolve its credentials once."""


def _unit_clients(job: Job, index: int) -> CloudClients:
    from reconciler.cloud.ratelimit import RateLimiter

    unit = job.units[index]
    limiter = RateLimiter(dict(job.limits))  # this unit's quotas: this process's alone
    settings = job.settings[unit.account]
    return UnitClients(
        settings,
        unit,
        _reads_account(job, unit),
        limiter=limiter,
        credential_provider=_provider(unit.account, settings),
    )


def _provider(account: str | None, settings: CloudSettings) -> Any:
    from reconciler.cloud.clients import resolve_credentials

    with _PROVIDERS_LOCK:
        if account not in _PROVIDERS:
            _PROVIDERS[account] = resolve_credentials(settings)
        return _PROVIDERS[account]


def _read_unit(
    job: Job, index: int, part: ReadScope, clients: CloudClients, pool: RankedExecutor, results: Any
) -> ObservedState:
    return job.read(
        part,
        clients,
        parallelism=job.parallelism,
        progress=lambda done, total: results.put(("progress", index, done, total)),
        now=job.now,
        pool=pool,
    )


# Shared with apply's workers (app/apply_processes.py): one way to end workers.
stop_workers = _stop
