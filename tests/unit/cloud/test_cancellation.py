"""After SIGINT/SIGTERM no new cloud call is sent: not a first attempt, not a retry."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from reconciler import cancellation
from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.retry import RetryPolicy
from reconciler.errors import Interrupted, ReconcilerError, TransientError


@pytest.fixture(autouse=True)
def fresh_flag() -> Iterator[None]:
    cancellation.reset()
    yield
    cancellation.reset()


def clients(retry: RetryPolicy | None = None) -> CloudClients:
    return CloudClients(
        CloudSettings(endpoint="127.0.0.1:9", credentials=StaticCredentials("id", "secret")),
        retry=retry,
    )


def test_interrupted_carries_the_exit_code_of_its_signal() -> None:
    assert Interrupted(signal.SIGINT).exit_code == 130
    assert Interrupted(signal.SIGTERM).exit_code == 143
    assert isinstance(Interrupted(signal.SIGINT), ReconcilerError)
    assert "SIGTERM" in str(Interrupted(signal.SIGTERM))


def test_only_the_first_request_counts() -> None:
    assert cancellation.request(signal.SIGTERM) is True
    assert cancellation.request(signal.SIGINT) is False
    with pytest.raises(Interrupted) as info:
        cancellation.raise_if_cancelled()
    assert info.value.exit_code == 143


def test_no_call_is_sent_after_cancellation() -> None:
    sent: list[str] = []
    cloud = clients()
    assert (
        cloud.call("rds", "cn-hangzhou", "DescribeDBInstances", lambda c: sent.append("a")) is None
    )
    cancellation.request(signal.SIGINT)
    with pytest.raises(ReconcilerError):
        cloud.call("rds", "cn-hangzhou", "DescribeDBInstances", lambda c: sent.append("b"))
    assert sent == ["a"]
    assert cloud.counter.total == 1, "a call that was never sent is not counted"


def test_a_retry_waiting_when_the_signal_comes_is_not_sent() -> None:
    sent: list[int] = []

    def flaky(_client: object) -> None:
        sent.append(1)
        raise TransientError("rds:DescribeDBInstances", "Throttling.User", "slow down")

    def sleep(_seconds: float) -> None:  # the signal arrives during the backoff
        cancellation.request(signal.SIGINT)

    cloud = clients(RetryPolicy(max_attempts=5, sleep=sleep))
    with pytest.raises(ReconcilerError):
        cloud.call("rds", "cn-hangzhou", "DescribeDBInstances", flaky)
    assert sent == [1]
