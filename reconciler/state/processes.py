"""Observe in worker processes, one account-region (state/units.py) at a time each.

One process tops out near the SDK's CPU cost per call (README, "Measured"); workers read
disjoint account-regions and return facts (an ObservedState part, never an SDK object), which
the parent merges (units.merge_states). docs/architecture.md, "Processes", says why each
quota's token bucket, and the quota learnt from throttling, stay in one process.

- Each worker is a fresh (spawned) process: it inherits no thread, lock, signal handler or
  cancellation flag of the parent, builds its own CloudClients from the picklable settings and
  resolves the credentials itself.
- Progress: each worker sends its (finished, submitted) counts; the parent shows their sum.
- Signals: workers ignore SIGINT (a terminal sends it to the whole group); the parent, once
  interrupted, terminates them (SIGTERM ends a worker at once: no call starts after it) and
  exits 130/143 as in one process. A worker whose parent is gone ends itself.
- Fail closed: the first failed unit stops the reading with its error (ObserveError); a worker
  that dies before it answers is an error naming its unit, never a silently missing region.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from reconciler import cancellation
from reconciler.cloud.clients import CloudClients, CloudSettings, Service
from reconciler.core.facts import ObservedState
from reconciler.errors import ObserveError, ReconcilerError
from reconciler.state.reads import ReadScope
from reconciler.state.units import (
    ReadUnit,
    account_unit,
    check_in_unit,
    merge_states,
    unit_scope,
)

Progress = Callable[[int, int], None]
POLL_SECONDS = 0.1
DRAIN_SECONDS = 1.0
"""How long a dead worker's last messages may take to arrive before its unit is an error."""


def process_count(requested: int | None, units: int) -> int:
    """`--processes` (None: one per unit, at most one per core), never more than units."""
    wanted = requested if requested is not None else (os.cpu_count() or 1)
    return max(1, min(wanted, units))


@dataclass(frozen=True)
class Job:
    """What a worker needs, all picklable: no client, no secret beyond the settings'."""

    scope: ReadScope
    units: tuple[ReadUnit, ...]
    account: ReadUnit
    settings: CloudSettings
    limits: dict[str, float]
    parallelism: int
    now: datetime
    parent: int
    read: Callable[..., ObservedState]
    """The in-process observe (state/observe.py), passed in: pickled by name, no import cycle."""


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
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    job = Job(
        scope=scope,
        units=tuple(units),
        account=account_unit(scope, units),
        settings=replace(clients.settings, processes=1),
        limits=dict(clients.limiter.limits),
        parallelism=parallelism,
        now=now,
        parent=os.getpid(),
        read=read,
    )
    tasks, results = context.Queue(), context.Queue()
    for index in range(len(units)):
        tasks.put(index)
    workers = [
        context.Process(target=_worker, args=(job, tasks, results), daemon=True)
        for _ in range(processes)
    ]
    try:
        for worker in workers:
            worker.start()
        for _ in workers:
            tasks.put(None)
        parts = _Collector(job, workers, results, clients, progress).run()
    finally:
        _stop(workers)
    return merge_states(parts, job.account)


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
        clients: CloudClients,
        progress: Progress | None,
    ) -> None:
        self.job, self.workers, self.results = job, workers, results
        self.clients, self.progress = clients, progress
        self.parts: dict[int, ObservedState] = {}
        self.current: dict[int, int] = {}
        """Worker pid -> the unit it is reading."""
        self.counts: dict[int, tuple[int, int]] = {}

    def run(self) -> list[tuple[ReadUnit, ObservedState]]:
        while len(self.parts) < len(self.job.units):
            try:
                self._handle(self.results.get(timeout=POLL_SECONDS))
            except queue.Empty:
                self._check_workers()
        if self.progress is not None:
            self.progress(*self._totals())
        return [(self.job.units[i], self.parts[i]) for i in sorted(self.parts)]

    def _handle(self, message: tuple) -> None:
        kind, index = message[0], message[1]
        if kind == "start":
            self.current[message[2]] = index
        elif kind == "progress":
            self.counts[index] = (message[2], message[3])
            if self.progress is not None:
                self.progress(*self._totals())
        elif kind == "done":
            state, calls, retries = message[2], message[3], message[4]
            self.clients.counter.add(calls, retries)
            self.parts[index] = state
        else:  # "error": the first failure stops every unit (fail closed)
            self.clients.counter.add(message[4], message[5])
            error_type = ObserveError if message[2] == "ObserveError" else ReconcilerError
            raise error_type(message[3])

    def _totals(self) -> tuple[int, int]:
        return sum(d for d, _ in self.counts.values()), sum(t for _, t in self.counts.values())

    def _check_workers(self) -> None:
        dead = [w for w in self.workers if w.exitcode is not None]
        lost = [w for w in dead if self.current.get(w.pid) not in (None, *self.parts)]
        if not lost and (len(dead) < len(self.workers)):
            return
        self._drain()  # a worker that answered and ended: its answer may still be in the pipe
        if len(self.parts) == len(self.job.units):
            return
        cancellation.raise_if_cancelled()  # killed by the user's signal: that is the story
        for worker in lost:
            index = self.current[worker.pid]
            if index not in self.parts:
                raise ObserveError(
                    f"the worker process reading {self.job.units[index]} ended (exit code "
                    f"{worker.exitcode}) before it answered; nothing was read there"
                )
        if all(w.exitcode is not None for w in self.workers):
            missing = [str(u) for i, u in enumerate(self.job.units) if i not in self.parts]
            raise ObserveError(f"no worker process answered for {', '.join(missing)}")

    def _drain(self) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and len(self.parts) < len(self.job.units):
            try:
                self._handle(self.results.get(timeout=POLL_SECONDS))
            except queue.Empty:
                if not any(w.exitcode is None for w in self.workers):
                    return


# --- the worker's side ------------------------------------------------------------------------


def _worker(job: Job, tasks: Any, results: Any) -> None:
    """A worker process: read units until told to stop (None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and terminates us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_orphan_watch, args=(job.parent,), daemon=True).start()
    while (index := tasks.get()) is not None:
        results.put(("start", index, os.getpid()))
        clients: CloudClients | None = None
        try:
            clients = _unit_clients(job, index)
            state = _read_unit(job, index, clients, results)
        except ReconcilerError as error:
            calls, retries = _counts(clients)
            results.put(("error", index, type(error).__name__, str(error), calls, retries))
            return
        except Exception as error:  # a bug: still one line, as in one process
            results.put(("error", index, "", f"unexpected {type(error).__name__}: {error}", {}, {}))
            return
        results.put(("done", index, state, *_counts(clients)))


def _counts(clients: CloudClients | None) -> tuple[dict[str, int], dict[str, int]]:
    if clients is None:
        return {}, {}
    return clients.counter.by_action(), clients.counter.retries()


def _unit_clients(job: Job, index: int) -> CloudClients:
    from reconciler.cloud.ratelimit import RateLimiter

    unit = job.units[index]
    limiter = RateLimiter(dict(job.limits))  # this unit's quotas: this process's alone
    return UnitClients(job.settings, unit, unit == job.account, limiter=limiter)


def _read_unit(job: Job, index: int, clients: CloudClients, results: Any) -> ObservedState:
    unit = job.units[index]
    return job.read(
        unit_scope(job.scope, unit, reads_account=unit == job.account),
        clients,
        parallelism=job.parallelism,
        progress=lambda done, total: results.put(("progress", index, done, total)),
        now=job.now,
    )


def _orphan_watch(parent: int) -> None:
    """End this worker when its parent is gone (killed, or left without stopping us)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


# Shared with apply's workers (app/apply_processes.py): one way to end workers and orphans.
stop_workers = _stop
orphan_watch = _orphan_watch
