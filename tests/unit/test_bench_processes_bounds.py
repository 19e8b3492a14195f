"""The arithmetic of tests/bench/bench_processes.py's targets (the bench itself is not run by
pytest: `python -m tests.bench.bench_processes --sizes 100` is its smoke run)."""

from __future__ import annotations

from tests.bench.bench_processes import call_bound, spread_ids, wall_bound


def test_the_call_bound_counts_a_page_and_two_fixed_reads_per_extra_region() -> None:
    assert call_bound([1000]) == 1000 + 10 + 10
    assert call_bound([2500, 2500, 2500, 2500]) == 10_000 + 4 * 25 + 10 + 2 * 3
    assert call_bound([0, 1]) == 1 + 2 + 10 + 2  # an empty region still lists one page


def test_the_wall_bound_is_latency_over_every_thread_or_cpu_over_every_core() -> None:
    assert wall_bound(1000, 0.02, 32, 0.001, 2) == 1000 * 0.02 / 32  # latency-bound
    assert wall_bound(10_000, 0.02, 64, 0.001, 2) == 10_000 * 0.001 / 2  # CPU-bound


def test_instances_spread_evenly_over_the_regions() -> None:
    ids = spread_ids(10, 4)
    assert [len(v) for v in ids.values()] == [3, 3, 2, 2]
    assert len({i for v in ids.values() for i in v}) == 10
