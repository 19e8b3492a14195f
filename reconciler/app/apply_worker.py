"""The worker side of a fanned-out apply (app/apply_processes.py): apply one region's part of
the plan at a time with the same change code as one process (guards re-checked right before
each write), sending events, journal entries and the result to the parent.

- The journal is the parent's alone: a worker sends each entry and waits for the parent's
  answer before going on, so a `before` entry is on disk before its call is sent, as in one
  process (apply/journal.py). After the parent's signal it refuses new `before` entries: no
  write starts, not even its entry.
- Signals: SIGINT is ignored (a terminal sends it to the whole group; the parent decides);
  SIGTERM, which the parent sends once interrupted, requests cancellation as the signal does
  in one process: no new call starts, writes in flight finish, the rest is not started.
- A worker whose run is gone ends itself (worker_start.watch_run); it adopts the run's
  environment first (worker_start.py says why).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

from reconciler import cancellation
from reconciler.apply.journal import Journal
from reconciler.apply.results import ApplyOptions, Carried, StopFlag
from reconciler.cloud.clients import CloudSettings
from reconciler.errors import ApplyError, Interrupted
from reconciler.plan.model import Plan

ACK_POLL_S = 0.2
AFTER_WAITS = 5
"""Polls an `after` entry waits for the parent's answer once interrupted (the parent writes
it unless it is leaving; a missing `after` leaves the write in doubt, never done)."""


@dataclass(frozen=True)
class ApplyJob:
    """What a worker needs, all picklable: no client, no secret beyond the settings' and the
    environment's."""

    carried: Carried
    options: ApplyOptions
    """Without a journal (the worker's sends its entries to the parent)."""
    settings: CloudSettings
    limits: dict[str, float]
    stop: StopFlag
    parent: int
    environ: dict[str, str] = field(repr=False)
    """The run's environment (worker_start.environment), which a spawned worker would have
    inherited: a worker adopts it first. Never in a repr: it may hold credentials."""


class RemoteJournal(Journal):
    """A journal whose entries the parent writes: each one sent, then its answer awaited."""

    def __init__(self, slot: int, results: Any, acks: Any) -> None:
        super().__init__("(the parent's journal)")
        self.slot, self.results, self.acks = slot, results, acks

    def check(self) -> None:  # the parent checked its journal before any write
        return None

    def append(self, entry: dict[str, Any]) -> None:
        self.results.put(("journal", self.slot, entry))
        waits_after_signal = 0
        while True:
            try:
                answer, detail = self.acks.get(timeout=ACK_POLL_S)
                break
            except queue.Empty:
                if not cancellation.requested():
                    continue
                if entry.get("event") == "before":
                    raise cancellation.interrupted() or Interrupted(signal.SIGTERM) from None
                waits_after_signal += 1
                if waits_after_signal >= AFTER_WAITS:
                    return  # the parent is leaving: a `before` without `after` is in doubt
        if answer == "refused":
            raise cancellation.interrupted() or Interrupted(signal.SIGTERM)
        if answer == "error":
            raise ApplyError(detail)


def worker(job: ApplyJob, slot: int, tasks: Any, results: Any, acks: Any) -> None:
    """A worker process: apply units until told to stop (None)."""
    from reconciler.worker_start import adopt_environment, watch_run

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _cancel)
    threading.Thread(target=watch_run, args=(job.parent,), daemon=True).start()
    adopt_environment(job.environ)
    while (task := tasks.get()) is not None:
        index, region, part = task  # only the parts it applies reach a worker
        results.put(("start", index, slot))
        results.put(_apply_unit(job, (index, region, part), slot, results, acks))


def _cancel(signum: int, _frame: Any) -> None:
    cancellation.request(signum)


def _apply_unit(
    job: ApplyJob, task: tuple[int, str, Plan], slot: int, results: Any, acks: Any
) -> tuple:
    from reconciler.apply.executor import apply_part
    from reconciler.cloud.ratelimit import RateLimiter
    from reconciler.state.processes import UnitClients
    from reconciler.state.units import ReadUnit

    index, region, part = task
    # Every call to its own region (its quota is this process's), RAM for the guards' reads
    # of the RDS role (docs/architecture.md, "Processes"); any other call is a bug, refused.
    limiter = RateLimiter(dict(job.limits))
    clients = UnitClients(job.settings, ReadUnit(None, region), True, limiter=limiter)
    options = dataclasses.replace(job.options, journal=RemoteJournal(slot, results, acks))

    def emit(event: Any) -> None:
        results.put(("event", index, event))

    try:
        result, _ = apply_part(part, clients, options, emit, job.carried, job.stop)
    except Interrupted as error:
        result = error.apply_result
    except Exception as error:  # a bug: the parent reports the unit's outcomes unknown
        job.stop.set()
        return ("crash", index, f"{type(error).__name__}: {error}")
    counts = (clients.counter.by_action(), clients.counter.retries())
    return ("answer", index, list(result.outcomes) if result else [], *counts, os.getpid())
