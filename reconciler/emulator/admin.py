"""The admin API under /_emulator/ (JSON in and out, no signature): for tests, benchmarks, demos.

    GET    /_emulator/calls    -> {"total": N, "by_action": {"kms:CreateKey": n, ...}}
    DELETE /_emulator/calls    resets the counts
    POST   /_emulator/faults   {"action": "ModifyDBInstanceConfig" | "rds:Modify..." | "*",
                                "code": "Throttling.User", "status": 400, "times": 3}
                               or "rate": 0.3 (with optional "seed", default 0); optional
                               "message", "retry_after_ms" (sent as x-acs-retry-after),
                               "instance_id" (only calls naming that DBInstanceId fail)
    POST   /_emulator/faults   {"action": "CreateKey", "drop_answer": true, "times": 1,
                                "delay_ms": 0}: the action runs and commits, then the answer
                               is lost after delay_ms: the connection closes with no byte
                               sent; or "drop_answer": "truncate" (half the answer, then a
                               close), "garble" (a 200 that is not JSON), "empty" (a 200 `{}`)
    GET    /_emulator/faults   the active faults;  DELETE /_emulator/faults clears them (all
                               three kinds: errors, dropped answers, busy instances)
    POST   /_emulator/busy     {"instance_id": "pgm-...", "reads": 5, "status":
                                "CONFIG_ENCRYPTING"}: the next 5 status reads of the instance
                               show that status; its writes meanwhile answer 400
                               IncorrectDBInstanceState.  GET lists, DELETE clears
    POST   /_emulator/latency  {"ms": 20}: every API call waits that long first (0 = off)
    GET|POST /_emulator/clock  {"advance_seconds": 3600} or {"advance_to": "2026-01-01T03:00:00Z"}
                               -> {"now": ..., "offset_seconds": ...}; forward only

Accounts (docs/emulator.md, "Accounts and STS"): every route acts in the default account
unless the URL says `?account=<16-digit id>` of a declared account (404 `EntityNotExist.Account`
for another): `POST /_emulator/users?account=2234567890123456` makes a user there, `GET
/_emulator/kms/activation?account=...` reads that account's KMS status, and so on. Runtime
settings (calls, faults, busy, latency, quota, clock) are the whole emulator's whatever the
selector says.

    GET    /_emulator/accounts  -> {"accounts": ["1234567890123456", ...]} (the default first)
    POST   /_emulator/accounts  {"id": "2234567890123456", "access_key": {"id": .., "secret":
                                ..}}: declare an account (its own key optional)

Other services add routes with `register_admin_route("POST", "quota", handler)`; a handler
takes (state, body dict) and returns a dict, raising AdminError(status, message) on bad input.

Errors are the emulator's standard JSON error `{RequestId, HostId, Code, Message, Recommend}`:
400 `MalformedJSON` (not JSON, not an object, NaN/Infinity, too deeply nested), 400
`InvalidParameter` (a wrong type or a number out of its bounds, see `_LIMITS`: every number is
finite and bounded, so nothing stored can break a later call), 404 `InvalidAction.NotFound`.
Only loopback Host names reach these routes (`server.py` checks).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from reconciler.emulator import accounts
from reconciler.emulator.clock import ClockRangeError, iso, parse_iso
from reconciler.emulator.dispatch import Answer, error_answer, json_answer, new_request_id
from reconciler.emulator.errors import ApiError
from reconciler.emulator.runtime import (
    ANSWER_MODES,
    BusyHold,
    DropFault,
    EmulatorState,
    Fault,
)
from reconciler.emulator.store import account_scope

AdminHandler = Callable[[EmulatorState, dict[str, Any]], dict[str, Any]]
PREFIX = "/_emulator/"

_DEFAULT_FAULT_MESSAGES = {
    "Throttling.User": "Request was denied due to user flow control.",
    "Throttling": "Request was denied due to request throttling.",
    "Rejected.Throttling": "QPS Limit Exceeded",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
    "InternalError": "The request processing has failed due to some unknown error.",
}
# Inclusive bounds of every admin number (quota.py has per_second).
_LIMITS: dict[str, tuple[float, float]] = {
    "ms": (0, 600_000),  # latency: up to 10 minutes a call
    "status": (400, 599),
    "times": (1, 1_000_000),
    "rate": (0.0, 1.0),
    "retry_after_ms": (0, 3_600_000),
    "seed": (-(2**63), 2**63 - 1),
    "delay_ms": (0, 600_000),
    "reads": (1, 1_000_000),
}
_MAX_TEXT = 1024  # action, code, message, seed text


class AdminError(Exception):
    def __init__(self, status: int, message: str, code: str = "InvalidParameter") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


_ROUTES: dict[tuple[str, str], AdminHandler] = {}


def register_admin_route(method: str, name: str, handler: AdminHandler) -> None:
    _ROUTES[(method.upper(), name.strip("/"))] = handler


def admin_error(status: int, code: str, message: str) -> Answer:
    """The standard JSON error for an admin request (also used by server.py's Host check)."""
    return error_answer(ApiError(status, code, message), new_request_id(), None, "")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large")
    return value


def _parse_body(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body or b"{}", parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as error:
        detail = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise AdminError(400, f"the body is not valid JSON: {detail}", "MalformedJSON") from None
    if not isinstance(doc, dict):
        raise AdminError(400, "the body must be a JSON object", "MalformedJSON")
    return doc


def _scope(state: EmulatorState, query: str) -> str:
    """The store partition `?account=<id>` selects ("" = the default account)."""
    values = parse_qs(query, keep_blank_values=True).get("account")
    if not values:
        return ""
    account = values[-1]
    with state.store.transaction() as tx:
        known = accounts.is_declared(tx, state.settings.account_id, account)
    if not known:
        raise AdminError(404, f"no account {account[:40]!r}", "EntityNotExist.Account")
    return accounts.scope_of(state.settings.account_id, account)


def handle_admin(
    state: EmulatorState, method: str, path: str, body: bytes, query: str = ""
) -> Answer:
    name = path[len(PREFIX) :].strip("/")
    handler = _ROUTES.get((method.upper(), name))
    if handler is None:
        return admin_error(
            404, "InvalidAction.NotFound", f"no admin endpoint {method} {PREFIX}{name}"
        )
    try:
        with account_scope(_scope(state, query)):
            return json_answer(200, handler(state, _parse_body(body)))
    except AdminError as error:
        return admin_error(error.status, error.code, error.message)
    except ValueError as error:  # a handler's own check of its input
        return admin_error(400, "InvalidParameter", str(error))


def number(
    body: dict[str, Any],
    name: str,
    lo: float,
    hi: float,
    *,
    default: float | None = None,
    integer: bool = False,
) -> float:
    """body[name] as a finite number within lo..hi (inclusive), else AdminError 400.
    `integer`: a whole number (an int, or a float such as 3.0), returned as an int."""
    value = body.get(name, default)
    kind = "an integer" if integer else "a number"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or not lo <= value <= hi  # exact for ints of any size: no float() before the check
        or (integer and isinstance(value, float) and not value.is_integer())
    ):
        shown = "missing" if value is None else json.dumps(value)[:40]
        raise AdminError(400, f"{name} must be {kind} within {lo:g}..{hi:g} (got {shown})")
    return int(value) if integer else float(value)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        raise AdminError(400, f"{name} must be a non-empty string of at most {_MAX_TEXT} chars")
    return value


def _seed(body: dict[str, Any]) -> int | str:
    value = body.get("seed", 0)
    if isinstance(value, str):
        return _text(body, "seed")
    lo, hi = _LIMITS["seed"]
    return int(number(body, "seed", lo, hi, default=0, integer=True))


def _get_calls(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    return state.calls.snapshot()


def _reset_calls(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    state.calls.reset()
    return state.calls.snapshot()


def _faults(state: EmulatorState) -> dict[str, Any]:
    return {"faults": state.faults.describe() + state.drops.describe()}


def _add_drop(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    mode = body.get("drop_answer")
    mode = "drop" if mode is True else mode
    if mode not in ANSWER_MODES:
        raise AdminError(400, f"drop_answer must be true or one of {', '.join(ANSWER_MODES)}")
    if body.get("rate") is not None or body.get("code") is not None:
        raise AdminError(400, "a dropped answer takes times (and delay_ms), not rate or code")
    state.drops.add(
        DropFault(
            action=_text(body, "action"),
            times=int(number(body, "times", *_LIMITS["times"], default=1, integer=True)),
            delay_ms=int(number(body, "delay_ms", *_LIMITS["delay_ms"], default=0, integer=True)),
            mode=str(mode),
        )
    )
    return _faults(state)


def _add_fault(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    if "drop_answer" in body:
        return _add_drop(state, body)
    action, code = _text(body, "action"), _text(body, "code")
    status = int(number(body, "status", *_LIMITS["status"], default=400, integer=True))
    if (body.get("times") is None) == (body.get("rate") is None):
        raise AdminError(400, "give exactly one of times or rate")
    times: int | None = None
    rate: float | None = None
    if body.get("times") is not None:
        times = int(number(body, "times", *_LIMITS["times"], integer=True))
    else:
        rate = number(body, "rate", *_LIMITS["rate"])
    retry_after = int(
        number(body, "retry_after_ms", *_LIMITS["retry_after_ms"], default=0, integer=True)
    )
    message = _text(body, "message") if body.get("message") is not None else None
    instance_id = _text(body, "instance_id") if body.get("instance_id") is not None else None
    state.faults.add(
        Fault(
            action=action,
            code=code,
            status=status,
            message=message or _DEFAULT_FAULT_MESSAGES.get(code, f"Injected {code}."),
            times=times,
            rate=rate,
            retry_after_ms=retry_after or None,
            rng=random.Random(_seed(body)),
            instance_id=instance_id,
        )
    )
    return _faults(state)


def _list_faults(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    return _faults(state)


def _clear_faults(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    state.faults.clear()
    state.drops.clear()
    state.busy.clear()
    return {"faults": []}


def _add_busy(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    status = _text(body, "status") if body.get("status") is not None else "CONFIG_ENCRYPTING"
    state.busy.add(
        BusyHold(
            instance_id=_text(body, "instance_id"),
            reads=int(number(body, "reads", *_LIMITS["reads"], integer=True)),
            status=status,
        )
    )
    return {"busy": state.busy.describe()}


def _clear_busy(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    state.busy.clear()
    return {"busy": []}


def _set_latency(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    ms = number(body, "ms", *_LIMITS["ms"])
    state.latency_ms = ms
    return {"ms": ms}


def _instant(body: dict[str, Any], name: str) -> datetime:
    """body[name] as a UTC instant in the cloud's format, else AdminError 400."""
    value = body.get(name)
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return parse_iso(value)
    except ValueError:
        shown = json.dumps(value)[:40]
        raise AdminError(
            400, f"{name} must be a UTC time such as 2026-01-01T03:00:00Z (got {shown})"
        ) from None


def _clock(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    if "advance_seconds" in body and "advance_to" in body:
        raise AdminError(400, "give advance_seconds or advance_to, not both")
    try:
        if "advance_seconds" in body:
            state.clock.advance(number(body, "advance_seconds", 0, state.clock.MAX_ADVANCE_SECONDS))
        elif "advance_to" in body:
            state.clock.advance_to(_instant(body, "advance_to"))
    except ClockRangeError as error:
        raise AdminError(400, str(error)) from None
    return {"now": iso(state.clock.now()), "offset_seconds": state.clock.offset_seconds}


def _list_accounts(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    with state.store.transaction() as tx:
        return {"accounts": accounts.declared_accounts(tx, state.settings.account_id)}


def _declare_account(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    with state.store.transaction() as tx:
        tx = tx.in_account("")
        accounts.declare(tx, state.settings.account_id, body.get("id"), body.get("access_key"))
        return {"accounts": accounts.declared_accounts(tx, state.settings.account_id)}


register_admin_route("GET", "accounts", _list_accounts)
register_admin_route("POST", "accounts", _declare_account)
register_admin_route("GET", "calls", _get_calls)
register_admin_route("DELETE", "calls", _reset_calls)
register_admin_route("POST", "faults", _add_fault)
register_admin_route("GET", "faults", _list_faults)
register_admin_route("DELETE", "faults", _clear_faults)
register_admin_route("POST", "busy", _add_busy)
register_admin_route("GET", "busy", lambda state, body: {"busy": state.busy.describe()})
register_admin_route("DELETE", "busy", _clear_busy)
register_admin_route("POST", "latency", _set_latency)
register_admin_route("GET", "latency", lambda state, body: {"ms": state.latency_ms})
register_admin_route("POST", "clock", _clock)
register_admin_route("GET", "clock", _clock)
