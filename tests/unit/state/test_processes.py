"""What state/processes.py sends its spawned workers (docs/architecture.md, "Processes")."""

from __future__ import annotations

import dataclasses
import os
import pickle
from datetime import UTC, datetime

from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.spec.models import Spec
from reconciler.state.observe import observe
from reconciler.state.processes import SMALL_FLEET, Job, Reads, make_job, unit_tasks, worker_count
from reconciler.state.reads import ReadScope
from reconciler.state.units import ReadUnit

REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen")
NOW = datetime(2026, 3, 4, tzinfo=UTC)
PIPE_BUFFER = 64 * 1024
"""Linux's pipe buffer: a spawned worker's start arguments beyond it make `start()` wait until
the worker has imported everything and read them, so the workers started one by one."""


def fleet(count: int) -> ReadScope:
    instances = {
        f"pgm-bench{n:06d}": {"region": REGIONS[n % 4], "encryption": {"key": "service"}}
        for n in range(count)
    }
    return ReadScope.of(
        Spec.model_validate(
            {"version": 1, "defaults": {"region": REGIONS[0]}, "instances": instances}
        )
    )


def reads_of(*scopes: ReadScope, accounts: tuple[str | None, ...] = (None,)) -> Reads:
    settings = CloudSettings(endpoint="127.0.0.1:9", credentials=StaticCredentials("a", "b"))
    return {a: (scope, CloudClients(settings)) for a, scope in zip(accounts, scopes, strict=True)}


def job_of(scope: ReadScope) -> Job:
    return make_job(reads_of(scope), parallelism=16, now=NOW, read=observe)


def test_a_workers_start_arguments_do_not_grow_with_the_fleet() -> None:
    """The spec goes to the workers unit by unit on the task queue, not in the start
    arguments (they were 320 KB at 3,000 instances: the second worker started a second late)."""
    small, large = (len(pickle.dumps(job_of(fleet(n)))) for n in (4, 3000))
    assert large == small
    assert large < PIPE_BUFFER


def test_each_task_carries_only_its_units_instances() -> None:
    scope = fleet(3000)
    tasks = unit_tasks(reads_of(scope), job_of(scope))
    assert [index for index, _ in tasks] == [0, 1, 2, 3]
    counts = [len(part.spec.instances) for _, part in tasks]
    assert counts == [750] * 4
    regions = {i.region for _, part in tasks for i in part.spec.instances.values()}
    assert regions == set(REGIONS)
    assert [part.account_reads for _, part in tasks].count(True) == 1


def test_two_accounts_are_one_job_of_every_account_region() -> None:
    """One pool reads both accounts: eight units, each account with its own account unit (RAM
    and the KMS status read once per account) and its own settings."""
    reads = reads_of(fleet(8), fleet(4), accounts=("alpha", "beta"))
    job = make_job(reads, parallelism=16, now=NOW, read=observe)
    assert len(job.units) == 8
    assert {u.account for u in job.units} == {"alpha", "beta"}
    assert job.accounts == {a: ReadUnit(a, REGIONS[0]) for a in ("alpha", "beta")}
    tasks = unit_tasks(reads, job)
    assert [part.account_reads for _, part in tasks].count(True) == 2
    assert sum(len(part.spec.instances) for _, part in tasks) == 12


def test_auto_reads_a_small_fleet_in_this_process() -> None:
    """Starting workers costs about a second (spawn and the SDK's imports): auto mode
    (`--processes 0`) reads fewer than SMALL_FLEET instances here; `--processes N` is obeyed;
    a reading of every instance (drift, import) has no count yet and uses workers."""
    small, large = fleet(SMALL_FLEET - 1), fleet(SMALL_FLEET)
    assert worker_count(None, [small], 4) == 1
    assert worker_count(None, [small, small], 8) > 1 or (os.cpu_count() or 1) == 1
    assert worker_count(None, [large], 4) == min(4, os.cpu_count() or 1)
    assert worker_count(2, [fleet(4)], 4) == 2
    assert worker_count(1, [large], 4) == 1
    every = dataclasses.replace(fleet(4), all_instances=True)
    assert worker_count(None, [every], 4) == min(4, os.cpu_count() or 1)


def test_a_worker_reads_two_units_at_once_only_when_every_worker_has_two() -> None:
    """Two at once fill a unit's idle end with the next one's start; with fewer units a worker
    taking two would leave another worker with none."""
    from reconciler.state.processes import units_at_once

    assert units_at_once(8, 2) == 2
    assert units_at_once(4, 2) == 2
    assert units_at_once(3, 2) == 1
    assert units_at_once(3, 3) == 1
    assert units_at_once(1, 1) == 1


def test_two_units_of_a_worker_share_its_parallelism() -> None:
    """Units read at once in one worker never have more than `--parallelism` calls under way
    together: the limit is the worker's, not each unit's (one pool: state/ranked_pool.py)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from reconciler.state.processes import _unit_clients
    from reconciler.state.ranked_pool import RankedPool

    scope = fleet(8)
    job = dataclasses.replace(job_of(scope), parallelism=3)
    lock, now_under_way, most = threading.Lock(), [0], [0]

    def invoke(_client: object) -> None:
        with lock:
            now_under_way[0] += 1
            most[0] = max(most[0], now_under_way[0])
        time.sleep(0.02)
        with lock:
            now_under_way[0] -= 1

    def read_unit(reads: RankedPool, index: int) -> None:
        clients, unit = _unit_clients(job, index), reads.ranked(index)
        region = job.units[index].region
        for _ in range(12):
            unit.submit(clients.call, "rds", region, "DescribeDBInstances", invoke)
        unit.shutdown(wait=True)

    with RankedPool(job.parallelism) as reads, ThreadPoolExecutor(2) as units:
        list(units.map(lambda index: read_unit(reads, index), [0, 1]))
    assert most[0] == job.parallelism


def test_an_account_is_handed_over_as_soon_as_its_last_unit_answers() -> None:
    """Its plan is made while the other account's units are still read: only the last
    account's plan is left for after the reading (app/accounts.py)."""
    import queue

    from reconciler.core.facts import ObservedState
    from reconciler.state.processes import _Collector

    scope = fleet(8)
    reads = reads_of(scope, scope, accounts=("alpha", "beta"))
    job = make_job(reads, parallelism=16, now=NOW, read=observe)
    answers: queue.Queue[tuple] = queue.Queue()
    order = sorted(range(len(job.units)), key=lambda i: job.units[i].account or "")
    for index in order:
        answers.put(("done", index, ObservedState(), {}, {}))
    handed: list[tuple[str | None, int]] = []

    def on_account(account: str | None, _state: ObservedState) -> None:
        handed.append((account, answers.qsize()))

    clients = {account: c for account, (_, c) in reads.items()}
    found = _Collector(job, [], answers, clients, None, on_account).run()
    assert set(found) == {"alpha", "beta"}
    assert handed == [("alpha", 4), ("beta", 0)], "alpha was handed over before beta's reads"
