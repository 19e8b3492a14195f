"""The data apply takes and gives back (re-exported by apply/executor.py, the public face)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from reconciler.apply.journal import Journal

EventKind = Literal[
    "started", "write", "waiting", "progress", "done", "scheduled", "failed", "skipped"
]
OutcomeStatus = Literal["done", "scheduled", "failed", "not_started"]


@dataclass(frozen=True)
class ApplyOptions:
    allow_restart: bool = False
    """Let changes that restart an instance now (restart=True, scheduled=False) run."""
    allow_irreversible: bool = False
    """Let changes that cannot be undone (irreversible=True: enabling TDE) run."""
    parallelism: int = 4
    """Independent instance changes at once."""
    timeout_s: float = 1800.0
    """Per wait for an instance to be Running again (after its change, or while it is busy)."""
    poll_interval_s: float = 1.0
    """At most one status read per instance per interval while waiting."""
    start_grace_s: float = 30.0
    """How long an Immediate change may show no sign of starting (the instance Running on its
    old value, no task) before apply reports that the cloud answered the write but did not act
    on it: a replayed ClientToken (docs/exit-codes.md)."""
    journal: Journal | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    process_cap: int | None = None
    """At most this many worker processes for this apply (several accounts share
    `--processes`, app/apply_accounts.py); None: `--processes` alone decides."""
    stop: StopFlag | None = None
    """Shared with the applies running beside this one (several accounts at once,
    app/apply_accounts.py): a failed change in any stops new writes in all. None: this run's
    own."""


@dataclass(frozen=True)
class ApplyEvent:
    """Progress for the CLI's display; the executor never prints. Delivered from worker
    threads, one at a time (the callback never runs twice at once)."""

    kind: EventKind
    address: str
    message: str
    progress: float | None = None
    """0-100, from DescribeHistoryTasks' Progress where present."""
    remain_s: int | None = None
    """Seconds left, from DescribeHistoryTasks' RemainTime where present."""


@dataclass(frozen=True)
class ChangeOutcome:
    address: str
    status: OutcomeStatus
    detail: str = ""
    """done: what is now true; scheduled: when it runs; failed: the cloud's code, message and
    request id (or what moved since the plan); not_started: why."""
    request_ids: tuple[str, ...] = ()
    """Request ids of the writes made for this change, in order."""


@dataclass(frozen=True)
class ApplyResult:
    outcomes: list[ChangeOutcome] = field(default_factory=list)
    """One per change of the plan, in plan order."""

    @property
    def ok(self) -> bool:
        """Every change done or scheduled (an empty plan is ok)."""
        return all(o.status in ("done", "scheduled") for o in self.outcomes)

    def with_status(self, status: OutcomeStatus) -> list[ChangeOutcome]:
        return [o for o in self.outcomes if o.status == status]

    def outcome(self, address: str) -> ChangeOutcome | None:
        return next((o for o in self.outcomes if o.address == address), None)


EventSink = Callable[[ApplyEvent], None]

EARLIER_FAILED = "not started: an earlier change failed"
"""The outcome detail of a change that a failure elsewhere in the run kept from starting."""


class StopFlag(Protocol):
    """What stops new writes once a change failed: a threading.Event in one process, a
    multiprocessing Event shared by the workers of a fanned-out apply."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...


@dataclass(frozen=True)
class Carried:
    """What the changes applied before a part of a plan hand to it (executor.apply_part)."""

    ram_region: str
    """The region RAM's client is named with (the whole plan's: executor.ram_region)."""
    done: frozenset[str] = frozenset()
    """Addresses done before: the part's dependencies on them are met."""
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    """What their writes produced (a new key's id), for the part's references."""
    ram_changed: bool = False
    """They changed RAM: a CMK change refused as not authorised is retried a while."""
