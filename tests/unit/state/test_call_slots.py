"""A worker's call slots (state/call_slots.py): never more than its parallelism under way, and
a free slot goes to the older unit's call first."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.state.call_slots import CallSlots


def _queue(slots: CallSlots, rank: int, served: list[int]) -> threading.Thread:
    def call() -> None:
        with slots.held(rank):
            served.append(rank)

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def _wait_until_waiting(slots: CallSlots, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(slots._waiting) < count:
        assert time.monotonic() < deadline, "the calls never queued"
        time.sleep(0.001)


def test_a_free_slot_goes_to_the_older_units_call_first() -> None:
    slots, served = CallSlots(1), []
    slots.acquire(0)  # the only slot is taken: every call below waits
    threads = []
    for rank in (1, 1, 0, 2, 0):  # arrival order
        threads.append(_queue(slots, rank, served))
        _wait_until_waiting(slots, len(threads))
    slots.release()
    for thread in threads:
        thread.join(5)
    assert served == [0, 0, 1, 1, 2]


def test_calls_under_way_never_exceed_the_slots() -> None:
    slots, lock = CallSlots(3), threading.Lock()
    now, most = [0], [0]

    def call(rank: int) -> None:
        with slots.held(rank):
            with lock:
                now[0] += 1
                most[0] = max(most[0], now[0])
            time.sleep(0.002)
            with lock:
                now[0] -= 1

    threads = [threading.Thread(target=call, args=(n % 2,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most[0] == 3
    assert slots._free == 3 and not slots._waiting, "every slot came back"


def test_a_slot_comes_back_when_the_call_fails() -> None:
    slots = CallSlots(1)
    with pytest.raises(RuntimeError), slots.held(0):
        raise RuntimeError("the call failed")
    slots.acquire(5)  # would wait forever had the failed call kept its slot
    slots.release()


def test_no_slot_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        CallSlots(0)
