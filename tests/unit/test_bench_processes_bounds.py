"""The arithmetic of tests/bench/bench_processes.py's targets (the bench itself is not run by
pytest: `python -m tests.bench.bench_processes --sizes 100` is its smoke run)."""

from __future__ import annotations

import pytest

from tests.bench.bench_processes import call_bound, spread_ids, wall_bound


def test_the_call_bound_counts_a_page_and_two_fixed_reads_per_extra_region() -> None:
    assert call_bound([1000]) == 1000 + 10 + 10
    assert call_bound([2500, 2500, 2500, 2500]) == 10_000 + 4 * 25 + 10 + 2 * 3
    assert call_bound([0, 1]) == 1 + 2 + 10 + 2  # an empty region still lists one page


def test_the_wall_bound_is_latency_over_every_thread_or_cpu_over_every_core() -> None:
    assert wall_bound(1000, 0.02, 32, 0.001, 2) == 1000 * 0.02 / 32  # latency-bound
    assert wall_bound(10_000, 0.02, 64, 0.001, 2) == 10_000 * 0.001 / 2  # CPU-bound


def test_the_machine_bound_counts_the_tool_s_and_the_emulator_s_cpu() -> None:
    from tests.bench.bench_processes import machine_bound

    spent = {"calls": 10_000, "tool_cpu_per_call_s": 0.001, "emulator_cpu_per_request_s": 0.0006}
    assert machine_bound(spent, 0.02, 32, 2, 2) == pytest.approx(8.0)  # both CPUs over 2 cores
    assert machine_bound(spent, 0.02, 64, 1, 2) == 10_000 * 0.001 / 1  # one process: one core
    assert machine_bound(spent, 0.2, 16, 2, 2) == 10_000 * 0.2 / 16  # latency-bound


def test_instances_spread_evenly_over_the_regions() -> None:
    ids = spread_ids(10, 4)
    assert [len(v) for v in ids.values()] == [3, 3, 2, 2]
    assert len({i for v in ids.values() for i in v}) == 10


def test_two_accounts_split_the_instances_and_assume_a_role_each() -> None:
    from tests.bench.bench_processes import ACCOUNTS, seed_of, spec_of, spread_accounts

    worlds = spread_accounts(10_000, 4, 2)
    assert list(worlds) == list(ACCOUNTS)
    ids = [i for regions in worlds.values() for v in regions.values() for i in v]
    assert len(ids) == len(set(ids)) == 10_000
    assert [len(v) for regions in worlds.values() for v in regions.values()] == [1250] * 8
    seed, spec = seed_of(worlds), spec_of(worlds)
    assert list(seed["accounts"]) == [ACCOUNTS[1]] and seed["users"]
    assert {a["role_arn"] for a in spec["accounts"].values()} == {
        f"acs:ram::{a}:role/reconciler" for a in ACCOUNTS
    }
    assert {i["account"] for i in spec["instances"].values()} == {"alpha", "beta"}
