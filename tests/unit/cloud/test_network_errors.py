"""Network failures through the real SDK clients over HTTP: each names the endpoint, the cause
and the fix; retrying stops at once where it cannot help (nothing listens on a loopback port,
the host does not resolve); a read timeout is a timeout, retried for reads only."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.endpoint import Endpoint
from reconciler.cloud.network import CallSite
from reconciler.cloud.retry import Family, RetryPolicy, classify, family_of
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.errors import NetworkError

EMULATOR_KEYS = StaticCredentials("emulator", "emulator-secret")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(":memory:", settings=Settings(restart_seconds=0)) as emu:
        yield emu
        # A call the client gave up on still sleeps in the emulator: let it finish first.
        time.sleep(getattr(emu, "test_latency_ms", 0) / 1000)


def set_latency(emulator: Emulator, ms: float) -> None:
    emulator.test_latency_ms = max(ms, getattr(emulator, "test_latency_ms", 0))  # type: ignore[attr-defined]
    request = urllib.request.Request(
        f"{emulator.base_url}/_emulator/latency",
        data=json.dumps({"ms": ms}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).read()


def describe_key(clients: CloudClients) -> Any:
    from alibabacloud_kms20160120 import models

    request = models.DescribeKeyRequest(key_id="alias/acs/rds")
    return clients.call("kms", "cn-hangzhou", "DescribeKey", lambda c: c.describe_key(request))


def create_key(clients: CloudClients, *, idempotent: bool = False) -> Any:
    from alibabacloud_kms20160120 import models

    request = models.CreateKeyRequest(description="t")
    return clients.call(
        "kms",
        "cn-hangzhou",
        "CreateKey",
        lambda c: c.create_key(request),
        write=True,
        idempotent=idempotent,
    )


def failure(call: Any) -> tuple[NetworkError, float]:
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        call()
    return info.value, time.monotonic() - started


def test_connection_refused_on_loopback_fails_fast_and_says_what_to_do() -> None:
    clients = CloudClients(CloudSettings(endpoint="127.0.0.1:1", credentials=EMULATOR_KEYS))
    error, seconds = failure(lambda: describe_key(clients))
    assert seconds < 2.0, "a refused loopback port is retried for a second at most, not 10 s"
    assert error.code == "ConnectionRefused" and error.cause == "connection-refused"
    assert error.endpoint == "127.0.0.1:1" and error.fail_fast
    message = str(error)
    assert "127.0.0.1:1" in message and "connection refused" in message
    assert "--endpoint" in message and "running" in message
    assert "?" not in message and "KeyId" not in message, "no request URL in the message"
    assert family_of(error) is Family.CONNECTION
    assert clients.counter.by_action()["kms:DescribeKey"] >= 1


def test_unresolvable_host_fails_fast_and_names_it() -> None:
    clients = CloudClients(
        CloudSettings(endpoint="nowhere.invalid:8080", credentials=EMULATOR_KEYS)
    )
    error, seconds = failure(lambda: describe_key(clients))
    assert seconds < 2.0
    assert error.code == "HostNotFound" and error.cause == "dns-failure" and error.fail_fast
    message = str(error)
    assert "nowhere.invalid:8080" in message and "does not resolve" in message
    assert "--endpoint" in message


def test_read_timeout_is_a_timeout_and_a_read_is_retried_a_few_times(emulator) -> None:  # type: ignore[no-untyped-def]
    set_latency(emulator, 1500)
    clients = CloudClients(
        CloudSettings(endpoint=emulator.endpoint, credentials=EMULATOR_KEYS, read_timeout_ms=200),
        retry=RetryPolicy(base_delay=0.01, max_delay=0.01),
    )
    error, seconds = failure(lambda: describe_key(clients))
    assert error.code == "ReadTimeout" and error.cause == "read-timeout"
    assert family_of(error) is Family.TIMEOUT
    assert not error.fail_fast and not error.outcome_unknown
    message = str(error)
    assert emulator.endpoint in message and "0.2 s" in message and "read timeout" in message
    assert "connection refused" not in message
    calls = clients.counter.by_action()["kms:DescribeKey"]
    assert calls == RetryPolicy().timeout_attempts, "retried, but only a few times"
    assert seconds < 3.0


def test_a_read_that_timed_out_succeeds_on_retry_within_the_deadline(emulator) -> None:  # type: ignore[no-untyped-def]
    set_latency(emulator, 1500)

    def sleep_then_heal(seconds: float) -> None:
        set_latency(emulator, 0)

    clients = CloudClients(
        CloudSettings(endpoint=emulator.endpoint, credentials=EMULATOR_KEYS, read_timeout_ms=200),
        retry=RetryPolicy(sleep=sleep_then_heal),
    )
    response = describe_key(clients)
    assert response.body.key_metadata.key_id
    assert clients.counter.by_action()["kms:DescribeKey"] == 2
    assert clients.counter.retries() == {"kms:DescribeKey": 1}


def test_read_timeout_on_a_write_is_never_repeated_blindly(emulator) -> None:  # type: ignore[no-untyped-def]
    set_latency(emulator, 1000)
    clients = CloudClients(
        CloudSettings(endpoint=emulator.endpoint, credentials=EMULATOR_KEYS, read_timeout_ms=200),
        retry=RetryPolicy(base_delay=0.01, max_delay=0.01),
    )
    error, _ = failure(lambda: create_key(clients))
    assert error.code == "ReadTimeout" and error.outcome_unknown
    assert clients.counter.by_action() == {"kms:CreateKey": 1}, "CreateKey sent once"
    assert "may have taken effect" in str(error) and "not repeated" in str(error)


def test_read_timeout_on_an_idempotent_write_is_retried(emulator) -> None:  # type: ignore[no-untyped-def]
    set_latency(emulator, 1000)
    clients = CloudClients(
        CloudSettings(endpoint=emulator.endpoint, credentials=EMULATOR_KEYS, read_timeout_ms=200),
        retry=RetryPolicy(base_delay=0.01, max_delay=0.01, timeout_attempts=2),
    )
    failure(lambda: create_key(clients, idempotent=True))
    assert clients.counter.by_action() == {"kms:CreateKey": 2}


def test_a_refused_write_never_left_the_machine_so_its_outcome_is_known() -> None:
    clients = CloudClients(CloudSettings(endpoint="127.0.0.1:1", credentials=EMULATOR_KEYS))
    error, _ = failure(lambda: create_key(clients))
    assert error.code == "ConnectionRefused" and not error.outcome_unknown


def _real_refused_exception() -> BaseException:
    """What the SDK raises when a connection is refused (from a real refused connection)."""
    from alibabacloud_kms20160120 import models
    from alibabacloud_kms20160120.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    client = Client(
        Config(access_key_id="a", access_key_secret="b", endpoint="127.0.0.1:1", protocol="http")
    )
    try:
        client.describe_key(models.DescribeKeyRequest(key_id="alias/x"))
    except Exception as exc:  # the exception is the point
        return exc
    raise AssertionError("the call should have failed")


def test_refused_by_a_remote_host_is_a_blip_retried_with_backoff_within_the_deadline() -> None:
    remote = Endpoint("kms.cn-hangzhou.aliyuncs.com", 443)
    error = classify(
        "kms:DescribeKey", _real_refused_exception(), site=CallSite(remote, custom=False)
    )
    assert isinstance(error, NetworkError) and not error.fail_fast
    message = str(error)
    assert "kms.cn-hangzhou.aliyuncs.com:443" in message and "--endpoint" not in message
    assert "network access" in message

    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    calls = []

    def call() -> str:
        calls.append(1)
        if len(calls) < 5:
            raise error
        return "ok"

    retry = RetryPolicy(clock=lambda: now[0], sleep=sleep)
    assert retry.run("kms:DescribeKey", call) == "ok"
    assert len(slept) == 4 and sum(slept) > 0


def test_fail_fast_errors_stop_within_the_short_budget() -> None:
    loopback = Endpoint("127.0.0.1", 1)
    error = classify("kms:DescribeKey", _real_refused_exception(), site=CallSite(loopback))
    assert error.fail_fast  # type: ignore[attr-defined]
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    calls = []

    def call() -> str:
        calls.append(1)
        raise error

    retry = RetryPolicy(clock=lambda: now[0], sleep=sleep)
    with pytest.raises(NetworkError):
        retry.run("kms:DescribeKey", call)
    assert now[0] <= retry.fail_fast_seconds
    assert 1 <= len(calls) < retry.max_attempts


def _as_sdk_raises(requests_error: BaseException) -> BaseException:
    """Wrap a requests exception the way darabonba and tea-openapi do."""
    from darabonba.exceptions import RetryError

    try:
        try:
            raise requests_error
        except OSError as e:
            raise RetryError(str(e))  # noqa: B904 - as darabonba.core does it
    except RetryError as wrapped:
        outer = Exception("UnretryableException")
        outer.code = None  # type: ignore[attr-defined]
        outer.inner_exception = wrapped  # type: ignore[attr-defined]
        return outer


def _chains() -> dict[str, BaseException]:
    import http.client

    import requests
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ProtocolError

    connect = requests.exceptions.ConnectTimeout(
        MaxRetryError(None, "/?Signature=x", ConnectTimeoutError(None, "timed out"))  # type: ignore[arg-type]
    )
    reset = requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed"))
    )
    return {"connect-timeout": connect, "connection-reset": reset}


@pytest.mark.parametrize("cause", ["connect-timeout", "connection-reset"])
def test_causes_read_from_the_exception_chain(cause: str) -> None:
    from reconciler.cloud.network import network_cause

    exc = _as_sdk_raises(_chains()[cause])
    assert network_cause(exc) == cause
    error = classify("kms:DescribeKey", exc, site=CallSite(Endpoint("h.example", 80)))
    assert isinstance(error, NetworkError) and error.cause == cause
    assert "h.example:80" in str(error) and "Signature" not in str(error)
    expected = Family.TIMEOUT if cause == "connect-timeout" else Family.CONNECTION
    assert family_of(error) is expected


def test_a_reset_on_a_write_leaves_its_outcome_unknown() -> None:
    exc = _as_sdk_raises(_chains()["connection-reset"])
    error = classify("kms:CreateKey", exc, write=True)
    assert isinstance(error, NetworkError) and error.outcome_unknown


def test_the_final_error_says_how_often_and_how_long_it_was_tried() -> None:
    clients = CloudClients(CloudSettings(endpoint="127.0.0.1:1", credentials=EMULATOR_KEYS))
    error, _ = failure(lambda: describe_key(clients))
    attempts = clients.counter.by_action()["kms:DescribeKey"]
    assert f"tried {attempts} times" in str(error) or attempts == 1


@pytest.fixture
def web_page() -> Iterator[str]:
    """Not an API: a web server that answers every request with an HTML error page."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Page(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_endpoint_that_is_not_the_api_is_named_and_fails_fast(web_page: str) -> None:
    clients = CloudClients(CloudSettings(endpoint=web_page, credentials=EMULATOR_KEYS))
    error, seconds = failure(lambda: describe_key(clients))
    assert error.code == "BadAnswer" and error.fail_fast
    assert web_page in str(error) and "not an Alibaba Cloud API response" in str(error)
    assert seconds < 2.0


def test_after_a_fail_fast_error_every_later_call_to_that_endpoint_fails_at_once() -> None:
    clients = CloudClients(CloudSettings(endpoint="127.0.0.1:1", credentials=EMULATOR_KEYS))
    failure(lambda: describe_key(clients))
    sent = clients.counter.total
    error, seconds = failure(lambda: create_key(clients))
    assert seconds < 0.1 and clients.counter.total == sent, "no new attempt"
    assert error.code == "ConnectionRefused" and error.action == "kms:CreateKey"
    assert "127.0.0.1:1" in str(error)


def test_a_custom_endpoint_host_is_resolved_once_not_by_every_parallel_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket
    from concurrent.futures import ThreadPoolExecutor

    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    lookups: list[str] = []
    real = socket.getaddrinfo

    def counting(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    clients = CloudClients(
        CloudSettings(endpoint="no-such-host.invalid:8080", credentials=EMULATOR_KEYS)
    )
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(describe_key, clients) for _ in range(32)]
    errors = [f.exception() for f in futures]
    assert all(isinstance(e, NetworkError) and e.code == "HostNotFound" for e in errors)
    assert lookups.count("no-such-host.invalid") == 1
    assert clients.counter.total == 0, "no request was even tried"


def test_calls_retrying_in_parallel_stop_once_one_learns_the_endpoint_is_unreachable() -> None:
    from concurrent.futures import ThreadPoolExecutor

    clients = CloudClients(CloudSettings(endpoint="127.0.0.1:1", credentials=EMULATOR_KEYS))
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(describe_key, clients) for _ in range(8)]
    assert all(isinstance(f.exception(), NetworkError) for f in futures)
    assert time.monotonic() - started < 1.5
    later, seconds = failure(lambda: describe_key(clients))
    assert later.already_known and seconds < 0.1
