"""A worker's threads, shared by the units it reads at once, the older unit's reads first.

A worker reads two units at once (state/processes.py, `units_at_once`). Shared fairly, both
would progress at the same pace and end together, so their two ends (the last reads, on ever
fewer threads) would still leave the threads idle at once. Here a free thread takes the queued
read of the unit the worker took first: that unit reads as if alone, and the younger one uses
only what it leaves, chiefly its end, so the worker's threads stay busy through the change of
units (docs/architecture.md, "Processes").

One pool of `--parallelism` threads bounds the calls under way by itself. (A pool per unit
with a shared semaphore did too, but every call then waited on the semaphore and was handed
its slot by another thread: a thread switch per call, about a tenth of a worker's CPU.)
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from typing import Any

Queued = tuple[int, int, Callable[..., Any], tuple[Any, ...], "RankedExecutor"]
"""(rank, arrival, task, its arguments, the unit's executor): the heap orders the first two."""


class RankedPool:
    """`threads` threads running the tasks of several RankedExecutors: a free thread takes the
    queued task of the lowest rank, then the earliest queued. A task that raises never stops a
    thread: its executor keeps the error and its `shutdown` raises it (observe's tasks catch
    everything themselves, so this is for a bug)."""

    def __init__(self, threads: int, name: str = "read") -> None:
        if threads < 1:
            raise ValueError(f"a pool needs at least one thread, not {threads}")
        self._ready = threading.Condition(threading.Lock())
        self._queue: list[Queued] = []
        self._arrivals = itertools.count()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def ranked(self, rank: int) -> RankedExecutor:
        """An executor for one unit: its tasks run before those of any higher rank."""
        return RankedExecutor(self, rank)

    def close(self) -> None:
        """Run what is queued, then end the threads."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> RankedPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _put(self, rank: int, fn: Callable[..., Any], args: tuple, owner: RankedExecutor) -> None:
        with self._ready:
            if self._closed:
                raise RuntimeError("the pool is closed")
            heapq.heappush(self._queue, (rank, next(self._arrivals), fn, args, owner))
            self._ready.notify()

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return  # closed, and nothing is left
                _rank, _arrival, fn, args, owner = heapq.heappop(self._queue)
            owner._run(fn, args)


class RankedExecutor:
    """One unit's view of the pool, with ThreadPoolExecutor's `submit` and `shutdown`."""

    def __init__(self, pool: RankedPool, rank: int) -> None:
        self._pool, self._rank = pool, rank
        self._state = threading.Condition(threading.Lock())
        self._unfinished = 0
        self._cancelled = self._dropping = False
        self._error: BaseException | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._state:
            if self._cancelled:
                raise RuntimeError("cannot submit after shutdown")
            self._unfinished += 1
        self._pool._put(self._rank, fn, args, self)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more tasks; with `cancel_futures` the queued ones are dropped, and with
        `wait` return when the running ones have ended (as ThreadPoolExecutor.shutdown), and
        raise what a task raised."""
        with self._state:
            self._cancelled, self._dropping = True, self._dropping or cancel_futures
            while wait and self._unfinished:
                self._state.wait()
            if wait and self._error is not None:
                raise self._error

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        failed = None
        try:
            if not self._dropping:
                fn(*args)
        except BaseException as error:  # kept for shutdown (RankedPool's docstring)
            failed = error
        finally:
            with self._state:
                self._error = self._error or failed
                self._unfinished -= 1
                if not self._unfinished:
                    self._state.notify_all()
