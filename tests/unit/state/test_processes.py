"""What state/processes.py sends its spawned workers (docs/architecture.md, "Processes")."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.spec.models import Spec
from reconciler.state.observe import observe
from reconciler.state.processes import make_job, unit_tasks
from reconciler.state.reads import ReadScope
from reconciler.state.units import read_units

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


def job_of(scope: ReadScope):
    settings = CloudSettings(endpoint="127.0.0.1:9", credentials=StaticCredentials("a", "b"))
    return make_job(
        scope, CloudClients(settings), read_units(scope), parallelism=16, now=NOW, read=observe
    )


def test_a_workers_start_arguments_do_not_grow_with_the_fleet() -> None:
    """The spec goes to the workers unit by unit on the task queue, not in the start
    arguments (they were 320 KB at 3,000 instances: the second worker started a second late)."""
    small, large = (len(pickle.dumps(job_of(fleet(n)))) for n in (4, 3000))
    assert large == small
    assert large < PIPE_BUFFER


def test_each_task_carries_only_its_units_instances() -> None:
    scope = fleet(3000)
    tasks = unit_tasks(scope, job_of(scope))
    assert [index for index, _ in tasks] == [0, 1, 2, 3]
    counts = [len(part.spec.instances) for _, part in tasks]
    assert counts == [750] * 4
    regions = {i.region for _, part in tasks for i in part.spec.instances.values()}
    assert regions == set(REGIONS)
    assert [part.account_reads for _, part in tasks].count(True) == 1
