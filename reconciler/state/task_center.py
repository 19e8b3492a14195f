"""The task center of a region (DescribeHistoryTasks, unfinished tasks, every page), read once
per region however many kinds ask for it: `rds_encryption` for the regions of its instances (a
change running or scheduled for a window is not planned again), `kms_key` for the regions of
the keys it retires (an instance switching to the key keeps it in use, docs/plan-format.md).
A region is in `task_regions` only once every page is in; the planner treats any other region's
task center as unread, never as empty."""

from __future__ import annotations

import math

from reconciler.cloud import rds
from reconciler.state.reads import Reader


def read_tasks(reader: Reader, region: str) -> None:
    """Every unfinished task of the region, unless it is being read already."""
    if region in reader.facts.task_pages_left:
        return
    reader.facts.task_pages_left[region] = 1
    _task_page(reader, region, 1)


def _task_page(reader: Reader, region: str, number: int) -> None:
    reader.submit(
        lambda page: _on_task_page(reader, region, number, page),
        rds.pending_tasks,
        reader.clients,
        region,
        number,
        reader.now,
    )


def _on_task_page(reader: Reader, region: str, number: int, page: rds.TaskPage) -> None:
    facts = reader.facts
    if number == 1:
        pages = max(1, math.ceil(page.total / rds.TASK_PAGE_SIZE))
        facts.task_pages_left[region] += pages - 1
        for later in range(2, pages + 1):
            _task_page(reader, region, later)
    for task in page.tasks:
        facts.tasks[task.task_id] = task
    facts.task_pages_left[region] -= 1
    if facts.task_pages_left[region] == 0:
        facts.task_regions.add(region)
