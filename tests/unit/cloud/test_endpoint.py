"""`--endpoint HOST:PORT` is checked before any call: syntax, port range, IPv6 in brackets."""

from __future__ import annotations

import pytest

from reconciler.cloud.endpoint import Endpoint, parse_endpoint
from reconciler.errors import EndpointError, ReconcilerError


@pytest.mark.parametrize(
    ("value", "host", "port", "text"),
    [
        ("127.0.0.1:8080", "127.0.0.1", 8080, "127.0.0.1:8080"),
        ("localhost:1", "localhost", 1, "localhost:1"),
        ("emulator.internal:65535", "emulator.internal", 65535, "emulator.internal:65535"),
        ("http://127.0.0.1:80/", "127.0.0.1", 80, "127.0.0.1:80"),
        ("  127.0.0.1:80  ", "127.0.0.1", 80, "127.0.0.1:80"),
        ("[::1]:8080", "::1", 8080, "[::1]:8080"),
        ("[fe80::1:2]:9", "fe80::1:2", 9, "[fe80::1:2]:9"),
        ("my-host:08080", "my-host", 8080, "my-host:8080"),
    ],
)
def test_endpoint_accepted(value: str, host: str, port: int, text: str) -> None:
    endpoint = parse_endpoint(value)
    assert (endpoint.host, endpoint.port, str(endpoint)) == (host, port, text)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("127.0.0.1:99999", "port 99999 is out of range: use 1 to 65535"),
        ("127.0.0.1:0", "port 0 is out of range: use 1 to 65535"),
        ("127.0.0.1", "no port"),
        ("127.0.0.1:", "no port"),
        (":80", "no host"),
        ("x:port", "port 'port' is not a number"),
        ("::1:8080", "put an IPv6 address in brackets"),
        ("[::1]", "no port"),
        ("[not-v6]:80", "not an IPv6 address"),
        ("https://x:1", "plain http"),
        ("ftp://x:1", "plain http"),
        ("bad_host!:80", "not a valid host name"),
        ("-x:80", "not a valid host name"),
        ("x:80/path", "no path"),
        ("", "empty"),
    ],
)
def test_endpoint_rejected_with_reason_and_example(value: str, says: str) -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint(value)
    message = str(info.value)
    assert says in message
    assert "--endpoint" in message and "e.g." in message
    assert "\n" not in message  # one line for the CLI


def test_endpoint_error_is_a_reconciler_error_so_the_cli_exits_1() -> None:
    assert issubclass(EndpointError, ReconcilerError)


def test_loopback_detection() -> None:
    assert Endpoint("127.0.0.1", 1).is_loopback
    assert Endpoint("127.1.2.3", 1).is_loopback
    assert Endpoint("::1", 1).is_loopback
    assert Endpoint("localhost", 1).is_loopback
    assert Endpoint("LOCALHOST", 1).is_loopback
    assert not Endpoint("10.0.0.1", 1).is_loopback
    assert not Endpoint("rds.aliyuncs.com", 443).is_loopback
