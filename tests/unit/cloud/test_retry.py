"""Retry classification by code family, backoff bounds, retry-after, attempts and deadline."""

from __future__ import annotations

import random

import pytest

from reconciler.cloud.retry import Family, RetryPolicy, classify, code_family
from reconciler.errors import PermanentError, TransientError


class FakeSdkError(Exception):
    """Shaped like the SDK's ClientException/ThrottlingException (duck-typed by classify)."""

    def __init__(self, code: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status_code = status
        self.retry_after = retry_after
        self.request_id = "req-1"
        self.data = {"Code": code, "Message": "something happened"}


class FakeUnretryable(Exception):
    """Shaped like darabonba's UnretryableException wrapping a connection failure."""

    def __init__(self, inner: Exception) -> None:
        super().__init__(str(inner))
        self.code = None
        self.inner_exception = inner


class RetryError(Exception):
    """Same name as darabonba's wrapper of requests' IOError."""


@pytest.mark.parametrize(
    ("code", "status", "family"),
    [
        ("Throttling", 400, Family.THROTTLING),
        ("Throttling.User", 400, Family.THROTTLING),
        ("Throttling.Api", 400, Family.THROTTLING),
        ("Throttling.SomethingNewNextYear", 400, Family.THROTTLING),
        ("Rejected.Throttling", 429, Family.THROTTLING),
        ("WhateverCode", 429, Family.THROTTLING),
        ("ServiceUnavailable", 503, Family.UNAVAILABLE),
        ("ServiceUnavailableTemporary", 503, Family.UNAVAILABLE),
        ("InternalError", 500, Family.UNAVAILABLE),
        ("SomeUndocumented5xx", 502, Family.UNAVAILABLE),
        ("IncorrectDBInstanceState", 400, Family.BUSY),
        ("OperationDenied.DBInstanceStatus", 403, Family.BUSY),
        ("InvalidDBInstanceId.NotFound", 404, Family.NOT_FOUND),
        ("Forbidden.KeyNotFound", 404, Family.NOT_FOUND),
        ("EntityNotExist.Role", 404, Family.NOT_FOUND),
        ("Forbidden.NoPermission", 403, Family.NOT_AUTHORIZED),
        ("NoPermission", 403, Family.NOT_AUTHORIZED),
        ("InvalidParameter", 400, Family.INVALID),
        ("MalformedPolicyDocument", 400, Family.INVALID),
    ],
)
def test_code_family(code: str, status: int, family: Family) -> None:
    assert code_family(code, status) is family


def test_throttling_and_5xx_are_transient_invalid_is_permanent() -> None:
    assert isinstance(
        classify("kms:DescribeKey", FakeSdkError("Throttling.User", 400)), TransientError
    )
    assert isinstance(
        classify("kms:DescribeKey", FakeSdkError("InternalError", 500)), TransientError
    )
    error = classify("kms:DescribeKey", FakeSdkError("InvalidParameter", 400))
    assert isinstance(error, PermanentError)
    assert error.code == "InvalidParameter" and error.status == 400


def test_busy_instance_is_transient_only_for_writes() -> None:
    busy = FakeSdkError("IncorrectDBInstanceState", 400)
    assert isinstance(classify("rds:ModifyDBInstanceConfig", busy, write=True), TransientError)
    assert isinstance(
        classify("rds:DescribeDBInstanceAttribute", busy, write=False), PermanentError
    )


def test_connection_failure_is_transient() -> None:
    error = classify("rds:DescribeDBInstances", FakeUnretryable(RetryError("refused")))
    assert isinstance(error, TransientError) and error.code == "NetworkError"
    assert isinstance(classify("x", ConnectionResetError()), TransientError)


def test_unknown_client_side_failure_is_permanent() -> None:
    assert isinstance(classify("x", FakeUnretryable(KeyError("boom"))), PermanentError)


def test_retry_after_is_carried_in_seconds() -> None:
    error = classify("x", FakeSdkError("Throttling", 400, retry_after=1500))
    assert error.retry_after == pytest.approx(1.5)


class ScriptedCall:
    """Fails with the given errors in order, then returns 'ok'."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(**kw: object) -> tuple[RetryPolicy, list[float]]:
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    defaults = dict(clock=lambda: now[0], sleep=sleep, rng=random.Random(7))
    defaults.update(kw)
    return RetryPolicy(**defaults), slept  # type: ignore[arg-type]


def test_transient_errors_are_retried_until_success() -> None:
    retry, slept = policy()
    call = ScriptedCall(
        FakeSdkError("Throttling.User", 400), FakeSdkError("ServiceUnavailable", 503)
    )
    assert retry.run("rds:X", call) == "ok"
    assert call.calls == 3 and len(slept) == 2


def test_permanent_error_is_not_retried() -> None:
    retry, slept = policy()
    call = ScriptedCall(FakeSdkError("Forbidden.NoPermission", 403))
    with pytest.raises(PermanentError):
        retry.run("kms:X", call)
    assert call.calls == 1 and slept == []


def test_attempts_are_bounded() -> None:
    retry, _ = policy(max_attempts=3)
    call = ScriptedCall(*[FakeSdkError("Throttling", 400)] * 10)
    with pytest.raises(TransientError):
        retry.run("kms:X", call)
    assert call.calls == 3


def test_deadline_is_respected() -> None:
    retry, slept = policy(
        max_attempts=100, base_delay=1.0, max_delay=1.0, deadline=3.0, rng=random.Random(1)
    )
    call = ScriptedCall(*[FakeSdkError("Throttling", 400, retry_after=1000)] * 100)
    with pytest.raises(TransientError):
        retry.run("kms:X", call)
    assert sum(slept) <= 3.0
    assert call.calls <= 4


def test_backoff_is_full_jitter_within_exponential_ceiling() -> None:
    retry, _ = policy(base_delay=0.1, max_delay=2.0)
    for n in range(1, 10):
        ceiling = min(2.0, 0.1 * 2 ** (n - 1))
        samples = [retry.delay(n) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # jitter spreads over the whole range
        assert min(samples) < ceiling * 0.2


def test_server_retry_after_is_a_floor() -> None:
    retry, slept = policy(base_delay=0.01, max_delay=0.01)
    call = ScriptedCall(FakeSdkError("Throttling", 400, retry_after=700))
    assert retry.run("kms:X", call) == "ok"
    assert slept == [pytest.approx(0.7)]
