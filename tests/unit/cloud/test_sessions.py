"""The first call to a host goes alone (cloud/sessions.py): the SDK then opens its HTTP
session, TLS context included, once per host instead of once per thread that started with it."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator

import pytest

from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.sessions import session_opened
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world

THREADS = 16


@pytest.fixture
def slow_emulator() -> Iterator[Emulator]:
    """A fresh emulator (a port no session was opened for) answering after 20 ms, so that
    calls started together are all under way together."""
    with Emulator(":memory:", settings=Settings(restart_seconds=0)) as emu:
        world.admin(emu.endpoint, "POST", "latency", {"ms": 20})
        yield emu


def _describe_instances(client: object) -> object:
    from alibabacloud_rds20140815 import models

    return client.describe_dbinstances(  # type: ignore[attr-defined]
        models.DescribeDBInstancesRequest(region_id="cn-hangzhou")
    )


def test_threads_starting_together_open_one_session(
    slow_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    real = ssl.create_default_context
    callers: list[threading.Thread] = []

    def counted(*args: object, **kwargs: object) -> ssl.SSLContext:
        if threading.current_thread() in callers:  # no other thread's context counts
            made.append(threading.current_thread())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    clients = CloudClients(
        CloudSettings(
            endpoint=slow_emulator.endpoint,
            credentials=StaticCredentials("emulator", "emulator-secret"),
            parallelism=THREADS,
        )
    )
    clients.client("rds", "cn-hangzhou")  # made before: only the calls' sessions count
    monkeypatch.setattr(ssl, "create_default_context", counted)
    start, answers = threading.Barrier(THREADS), []

    def first_call() -> None:
        start.wait()
        answer = clients.call("rds", "cn-hangzhou", "DescribeDBInstances", _describe_instances)
        answers.append(answer)

    threads = callers
    threads += [threading.Thread(target=first_call) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == THREADS, "every call was answered"
    assert len(made) == 1, f"{len(made)} HTTP sessions (TLS contexts) made for one host"


def test_the_others_wait_for_the_first_call_then_go_together() -> None:
    host, order, first_in = ("example:1", 40), [], threading.Event()

    def first() -> None:
        with session_opened(host):
            first_in.set()
            time.sleep(0.05)
            order.append("first")

    def other() -> None:
        first_in.wait()
        with session_opened(host):
            order.append("other")

    threads = [threading.Thread(target=first)] + [threading.Thread(target=other) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert order == ["first", "other", "other", "other"]


def test_a_failed_first_call_still_lets_the_others_go() -> None:
    host = ("example:2", 40)
    with pytest.raises(OSError), session_opened(host):
        raise OSError("connection refused")
    done = threading.Event()

    def other() -> None:
        with session_opened(host):
            done.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(5)
    assert done.is_set(), "a call waited for a session a failed call never announced"
