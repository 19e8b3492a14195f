"""WriteRule: what apply needs to know of one write (`Op`) of a kind, declared by the kind in
kinds/<kind>/writes.py (`ResourceKind.writes()`); apply/calls.py is the union of the kinds'
tables and apply/change.py asks the rule instead of naming ops.

Imports only cloud, core, errors and plan.model (apply imports it; see
tests/unit/apply/test_purity.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from reconciler.cloud.clients import CloudClients
from reconciler.cloud.writes import Written
from reconciler.errors import CloudCallError, PermanentError
from reconciler.plan.actions import RefusalCode
from reconciler.plan.model import Change

Params = dict[str, Any]
WriteFn = Callable[[CloudClients, str, Params], Written]
"""Sends the write: (clients, region, resolved params) -> the answer."""


@dataclass(frozen=True)
class ReadBack:
    """What reading the target after a lost answer showed."""

    took_effect: bool
    detail: str
    """What the read showed, e.g. `read back: it took effect`."""
    note: str = ""
    """For the journal when it took effect (after `the answer was lost; `)."""
    outputs: Mapping[str, str] = field(default_factory=dict)
    """What the write would have answered (a found key's `key_id` and `arn`)."""


class ReadBackFailed(Exception):
    """Reading back whether a write whose answer was lost took effect failed; `detail`
    completes the sentence that starts with the lost answer's error."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


ReadBackFn = Callable[[CloudClients, str, Params, Change], ReadBack]
"""(clients, region, resolved params, change) -> whether the write took effect. Raises
ReadBackFailed when the read fails (never guesses)."""

TOOK_EFFECT = ReadBack(True, "read back: it took effect", "read back: it took effect")
DID_NOT = ReadBack(False, "read back: it did not take effect")


def read_back_by(check: Callable[[CloudClients, str, Params], bool]) -> ReadBackFn:
    """A read-back from a yes/no check of the target (a failed read is ReadBackFailed)."""

    def read_back(clients: CloudClients, region: str, params: Params, change: Change) -> ReadBack:
        try:
            return TOOK_EFFECT if check(clients, region, params) else DID_NOT
        except CloudCallError as error:
            raise ReadBackFailed(
                f"; reading back whether it took effect failed too: {error}"
            ) from error

    return read_back


@dataclass(frozen=True)
class Wait:
    """After the write: wait until `resource_id` is Running with `target` (or, `scheduled` for
    a maintenance window, report when it starts); `done` is the outcome's line."""

    resource_id: str
    target: str
    scheduled: bool
    done: str
    reached: Callable[[CloudClients, str], bool] | None = None
    """Whether the resource shows the target now, given (clients, region); None: its disk
    encryption is `target` (ModifyDBInstanceConfig). A failed read raises."""


@dataclass(frozen=True)
class WriteRefusal:
    """A guard that refuses a write now: its code (the plan's refusal codes) and why."""

    code: RefusalCode
    message: str

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


T = TypeVar("T")


class GuardReads(Protocol):
    """What a write's guard gets from apply: the clients, and a per-run memo for facts several
    guards share (read at most once per run, e.g. the RDS role)."""

    clients: CloudClients
    ram_region: str

    def once(self, name: str, read: Callable[[], T]) -> T: ...


GuardFn = Callable[[GuardReads, str, Params], "WriteRefusal | None"]
"""(reads, region, resolved params) -> the refusal of the write's guard now, or None. Raises
CloudCallError when a fact cannot be read (the change then fails: never a pass)."""


@dataclass(frozen=True)
class WriteRule:
    """One write of a kind."""

    send: WriteFn
    idempotent: bool
    """False: no ClientToken, fails or acts twice when repeated; after a lost answer it is
    never sent again, `read_back` tells whether it took effect."""
    produces: tuple[str, ...] = ()
    """Attributes its answer provides for references (CreateKey: `key_id`, `arn`)."""
    read_back: ReadBackFn | None = None
    busy_resource: Callable[[Params], str] | None = None
    """The resource whose busy refusal is waited out (until Running, then sent again with
    the same ClientToken); None: a busy refusal is the shared retry policy's alone."""
    ram_not_ready: Callable[[PermanentError, Params], bool] | None = None
    """Whether a refusal may be RAM changes of this run not yet reaching the service (then it
    is retried for a while); None: never."""
    after: Callable[[Params], Wait] | None = None
    """What to wait for after the write; None: nothing."""
    guard: GuardFn | None = None
    """The plan's guards of this write, checked again right before it (docs/plan-format.md,
    "Every guard again at its write"); None: the compare-and-set of the target is all."""

    def __post_init__(self) -> None:
        if not self.idempotent and self.read_back is None:
            raise ValueError("a write that is not idempotent needs a read-back for a lost answer")
        if not self.idempotent and (self.busy_resource or self.ram_not_ready):
            raise ValueError("only an idempotent write is sent again after a refusal")
