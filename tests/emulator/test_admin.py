"""The admin API under /_emulator/: calls, faults (count and seeded rate), latency, clock."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as km
from alibabacloud_tea_openapi.exceptions import ThrottlingException

from reconciler.emulator.clock import iso, parse_iso
from tests.emulator import wire_client as wc


def test_calls_counted_by_service_and_action(kms: Any, ram: Any, admin: Any) -> None:
    kms.list_keys(km.ListKeysRequest())
    kms.list_keys(km.ListKeysRequest())
    kms.describe_account_kms_status()
    calls = admin.get("calls")
    assert calls == {
        "total": 3,
        "by_action": {"kms:ListKeys": 2, "kms:DescribeAccountKmsStatus": 1},
    }
    assert admin.delete("calls")["total"] == 0
    assert admin.get("calls") == {"total": 0, "by_action": {}}


def test_fault_by_count(kms: Any, admin: Any, api_error: Any) -> None:
    admin.post(
        "faults", {"action": "ListKeys", "code": "Throttling.User", "status": 400, "times": 2}
    )
    for _ in range(2):
        error = api_error(lambda: kms.list_keys(km.ListKeysRequest()))
        assert (error.status_code, error.code) == (400, "Throttling.User")
        assert error.data["Message"] == "Request was denied due to user flow control."
    kms.list_keys(km.ListKeysRequest())
    kms.describe_account_kms_status()  # other actions were never affected
    assert admin.get("calls")["by_action"]["kms:ListKeys"] == 3  # failed calls count too


def test_fault_with_service_prefix_and_wildcard(kms: Any, admin: Any, api_error: Any) -> None:
    admin.post(
        "faults", {"action": "ram:ListKeys", "code": "InternalError", "status": 500, "times": 1}
    )
    kms.list_keys(km.ListKeysRequest())  # the prefix names another service
    admin.post("faults", {"action": "*", "code": "ServiceUnavailable", "status": 503, "times": 1})
    error = api_error(lambda: kms.describe_account_kms_status())
    assert (error.status_code, error.code) == (503, "ServiceUnavailable")
    assert type(error).__name__ == "ServerException"


def test_fault_of_one_instance_fails_only_the_calls_naming_it(
    rds: Any, admin: Any, api_error: Any
) -> None:
    from alibabacloud_rds20140815 import models as rm

    def describe(instance_id: str) -> Any:
        request = rm.DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
        return api_error(lambda: rds.describe_dbinstance_attribute(request))

    admin.post(
        "faults",
        {
            "action": "DescribeDBInstanceAttribute",
            "code": "InternalError",
            "status": 500,
            "times": 1,
            "instance_id": "pgm-faulted",
        },
    )
    assert describe("pgm-other").code == "InvalidDBInstanceId.NotFound"  # not this one
    assert admin.get("faults")["faults"][0]["instance_id"] == "pgm-faulted"  # still armed
    assert describe("pgm-faulted").code == "InternalError"
    assert describe("pgm-faulted").code == "InvalidDBInstanceId.NotFound"  # used up


def test_fault_retry_after_header_gives_throttling_exception(kms: Any, admin: Any) -> None:
    admin.post(
        "faults",
        {
            "action": "kms:ListKeys",
            "code": "Rejected.Throttling",
            "status": 429,
            "times": 1,
            "retry_after_ms": 250,
        },
    )
    with pytest.raises(ThrottlingException) as info:
        kms.list_keys(km.ListKeysRequest())
    assert info.value.retry_after == 250 and info.value.code == "Rejected.Throttling"


def _failures_at_rate(emulator: Any, admin: Any, seed: int) -> list[bool]:
    admin.delete("faults")
    admin.post(
        "faults",
        {"action": "ListKeys", "code": "Throttling", "status": 400, "rate": 0.3, "seed": seed},
    )
    return [wc.call(emulator.endpoint, "kms", "ListKeys")[0] != 200 for _ in range(200)]


def test_fault_by_seeded_rate(emulator: Any, admin: Any) -> None:
    first = _failures_at_rate(emulator, admin, seed=7)
    assert 40 <= sum(first) <= 80  # about 30 % of 200
    assert _failures_at_rate(emulator, admin, seed=7) == first  # the seed makes it repeatable
    admin.delete("faults")
    assert admin.get("faults") == {"faults": []}
    assert wc.call(emulator.endpoint, "kms", "ListKeys")[0] == 200


def test_latency(kms: Any, admin: Any) -> None:
    admin.post("latency", {"ms": 60})
    started = time.perf_counter()
    kms.describe_account_kms_status()
    assert time.perf_counter() - started >= 0.06
    admin.post("latency", {"ms": 0})
    started = time.perf_counter()
    kms.describe_account_kms_status()
    assert time.perf_counter() - started < 0.05


def test_clock(admin: Any) -> None:
    before = admin.get("clock")
    after = admin.post("clock", {"advance_seconds": 3600})
    assert after["offset_seconds"] == before["offset_seconds"] + 3600
    assert after["now"] > before["now"]


def test_the_clock_advances_to_an_instant(admin: Any) -> None:
    """`advance_to` moves the emulated clock to a chosen instant (a time of day a test needs),
    by the offset it takes; the answer and every later read start there."""
    start = parse_iso(admin.get("clock")["now"])
    target = (start + timedelta(days=2)).replace(hour=3, minute=0, second=0)

    after = admin.post("clock", {"advance_to": iso(target)})

    assert after["now"] == iso(target)
    assert admin.get("clock")["now"] >= iso(target)  # then it runs on with the real clock
    assert after["offset_seconds"] > 0


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"advance_to": "2000-01-01T00:00:00Z"}, "only moves forward"),  # the past
        ({"advance_to": "2999-01-01T00:00:00Z"}, "100 years"),  # too far at once
        ({"advance_to": "2030-01-01 03:00:00"}, "2026-01-01T03:00:00Z"),  # not the format
        ({"advance_to": "2030-02-30T03:00:00Z"}, "2026-01-01T03:00:00Z"),  # no such date
        ({"advance_to": 1893466800}, "2026-01-01T03:00:00Z"),  # a number, not a time
        ({"advance_to": "2030-01-01T03:00:00Z", "advance_seconds": 60}, "not both"),
    ],
)
def test_a_bad_clock_move_is_refused_and_changes_nothing(
    admin: Any, emulator: Any, body: dict[str, Any], says: str
) -> None:
    before = admin.get("clock")["offset_seconds"]
    request = urllib.request.Request(
        f"{emulator.base_url}/_emulator/clock", data=json.dumps(body).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    answer = json.loads(refused.value.read())
    assert (refused.value.code, answer["Code"]) == (400, "InvalidParameter")
    assert says in answer["Message"]
    assert admin.get("clock")["offset_seconds"] == before


def _admin_status(base_url: str, method: str, name: str, body: bytes | None) -> int:
    request = urllib.request.Request(f"{base_url}/_emulator/{name}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        json.loads(error.read())  # errors are JSON too
        return error.code


@pytest.mark.parametrize(
    ("method", "name", "body", "status"),
    [
        ("POST", "clock", b'{"advance_seconds": -5}', 400),
        ("POST", "latency", b'{"ms": "fast"}', 400),
        ("POST", "faults", b'{"action": "X", "code": "Y"}', 400),  # neither times nor rate
        ("POST", "faults", b'{"action": "X", "code": "Y", "times": 1, "rate": 0.5}', 400),
        ("POST", "faults", b'{"action": "X", "code": "Y", "rate": 1.5}', 400),
        ("POST", "faults", b"not json", 400),
        ("GET", "nothing", None, 404),
    ],
)
def test_admin_bad_requests(
    emulator: Any, method: str, name: str, body: bytes | None, status: int
) -> None:
    assert _admin_status(emulator.base_url, method, name, body) == status
