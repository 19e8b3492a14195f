"""A worker's pool (state/ranked_pool.py): never more tasks at once than its threads, the
older unit's queued reads first, and a unit's shutdown drops only its own."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.state.ranked_pool import RankedPool


def _blocked(pool: RankedPool) -> threading.Event:
    """Occupy a one-thread pool until the returned event is set."""
    release, running = threading.Event(), threading.Event()

    def hold() -> None:
        running.set()
        release.wait(5)

    pool.ranked(99).submit(hold)
    assert running.wait(5)
    return release


def test_a_free_thread_takes_the_older_units_read_first() -> None:
    ran: list[int] = []
    with RankedPool(1) as pool:
        release = _blocked(pool)
        for rank in (1, 1, 0, 2, 0):  # queued in this order
            pool.ranked(rank).submit(ran.append, rank)
        release.set()
    assert ran == [0, 0, 1, 1, 2]


def test_tasks_under_way_never_exceed_the_threads() -> None:
    lock, now, most = threading.Lock(), [0], [0]

    def task() -> None:
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.002)
        with lock:
            now[0] -= 1

    with RankedPool(3) as pool:
        units = [pool.ranked(0), pool.ranked(1)]
        for n in range(40):
            units[n % 2].submit(task)
    assert most[0] == 3


def test_a_units_shutdown_drops_its_queued_reads_only_and_waits_for_its_running_ones() -> None:
    ran: list[str] = []
    with RankedPool(1) as pool:
        release = _blocked(pool)
        failed, other = pool.ranked(0), pool.ranked(1)
        failed.submit(ran.append, "failed unit")
        other.submit(ran.append, "other unit")
        failed.shutdown(wait=False, cancel_futures=True)
        release.set()
        failed.shutdown(wait=True)  # returns once its dropped read is accounted for
        with pytest.raises(RuntimeError, match="after shutdown"):
            failed.submit(ran.append, "too late")
    assert ran == ["other unit"]


def test_a_task_that_raises_keeps_its_thread_and_its_unit_is_told() -> None:
    ran: list[int] = []
    with RankedPool(1) as pool:
        unit = pool.ranked(0)
        unit.submit(lambda: 1 / 0)
        unit.submit(ran.append, 1)
        with pytest.raises(ZeroDivisionError):
            unit.shutdown(wait=True)
    assert ran == [1], "the thread went on with the next task"


def test_a_pool_without_threads_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one thread"):
        RankedPool(0)
