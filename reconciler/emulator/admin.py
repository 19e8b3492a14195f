"""The admin API under /_emulator/ (JSON in and out, no signature): for tests, benchmarks, demos.

    GET    /_emulator/calls    -> {"total": N, "by_action": {"kms:CreateKey": n, ...}}
    DELETE /_emulator/calls    resets the counts
    POST   /_emulator/faults   {"action": "ModifyDBInstanceConfig" | "rds:Modify..." | "*",
                                "code": "Throttling.User", "status": 400, "times": 3}
                               or "rate": 0.3 (with optional "seed", default 0); optional
                               "message", "retry_after_ms" (sent as x-acs-retry-after)
    GET    /_emulator/faults   the active faults;  DELETE /_emulator/faults clears them
    POST   /_emulator/latency  {"ms": 20}: every API call waits that long first (0 = off)
    GET|POST /_emulator/clock  {"advance_seconds": 3600} -> {"now": ..., "offset_seconds": ...}

Other services add routes with `register_admin_route("POST", "quota", handler)`; a handler
takes (state, body dict) and returns a dict, raising AdminError(status, message) on bad input.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from reconciler.emulator.clock import iso
from reconciler.emulator.dispatch import Answer, json_answer
from reconciler.emulator.runtime import EmulatorState, Fault

AdminHandler = Callable[[EmulatorState, dict[str, Any]], dict[str, Any]]
PREFIX = "/_emulator/"

_DEFAULT_FAULT_MESSAGES = {
    "Throttling.User": "Request was denied due to user flow control.",
    "Throttling": "Request was denied due to request throttling.",
    "Rejected.Throttling": "QPS Limit Exceeded",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
    "InternalError": "The request processing has failed due to some unknown error.",
}


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_ROUTES: dict[tuple[str, str], AdminHandler] = {}


def register_admin_route(method: str, name: str, handler: AdminHandler) -> None:
    _ROUTES[(method.upper(), name.strip("/"))] = handler


def handle_admin(state: EmulatorState, method: str, path: str, body: bytes) -> Answer:
    name = path[len(PREFIX) :].strip("/")
    handler = _ROUTES.get((method.upper(), name))
    if handler is None:
        return json_answer(404, {"error": f"no admin endpoint {method} {PREFIX}{name}"})
    try:
        doc = json.loads(body or b"{}")
        if not isinstance(doc, dict):
            raise AdminError(400, "the body must be a JSON object")
        return json_answer(200, handler(state, doc))
    except ValueError as error:
        return json_answer(400, {"error": f"bad request: {error}"})
    except AdminError as error:
        return json_answer(error.status, {"error": error.message})


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdminError(400, f"{name} must be a number")
    return float(value)


def _get_calls(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    return state.calls.snapshot()


def _reset_calls(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    state.calls.reset()
    return state.calls.snapshot()


def _add_fault(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    action, code = body.get("action"), body.get("code")
    if not isinstance(action, str) or not isinstance(code, str) or not action or not code:
        raise AdminError(400, "action and code are required strings")
    status = int(_number(body, "status", 400))
    if not 400 <= status <= 599:
        raise AdminError(400, "status must be 400..599")
    times = body.get("times")
    rate = body.get("rate")
    if (times is None) == (rate is None):
        raise AdminError(400, "give exactly one of times or rate")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise AdminError(400, "times must be a positive integer")
    if rate is not None and not 0.0 <= _number(body, "rate") <= 1.0:
        raise AdminError(400, "rate must be within 0..1")
    retry_after = body.get("retry_after_ms")
    state.faults.add(
        Fault(
            action=action,
            code=code,
            status=status,
            message=str(
                body.get("message") or _DEFAULT_FAULT_MESSAGES.get(code, f"Injected {code}.")
            ),
            times=times,
            rate=None if rate is None else float(rate),
            retry_after_ms=int(retry_after) if retry_after else None,
            rng=random.Random(body.get("seed", 0)),
        )
    )
    return {"faults": state.faults.describe()}


def _list_faults(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    return {"faults": state.faults.describe()}


def _clear_faults(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    state.faults.clear()
    return {"faults": []}


def _set_latency(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    ms = _number(body, "ms")
    if ms < 0:
        raise AdminError(400, "ms must be >= 0")
    state.latency_ms = ms
    return {"ms": ms}


def _clock(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    if "advance_seconds" in body:
        seconds = _number(body, "advance_seconds")
        if seconds < 0:
            raise AdminError(400, "advance_seconds must be >= 0 (the clock only moves forward)")
        state.clock.advance(seconds)
    return {"now": iso(state.clock.now()), "offset_seconds": state.clock.offset_seconds}


register_admin_route("GET", "calls", _get_calls)
register_admin_route("DELETE", "calls", _reset_calls)
register_admin_route("POST", "faults", _add_fault)
register_admin_route("GET", "faults", _list_faults)
register_admin_route("DELETE", "faults", _clear_faults)
register_admin_route("POST", "latency", _set_latency)
register_admin_route("GET", "latency", lambda state, body: {"ms": state.latency_ms})
register_admin_route("POST", "clock", _clock)
register_admin_route("GET", "clock", _clock)
