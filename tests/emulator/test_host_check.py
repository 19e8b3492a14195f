"""Only loopback Host names reach the admin API (a web page cannot drive it through DNS
rebinding), and no cross-site browser request does; signed API calls accept loopback names
and the cloud's own endpoint names (a hosts-file entry pointing them at the emulator)."""

from __future__ import annotations

import pytest

from reconciler.emulator.server import Emulator
from tests.emulator import raw_http as rh
from tests.emulator import wire_client as wc
from tests.emulator.test_admin_input import _admin


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.1:8080", "localhost", "LOCALHOST:1", "localhost.", "[::1]", "[::1]:9"],
)
def test_admin_answers_loopback_host_names(emulator: Emulator, host: str) -> None:
    answer = _admin(emulator, "GET", "calls", host=host)
    assert answer.status == 200, answer.body


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:80",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "10.0.0.1",
        "[::2]:80",
        "",
        "127.0.0.1@evil.example",
    ],
)
def test_admin_refuses_other_host_names(emulator: Emulator, host: str) -> None:
    clock_before = _admin(emulator, "GET", "clock").json()["offset_seconds"]
    answer = _admin(emulator, "POST", "clock", b'{"advance_seconds": 60}', host=host)
    doc = rh.assert_json_error(answer, 403, "Forbidden.NonLoopbackHost")
    assert "loopback" in doc["Message"]
    assert _admin(emulator, "GET", "clock").json()["offset_seconds"] == clock_before


def test_admin_refuses_a_missing_host(emulator: Emulator) -> None:
    data = b"GET /_emulator/calls HTTP/1.1\r\n\r\n"
    rh.assert_json_error(rh.exchange(emulator.endpoint, data), 403, "Forbidden.NonLoopbackHost")


def test_admin_refuses_two_host_headers(emulator: Emulator) -> None:
    answer = _admin(emulator, "GET", "calls", headers=[("Host", "evil.example")])
    rh.assert_json_error(answer, 403, "Forbidden.NonLoopbackHost")


@pytest.mark.parametrize(
    "headers",
    [[("Origin", "https://evil.example")], [("Sec-Fetch-Site", "cross-site")]],
)
def test_admin_refuses_cross_site_browser_requests(
    emulator: Emulator, headers: list[tuple[str, str]]
) -> None:
    answer = _admin(emulator, "POST", "clock", b'{"advance_seconds": 60}', headers=headers)
    rh.assert_json_error(answer, 403, "Forbidden.CrossSite")


def test_admin_accepts_a_loopback_origin(emulator: Emulator) -> None:
    answer = _admin(emulator, "GET", "calls", headers=[("Origin", "http://localhost:3000")])
    assert answer.status == 200, answer.body


@pytest.mark.parametrize("host_name", ["127.0.0.1", "localhost", "rds.aliyuncs.com"])
def test_signed_calls_accept_loopback_and_cloud_host_names(
    emulator: Emulator, host_name: str
) -> None:
    """Real endpoint names work too (a hosts-file entry pointing them at the emulator)."""
    host = f"{host_name}:{emulator.port}"
    headers = wc.sign_v3("POST", host, "ListKeys", wc.VERSIONS["kms"], {})
    conn = rh.open_socket(emulator.endpoint)
    with conn:
        lines = [f"{k}: {v}" for k, v in headers.items()]
        conn.sendall(("POST / HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode())
        answer = rh.read_answer(conn)
    assert answer.status == 200, answer.body


def test_signed_calls_refuse_other_host_names(emulator: Emulator) -> None:
    headers = wc.sign_v3("POST", "evil.example", "ListKeys", wc.VERSIONS["kms"], {})
    with rh.open_socket(emulator.endpoint) as conn:
        lines = [f"{k}: {v}" for k, v in headers.items()]
        conn.sendall(("POST / HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode())
        answer = rh.read_answer(conn)
    rh.assert_json_error(answer, 403, "Forbidden.NonLoopbackHost")
    assert emulator.state.calls.snapshot()["total"] == 0
