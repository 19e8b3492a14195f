"""Carrying out ONE change: compare-and-set, its writes in order (journalled), then waiting for
an Immediate encryption change or reporting a scheduled one.

Special cases on the write road (everything else is clients.call's shared retry policy):
- a busy instance on ModifyDBInstanceConfig: once the shared retries give up, wait (waiter)
  until it is Running, then send again (same ClientToken), within `timeout_s`;
- a CMK ModifyDBInstanceConfig refused as not authorised right after this run created or
  changed RAM: retried for up to RAM_PROPAGATION_S (RAM changes take time to reach RDS);
- a lost answer of a write that is not idempotent: never sent again; the target is read to
  learn whether it took effect (CreateKey: the alias-less key carrying its tags, as the
  planner adopts it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.apply import calls, compare
from reconciler.apply.guards import WriteGuards
from reconciler.apply.journal import Journal
from reconciler.apply.results import ApplyEvent, ApplyOptions, ChangeOutcome
from reconciler.apply.waiter import Waiter
from reconciler.cancellation import raise_if_cancelled
from reconciler.cloud import kms, ram
from reconciler.cloud.clients import CloudClients
from reconciler.cloud.retry import Family, family_of
from reconciler.cloud.writes import Written
from reconciler.core.ops import Op
from reconciler.errors import (
    ApplyError,
    CloudCallError,
    Interrupted,
    NetworkError,
    PermanentError,
    TransientError,
)
from reconciler.kinds import find_kind, kind_of
from reconciler.kinds.kms_key.body import KeyAfter
from reconciler.kinds.ram.apply import ATTACHMENT_OPS, attached
from reconciler.kinds.rds_encryption.apply import show_value
from reconciler.plan.model import Change, Operation

RAM_PROPAGATION_S = 120.0
"""How long a CMK change refused as not authorised is retried after this run changed RAM."""
RAM_RETRY_DELAYS = (2.0, 4.0, 8.0, 15.0)
"""Seconds between those retries (the last repeats)."""
CALLER_DENIED = ("Forbidden.RAM", "NoPermission")
"""The documented common codes of a call the tool's OWN identity may not make (its RAM
policies lack the action): never RAM propagation of RDS's role, never retried."""


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
    stop: threading.Event = field(default_factory=threading.Event)
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
        return _not_started(run, address, "not started: an earlier change failed")
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
                return _not_started(run, address, "not started: an earlier change failed")
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
    config = next((o for o in change.operations if o.op == Op.RDS_MODIFY_DB_INSTANCE_CONFIG), None)
    if config is None:
        detail = "made " + ", ".join(change.op_names)
        run.emit(ApplyEvent("done", address, detail))
        return ChangeOutcome(address, "done", detail, ids)
    params = calls.resolve(config.params, run.outputs)
    instance_id, target = str(params["DBInstanceId"]), str(params["ConfigValue"])
    region = str(change.region)
    if params.get("SwitchTimeMode") == "MaintainTime":
        return _scheduled(change, run, instance_id, target, ids)
    try:
        result = run.waiter.until_done(address, region, instance_id, target)
    except CloudCallError as error:
        detail = f"the change was submitted, but waiting for it failed: {error}; plan again later"
        return _failed(run, address, detail, list(ids))
    if not result.ok:
        return _failed(run, address, result.detail, list(ids))
    detail = f"{instance_id} is Running with encryption {show_value(target)}"
    run.emit(ApplyEvent("done", address, detail))
    return ChangeOutcome(address, "done", detail, ids)


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
    function = calls.WRITES[op]
    if op == Op.RDS_MODIFY_DB_INSTANCE_CONFIG:
        return _modify_config(change, params, run)
    try:
        return function(run.clients, region, params)
    except NetworkError as error:
        if op in calls.NOT_IDEMPOTENT and error.outcome_unknown:
            return _verify_lost(change, op, params, run, error)
        raise


def _modify_config(change: Change, params: dict[str, Any], run: RunState) -> Written:
    """ModifyDBInstanceConfig, waiting out a busy instance and RAM propagation."""
    region, instance_id = str(change.region), str(params["DBInstanceId"])
    clock = run.options.clock
    refused_since: float | None = None
    busy_since: float | None = None
    delays = iter(RAM_RETRY_DELAYS)
    while True:
        try:
            return calls.WRITES[Op.RDS_MODIFY_DB_INSTANCE_CONFIG](run.clients, region, params)
        except TransientError as error:
            if isinstance(error, NetworkError) or family_of(error) is not Family.BUSY:
                raise
            busy_since = clock() if busy_since is None else busy_since
            if clock() - busy_since >= run.options.timeout_s:
                raise WriteFailed(
                    f"{error}; still refused as busy after {run.options.timeout_s:g} s"
                ) from error
            run.emit(ApplyEvent("waiting", change.address, f"{instance_id} is busy ({error.code})"))
            waited = run.waiter.until_running(change.address, region, instance_id)
            if not waited.ok:
                raise WriteFailed(f"{error}; then {waited.detail}") from error
            # Running, yet refused as busy: give the cloud a moment before sending again.
            run.waiter.nap(run.options.poll_interval_s)
        except PermanentError as error:
            if not _ram_not_ready(error, params, run):
                raise
            now = clock()
            refused_since = now if refused_since is None else refused_since
            if now - refused_since >= RAM_PROPAGATION_S:
                raise
            delay = next(delays, RAM_RETRY_DELAYS[-1])
            run.emit(
                ApplyEvent(
                    "waiting",
                    change.address,
                    f"{instance_id}: {error.code}; RAM changes of this run may not have reached "
                    f"RDS yet, retrying in {delay:g} s",
                )
            )
            run.waiter.nap(delay)


def _ram_not_ready(error: PermanentError, params: dict[str, Any], run: RunState) -> bool:
    """A CMK change refused as not authorised, after this run changed RAM (not the tool's own
    identity refused the call: CALLER_DENIED)."""
    value = str(params.get("ConfigValue") or "")
    code = error.code.lower()
    return (
        run.ram_changed.is_set()
        and code not in {c.lower() for c in CALLER_DENIED}
        and value.lower() not in ("servicekey", "disabled")
        and (family_of(error) is Family.NOT_AUTHORIZED or "byok" in code)
        and "notenabled" not in code
        and "lockmode" not in code
    )


def _verify_lost(
    change: Change, op: str, params: dict[str, Any], run: RunState, error: NetworkError
) -> Written:
    """A not-idempotent write whose answer was lost: read whether it took effect."""
    region, clients = str(change.region or run.ram_region), run.clients
    if op == Op.KMS_CREATE_KEY:
        return _find_created_key(change, params, run, error)
    try:
        took_effect = _took_effect(op, params, clients, region)
    except CloudCallError as read_error:
        raise WriteFailed(
            f"{error}; reading back whether it took effect failed too: {read_error}"
        ) from error
    if not took_effect:
        raise WriteFailed(
            f"{error}; read back: it did not take effect. It was not sent again: apply again"
        ) from error
    run.emit(ApplyEvent("write", change.address, f"{op}: answer lost; read back: it took effect"))
    return Written(note="the answer was lost; read back: it took effect")


def _find_created_key(
    change: Change, params: dict[str, Any], run: RunState, error: NetworkError
) -> Written:
    """A lost CreateKey answer: the key it made (if any) has the request's tags and
    description and no alias. Found, it is used as the answer (the next plan would adopt it
    the same way); not found, the write did not take effect and is not sent again."""
    region, clients = str(change.region or run.ram_region), run.clients
    alias = KeyAfter.of(change).alias
    wanted = {t["TagKey"]: t["TagValue"] for t in json.loads(params.get("Tags") or "[]")}
    try:
        candidates = [
            key_id
            for key_id, tags in kms.aliasless_keys(clients, region).items()
            if {k: v for k, v in tags.items() if k in wanted or not k.startswith("acs:")} == wanted
        ]
        key = kms.adopt_key(clients, region, candidates) if candidates else None
    except CloudCallError as read_error:
        raise WriteFailed(
            f"{error}. A key may have been created in {region} without its alias {alias}; "
            f"looking for it failed too: {read_error}. The next plan finds such a key by its "
            "tags and adopts it"
        ) from error
    if key is None or key.description != (params.get("Description") or ""):
        raise WriteFailed(
            f"{error}; read back: no key without an alias carries its tags, so it did not "
            "take effect. It was not sent again: apply again"
        ) from error
    run.emit(ApplyEvent("write", change.address, f"kms:CreateKey: answer lost; found {key.key_id}"))
    return Written(
        outputs={"key_id": key.key_id, "arn": key.arn},
        note=f"the answer was lost; read back: it created {key.key_id} (no alias yet)",
    )


def _took_effect(op: str, params: dict[str, Any], clients: CloudClients, region: str) -> bool:
    if op == Op.KMS_CREATE_ALIAS:
        return kms.alias_target(clients, region, params["AliasName"]) == params["KeyId"]
    if op == Op.RAM_CREATE_POLICY:
        policy = ram.get_policy(clients, region, params["PolicyName"], "Custom")
        return policy is not None and policy.document == json.loads(params["PolicyDocument"])
    if op == Op.RAM_CREATE_ROLE:
        role = ram.get_role(clients, region, params["RoleName"])
        wanted = json.loads(params["AssumeRolePolicyDocument"])
        return role is not None and role.trust_document == wanted
    if op in ATTACHMENT_OPS:
        now = attached(
            clients, region, params["RoleName"], params["PolicyName"], params["PolicyType"]
        )
        return now == (op == Op.RAM_ATTACH_POLICY_TO_ROLE)
    return False
