"""Carrying out ONE change: compare-and-set, its writes in order (journalled), then waiting for
an Immediate encryption change or reporting a scheduled one.

Special cases on the write road (everything else is clients.call's shared retry policy), each
declared by the op's write rule (kinds/<kind>/writes.py, through apply/calls.py):
- a busy resource (`busy_resource`, ModifyDBInstanceConfig): once the shared retries give up,
  wait (waiter) until it is Running, then send again (same ClientToken), within `timeout_s`;
- a refusal that may be RAM not yet propagated (`ram_not_ready`: a CMK ModifyDBInstanceConfig
  refused as not authorised) right after this run created or changed RAM: retried for up to
  RAM_PROPAGATION_S (RAM changes take time to reach RDS);
- a lost answer of a write that is not idempotent: never sent again; the rule's `read_back`
  reads the target to learn whether it took effect (CreateKey: the alias-less key carrying
  its tags, as the planner adopts it);
- after the writes (`after`): wait until the instance is Running with the target, or report
  when a change for the maintenance window starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from reconciler.apply import calls, compare
from reconciler.apply.guards import WriteGuards
from reconciler.apply.journal import Journal
from reconciler.apply.results import (
    EARLIER_FAILED,
    ApplyEvent,
    ApplyOptions,
    ChangeOutcome,
    StopFlag,
)
from reconciler.apply.waiter import Waiter
from reconciler.cancellation import raise_if_cancelled
from reconciler.cloud.clients import CloudClients
from reconciler.cloud.retry import Family, family_of
from reconciler.cloud.writes import Written
from reconciler.errors import (
    ApplyError,
    CloudCallError,
    Interrupted,
    NetworkError,
    PermanentError,
    TransientError,
)
from reconciler.kinds import find_kind, kind_of
from reconciler.kinds.write_rule import ReadBackFailed, Wait, WriteRule
from reconciler.plan.model import Change, Operation

RAM_PROPAGATION_S = 120.0
"""How long a CMK change refused as not authorised is retried after this run changed RAM."""
RAM_RETRY_DELAYS = (2.0, 4.0, 8.0, 15.0)
"""Seconds between those retries (the last repeats)."""


class WriteFailed(Exception):
    """A write of a change failed; `detail` is the line for its outcome."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class RunState:
    """What the changes of one run share (every field is safe to use from worker threads)."""

    clients: CloudClients
    options: ApplyOptions
    emit: Callable[[ApplyEvent], None]
    ram_region: str
    journal: Journal | None = None
    stop: StopFlag = field(default_factory=threading.Event)
    """Set when a change failed: no change makes its first write after it."""
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    ram_changed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.service_keys = compare.ServiceKeys(self.clients)
        self.guards = WriteGuards(self.clients, self.ram_region)
        self.waiter = Waiter(self.clients, self.options, self.emit, self.service_keys)


def run_change(change: Change, run: RunState) -> ChangeOutcome:
    """Carry one change out; never raises except Interrupted."""
    address = change.address
    run.emit(ApplyEvent("started", address, f"{change.action} {address}"))
    ids: list[str] = []
    if run.stop.is_set():
        return _not_started(run, address, EARLIER_FAILED)
    try:
        try:
            reason = compare.moved(change, run.clients, run.ram_region, run.service_keys)
        except CloudCallError as error:
            return _failed(run, address, f"reading it again before writing failed: {error}", ids)
        if reason is not None:
            return _failed(
                run,
                address,
                f"{address} changed since the plan: {reason}. Nothing "
                "was written to it; plan again",
                ids,
            )
        try:
            refusal = run.guards.check(change, _guard_params(change, run))
        except CloudCallError as error:
            detail = f"reading the facts its guards rest on failed: {error}. Nothing was written"
            return _failed(run, address, detail, ids)
        if refusal is not None:
            detail = f"refused at the write: {refusal}. Nothing was written to it"
            return _failed(run, address, detail, ids)
        for op in change.operations:
            if run.stop.is_set() and not ids:
                return _not_started(run, address, EARLIER_FAILED)
            written = _write(change, op, run)
            ids.append(written.request_id)
            if written.outputs:
                with run.lock:
                    run.outputs.setdefault(address, {}).update(written.outputs)
        kind = find_kind(address)
        if kind is not None and kind.writes_ram:
            run.ram_changed.set()
        return _finish(change, run, tuple(ids))
    except Interrupted:
        raise
    except WriteFailed as failure:
        return _failed(run, address, _half_done(change, ids, failure.detail), ids)
    except CloudCallError as error:
        detail = _half_done(change, ids, str(error))
        return _failed(run, address, detail, [*ids, error.request_id or ""])
    except ApplyError as error:
        return _failed(run, address, _half_done(change, ids, str(error)), ids)


def _guard_params(change: Change, run: RunState) -> list[dict[str, Any] | None]:
    """Each operation's parameters with references resolved; None where one refers to what
    this change itself makes first (a new key: nothing uses it yet)."""
    found: list[dict[str, Any] | None] = []
    for op in change.operations:
        if any(r["ref"] == change.address for r in op.refs()):
            found.append(None)
        else:
            found.append(calls.resolve(op.params, run.outputs))
    return found


def _half_done(change: Change, ids: list[str], detail: str) -> str:
    """A failed change whose earlier writes were made says so (`ids` holds one request id per
    write made): such a change is half done, and the next plan shows what is left of it."""
    made = change.op_names[: len(ids)]
    if not made:
        return detail
    return f"{detail}; made before it: {', '.join(made)} (half done: plan again)"


def _failed(run: RunState, address: str, detail: str, ids: list[str]) -> ChangeOutcome:
    run.stop.set()
    run.emit(ApplyEvent("failed", address, detail))
    return ChangeOutcome(address, "failed", detail, tuple(i for i in ids if i))


def _not_started(run: RunState, address: str, detail: str) -> ChangeOutcome:
    run.emit(ApplyEvent("skipped", address, detail))
    return ChangeOutcome(address, "not_started", detail)


def _finish(change: Change, run: RunState, ids: tuple[str, ...]) -> ChangeOutcome:
    address = change.address
    ids = tuple(i for i in ids if i)
    wait = _wait_after(change, run)
    if wait is None:
        detail = "made " + ", ".join(change.op_names)
        run.emit(ApplyEvent("done", address, detail))
        return ChangeOutcome(address, "done", detail, ids)
    instance_id, target = wait.resource_id, wait.target
    region = str(change.region)
    if wait.scheduled:
        return _scheduled(change, run, instance_id, target, ids)
    try:
        result = run.waiter.until_done(address, region, instance_id, target, wait.reached)
    except CloudCallError as error:
        detail = f"the change was submitted, but waiting for it failed: {error}; plan again later"
        return _failed(run, address, detail, list(ids))
    if not result.ok:
        return _failed(run, address, result.detail, list(ids))
    run.emit(ApplyEvent("done", address, wait.done))
    return ChangeOutcome(address, "done", wait.done, ids)


def _wait_after(change: Change, run: RunState) -> Wait | None:
    """What the first operation whose rule waits after the write asks to wait for; None."""
    for op in change.operations:
        after = calls.RULES[op.op].after
        if after is not None:
            return after(calls.resolve(op.params, run.outputs))
    return None


def _scheduled(
    change: Change, run: RunState, instance_id: str, target: str, ids: tuple[str, ...]
) -> ChangeOutcome:
    window = kind_of(change.address).maintenance_window(change)
    in_window = f" (maintenance window {window})" if window else " (its maintenance window)"
    try:
        task = run.waiter.scheduled_start(str(change.region), instance_id, target)
    except CloudCallError as error:
        detail = f"submitted for the maintenance window{in_window}; its start was not read: {error}"
    else:
        detail = f"{instance_id} {_when(task)}{in_window}; not waited for"
    run.emit(ApplyEvent("scheduled", change.address, detail))
    return ChangeOutcome(change.address, "scheduled", detail, ids)


def _when(task: tuple[str, str] | None) -> str:
    """When a change submitted for the window runs: its task's start, or that it started at
    once because the window is open now (the instance restarts now)."""
    if task is None:
        return "starts in the maintenance window"
    status, start = task
    if status in ("Scheduled", "Waiting"):
        return f"starts at {start}" if start else "starts in the maintenance window"
    at = f" at {start}" if start else ""
    return f"started{at}, at once: the maintenance window is open now ({status})"


def _write(change: Change, op: Operation, run: RunState) -> Written:
    """One journalled write. Raises WriteFailed, CloudCallError, ApplyError or Interrupted."""
    params = calls.resolve(op.params, run.outputs)
    run.emit(ApplyEvent("write", change.address, op.op))
    raise_if_cancelled()  # no new write after a signal, not even its journal entry
    journal = run.journal
    if journal is not None:
        journal.before(change.address, op.op, params)
    try:
        written = _send(change, op.op, params, run)
    except Interrupted:
        if journal is not None:
            journal.after(change.address, op.op, "interrupted")
        raise
    except WriteFailed as failure:
        if journal is not None:
            journal.after(change.address, op.op, "error", message=failure.detail)
        raise
    except CloudCallError as error:
        if journal is not None:
            journal.after(
                change.address,
                op.op,
                "error",
                request_id=error.request_id,
                error_code=error.code,
                message=error.message,
            )
        raise
    except Exception as error:  # a bug: still no `before` left without its `after`
        if journal is not None:
            journal.after(
                change.address, op.op, "error", error_code=type(error).__name__, message=str(error)
            )
        raise
    if journal is not None:
        journal.after(
            change.address,
            op.op,
            "ok",
            request_id=written.request_id,
            outputs=written.outputs,
            message=written.note or None,
        )
    return written


def _send(change: Change, op: str, params: dict[str, Any], run: RunState) -> Written:
    region = str(change.region or run.ram_region)
    rule = calls.RULES[op]
    if rule.busy_resource is not None or rule.ram_not_ready is not None:
        return _send_waiting(change, op, rule, params, run)
    try:
        return calls.WRITES[op](run.clients, region, params)
    except NetworkError as error:
        if not rule.idempotent and error.outcome_unknown:
            return _verify_lost(change, op, rule, params, run, error)
        raise


@dataclass
class _Refused:
    """Since when a write has been refused as busy, or as perhaps RAM not yet propagated."""

    busy_since: float | None = None
    refused_since: float | None = None
    delays: Iterator[float] = field(default_factory=lambda: iter(RAM_RETRY_DELAYS))


def _send_waiting(
    change: Change, op: str, rule: WriteRule, params: dict[str, Any], run: RunState
) -> Written:
    """An idempotent write (ModifyDBInstanceConfig), waiting out a busy resource and RAM
    propagation, as its rule says."""
    region = str(change.region)
    busy = rule.busy_resource
    resource_id = busy(params) if busy is not None else str(change.target_id)
    refused = _Refused()
    while True:
        try:
            return calls.WRITES[op](run.clients, region, params)
        except TransientError as error:
            if busy is None or not _busy(error):
                raise
            _wait_out_busy(change, resource_id, error, refused, run)
        except PermanentError as error:
            if not _ram_not_ready(rule, error, params, run):
                raise
            _wait_for_ram(change, resource_id, error, refused, run)


def _wait_out_busy(
    change: Change, resource_id: str, error: TransientError, refused: _Refused, run: RunState
) -> None:
    """Wait until the resource is Running again; raises WriteFailed past `timeout_s`."""
    clock = run.options.clock
    refused.busy_since = clock() if refused.busy_since is None else refused.busy_since
    if clock() - refused.busy_since >= run.options.timeout_s:
        raise WriteFailed(
            f"{error}; still refused as busy after {run.options.timeout_s:g} s"
        ) from error
    run.emit(ApplyEvent("waiting", change.address, f"{resource_id} is busy ({error.code})"))
    waited = run.waiter.until_running(change.address, str(change.region), resource_id)
    if not waited.ok:
        raise WriteFailed(f"{error}; then {waited.detail}") from error
    # Running, yet refused as busy: give the cloud a moment before sending again.
    run.waiter.nap(run.options.poll_interval_s)


def _wait_for_ram(
    change: Change, resource_id: str, error: PermanentError, refused: _Refused, run: RunState
) -> None:
    """Nap before sending again; raises the refusal past RAM_PROPAGATION_S."""
    now = run.options.clock()
    refused.refused_since = now if refused.refused_since is None else refused.refused_since
    if now - refused.refused_since >= RAM_PROPAGATION_S:
        raise error
    delay = next(refused.delays, RAM_RETRY_DELAYS[-1])
    run.emit(
        ApplyEvent(
            "waiting",
            change.address,
            f"{resource_id}: {error.code}; RAM changes of this run may not have "
            f"reached RDS yet, retrying in {delay:g} s",
        )
    )
    run.waiter.nap(delay)


def _busy(error: TransientError) -> bool:
    """Refused as busy (not a network failure: that is the shared retry policy's)."""
    return not isinstance(error, NetworkError) and family_of(error) is Family.BUSY


def _ram_not_ready(
    rule: WriteRule, error: PermanentError, params: dict[str, Any], run: RunState
) -> bool:
    """A refusal the rule says may be RAM not yet propagated, after this run changed RAM."""
    ready = rule.ram_not_ready
    return run.ram_changed.is_set() and ready is not None and ready(error, params)


def _verify_lost(
    change: Change,
    op: str,
    rule: WriteRule,
    params: dict[str, Any],
    run: RunState,
    error: NetworkError,
) -> Written:
    """A not-idempotent write whose answer was lost: its rule reads whether it took effect."""
    region = str(change.region or run.ram_region)
    read_back = rule.read_back
    if read_back is None:  # WriteRule refuses this; fail closed all the same
        raise WriteFailed(f"{error}; no way to read back whether it took effect") from error
    try:
        seen = read_back(run.clients, region, params, change)
    except ReadBackFailed as failed:
        raise WriteFailed(f"{error}{failed.detail}") from error
    if not seen.took_effect:
        raise WriteFailed(f"{error}; {seen.detail}. It was not sent again: apply again") from error
    run.emit(ApplyEvent("write", change.address, f"{op}: answer lost; {seen.detail}"))
    return Written(outputs=dict(seen.outputs), note=f"the answer was lost; {seen.note}")
