"""The admin API refuses what it cannot use with 400 and the standard JSON error: non-finite
or out-of-range numbers, wrong types, malformed JSON; nothing it refuses changes any state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from tests.emulator import raw_http as rh
from tests.emulator import wire_client as wc

HUNDRED_YEARS = 100 * 365.25 * 86400


def _admin(
    emulator: Emulator,
    method: str,
    name: str,
    body: bytes = b"",
    host: str | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> rh.RawAnswer:
    extra = [*(headers or []), ("Content-Length", str(len(body)))]
    data = rh.request_bytes(
        method, f"/_emulator/{name}", emulator.endpoint if host is None else host, extra, body
    )
    return rh.exchange(emulator.endpoint, data)


BAD_BODIES = [
    ("clock", b'{"advance_seconds": 1e300}'),
    ("clock", b'{"advance_seconds": 1e400}'),
    ("clock", b'{"advance_seconds": Infinity}'),
    ("clock", b'{"advance_seconds": NaN}'),
    ("clock", b'{"advance_seconds": -Infinity}'),
    ("clock", b'{"advance_seconds": ' + b"9" * 400 + b"}"),
    ("clock", b'{"advance_seconds": ' + str(int(HUNDRED_YEARS) + 86400).encode() + b"}"),
    ("clock", b'{"advance_seconds": "3600"}'),
    ("clock", b'{"advance_seconds": true}'),
    ("clock", b'{"advance_seconds": null}'),
    ("latency", b'{"ms": 1e300}'),
    ("latency", b'{"ms": Infinity}'),
    ("latency", b'{"ms": NaN}'),
    ("latency", b'{"ms": 600001}'),
    ("latency", b'{"ms": -1}'),
    ("latency", b"{}"),
    ("faults", b'{"action": "X", "code": "Y", "status": 1e400, "times": 1}'),
    ("faults", b'{"action": "X", "code": "Y", "status": NaN, "times": 1}'),
    ("faults", b'{"action": "X", "code": "Y", "status": 400.5, "times": 1}'),
    ("faults", b'{"action": "X", "code": "Y", "times": 1e300}'),
    ("faults", b'{"action": "X", "code": "Y", "times": 100000000000}'),
    ("faults", b'{"action": "X", "code": "Y", "rate": NaN}'),
    ("faults", b'{"action": "X", "code": "Y", "rate": Infinity}'),
    ("faults", b'{"action": "X", "code": "Y", "times": 1, "retry_after_ms": Infinity}'),
    ("faults", b'{"action": "X", "code": "Y", "times": 1, "retry_after_ms": 1e300}'),
    ("faults", b'{"action": "X", "code": "Y", "times": 1, "retry_after_ms": -5}'),
    ("faults", b'{"action": "X", "code": "Y", "times": 1, "retry_after_ms": "soon"}'),
    ("faults", b'{"action": "X", "code": "Y", "rate": 0.5, "seed": [1, 2]}'),
    ("faults", b'{"action": "X", "code": "Y", "rate": 0.5, "seed": {"a": 1}}'),
    ("faults", b'{"action": "X", "code": "Y", "rate": 0.5, "seed": 1e300}'),
    ("faults", b'{"action": "X", "code": "Y", "times": 1, "message": ["m"]}'),
    ("faults", b'{"action": ["X"], "code": "Y", "times": 1}'),
    ("quota", b'{"action": "X", "per_second": 1e300}'),
    ("quota", b'{"action": "X", "per_second": Infinity}'),
    ("quota", b'{"action": "X", "per_second": 10000000000}'),
    ("quota", b'{"action": "X", "per_second": NaN}'),
    ("kms", b'{"activated": NaN}'),
    ("clock", b"not json"),
    ("clock", b"[1, 2]"),
    ("clock", b'"text"'),
    ("clock", b"\xff\xfe"),
    ("clock", b"[" * 100000 + b"]" * 100000),
    ("clock", b'{"advance_seconds": 1, "advance_seconds": Infinity}'),
]


@pytest.mark.parametrize(("name", "body"), BAD_BODIES, ids=lambda v: str(v)[:40])
def test_bad_admin_body_is_400_json(emulator: Emulator, name: str, body: bytes) -> None:
    answer = _admin(emulator, "POST", name, body)
    rh.assert_json_error(answer, 400)


@pytest.mark.parametrize(("name", "body"), BAD_BODIES, ids=lambda v: str(v)[:40])
def test_bad_admin_body_changes_nothing(emulator: Emulator, name: str, body: bytes) -> None:
    before = {n: _admin(emulator, "GET", n).json() for n in ("faults", "latency", "quota")}
    offset = _admin(emulator, "GET", "clock").json()["offset_seconds"]
    _admin(emulator, "POST", name, body)
    after = {n: _admin(emulator, "GET", n).json() for n in ("faults", "latency", "quota")}
    assert after == before
    assert _admin(emulator, "GET", "clock").json()["offset_seconds"] == offset
    assert wc.call(emulator.endpoint, "kms", "ListKeys")[0] == 200


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("clock", {"advance_seconds": HUNDRED_YEARS}),
        ("clock", {"advance_seconds": 0.5}),
        ("latency", {"ms": 600000}),
        ("latency", {"ms": 0.25}),
        ("faults", {"action": "X", "code": "Y", "times": 1000000, "retry_after_ms": 3600000}),
        ("faults", {"action": "X", "code": "Y", "rate": 0.0, "seed": "any text"}),
        ("quota", {"action": "X", "per_second": 1000000}),
        ("quota", {"action": "X", "per_second": 0}),
    ],
)
def test_admin_limits_are_inclusive(emulator: Emulator, name: str, body: dict[str, Any]) -> None:
    answer = _admin(emulator, "POST", name, json.dumps(body).encode())
    assert answer.status == 200, answer.body
    _admin(emulator, "POST", "latency", b'{"ms": 0}')
    assert wc.call(emulator.endpoint, "kms", "ListKeys")[0] in (200, 400)


def test_clock_total_offset_is_bounded(emulator: Emulator) -> None:
    """Many in-range advances cannot push the emulated date past what dates can hold."""
    step = json.dumps({"advance_seconds": HUNDRED_YEARS}).encode()
    statuses = [_admin(emulator, "POST", "clock", step).status for _ in range(12)]
    assert statuses[:10] == [200] * 10
    assert statuses[-1] == 400
    rh.assert_json_error(_admin(emulator, "POST", "clock", step), 400, "InvalidParameter")
    assert wc.call(emulator.endpoint, "kms", "CreateKey")[0] == 200
    assert _admin(emulator, "GET", "clock").status == 200


def test_unknown_admin_endpoint_is_404_json(emulator: Emulator) -> None:
    rh.assert_json_error(_admin(emulator, "GET", "nothing"), 404)
