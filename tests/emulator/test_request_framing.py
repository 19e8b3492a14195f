"""Malformed HTTP framing gets the standard JSON error with a real status, never a bare HTML
page, a traceback or a dropped connection: Content-Length (non-numeric, negative, conflicting),
bodies past the limit (refused by the declared length, before reading), chunked bodies, header
lines too long or too many, bad request lines, unknown methods, and unexpected exceptions."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.emulator import admin as admin_module
from reconciler.emulator import server as server_module
from reconciler.emulator.http_input import MAX_BODY_BYTES
from reconciler.emulator.server import Emulator
from tests.emulator import raw_http as rh
from tests.emulator import wire_client as wc

KMS = "2016-01-20"


def _post(emulator: Emulator, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> Any:
    return rh.exchange(
        emulator.endpoint, rh.request_bytes("POST", path, emulator.endpoint, headers, body)
    )


@pytest.mark.parametrize(
    "lengths",
    [["abc"], ["-1"], ["+5"], ["5", "7"], ["5, 7"], ["0x10"], ["1" * 40], [""]],
    ids=["word", "negative", "plus", "two-headers", "list", "hex", "huge-digits", "empty"],
)
@pytest.mark.parametrize("path", ["/", "/_emulator/clock"])
def test_malformed_content_length_is_400(emulator: Emulator, lengths: list[str], path: str) -> None:
    headers = [("Content-Length", value) for value in lengths]
    answer = _post(emulator, path, headers, b"hello")
    rh.assert_json_error(answer, 400, "InvalidContentLength")
    assert answer.headers.get("connection") == "close"


def test_repeated_equal_content_lengths_are_one(emulator: Emulator) -> None:
    body = b"{}"
    headers = [("Content-Length", "2"), ("Content-Length", "2")]
    answer = _post(emulator, "/_emulator/calls", [*headers], body)
    assert answer.status == 404  # POST calls does not exist: framing was accepted
    answer = rh.exchange(
        emulator.endpoint,
        rh.request_bytes("GET", "/_emulator/clock", emulator.endpoint, headers, body),
    )
    assert answer.status == 200, answer.body


def test_huge_declared_body_is_refused_before_reading(emulator: Emulator) -> None:
    """512 MiB declared, nothing sent: the answer comes at once (nothing is buffered)."""
    declared = 512 * 1024 * 1024
    started = time.perf_counter()
    with rh.open_socket(emulator.endpoint) as sock:
        sock.sendall(
            rh.request_bytes("POST", "/", emulator.endpoint, [("Content-Length", str(declared))])
        )
        answer = rh.read_answer(sock)
    assert time.perf_counter() - started < 2
    doc = rh.assert_json_error(answer, 413, "RequestEntityTooLarge")
    assert str(MAX_BODY_BYTES) in doc["Message"]


def test_body_just_under_the_limit_is_read(emulator: Emulator) -> None:
    body = b'{"pad": "' + b"x" * (MAX_BODY_BYTES - 20) + b'"}'
    assert len(body) <= MAX_BODY_BYTES
    answer = _post(emulator, "/_emulator/latency", [("Content-Length", str(len(body)))], body)
    rh.assert_json_error(answer, 400)  # read whole, then refused for lacking "ms"
    assert "ms" in answer.json()["Message"]


def test_huge_body_while_the_client_keeps_sending(emulator: Emulator) -> None:
    """The refusal is readable even though the client is still writing its body."""
    declared = 64 * 1024 * 1024
    with rh.open_socket(emulator.endpoint) as sock:
        sock.sendall(
            rh.request_bytes("POST", "/", emulator.endpoint, [("Content-Length", str(declared))])
        )
        with contextlib.suppress(OSError):  # the server may already have closed its side
            sock.sendall(b"x" * (256 * 1024))
        answer = rh.read_answer(sock)
    rh.assert_json_error(answer, 413, "RequestEntityTooLarge")


@pytest.mark.parametrize("encoding", ["chunked", "gzip, chunked", "identity"])
def test_transfer_encoding_is_refused_clearly(emulator: Emulator, encoding: str) -> None:
    answer = _post(emulator, "/", [("Transfer-Encoding", encoding)], b"5\r\nhello\r\n0\r\n\r\n")
    doc = rh.assert_json_error(answer, 411, "MissingContentLength")
    assert "Content-Length" in doc["Message"]
    assert answer.headers.get("connection") == "close"


def test_transfer_encoding_with_content_length_is_400(emulator: Emulator) -> None:
    answer = _post(
        emulator, "/", [("Transfer-Encoding", "chunked"), ("Content-Length", "5")], b"hello"
    )
    rh.assert_json_error(answer, 400, "InvalidContentLength")


def test_expect_continue_with_huge_body_gets_no_continue(emulator: Emulator) -> None:
    with rh.open_socket(emulator.endpoint) as sock:
        sock.sendall(
            rh.request_bytes(
                "POST",
                "/",
                emulator.endpoint,
                [("Content-Length", str(1 << 30)), ("Expect", "100-continue")],
            )
        )
        answer = rh.read_answer(sock)
    rh.assert_json_error(answer, 413, "RequestEntityTooLarge")


def test_short_body_then_half_close_is_400(
    emulator: Emulator, capfd: pytest.CaptureFixture
) -> None:
    with rh.open_socket(emulator.endpoint) as sock:
        sock.sendall(rh.request_bytes("POST", "/", emulator.endpoint, [("Content-Length", "100")]))
        sock.sendall(b"only ten b")
        sock.shutdown(socket.SHUT_WR)
        answer = rh.read_answer(sock)
    doc = rh.assert_json_error(answer, 400, "IncompleteBody")
    assert "10 of 100" in doc["Message"]  # nothing dispatched on a truncated body
    assert wc.call(emulator.endpoint, "kms", "ListKeys")[0] == 200
    assert emulator.state.calls.snapshot()["total"] == 1
    assert "Traceback" not in capfd.readouterr().err


def test_header_line_too_long_is_json(emulator: Emulator) -> None:
    answer = _post(emulator, "/", [("X-Big", "a" * 70000)])
    rh.assert_json_error(answer, 431, "RequestHeaderFieldsTooLarge")


def test_too_many_headers_is_json(emulator: Emulator) -> None:
    answer = _post(emulator, "/", [(f"X-H{i}", "v") for i in range(150)])
    rh.assert_json_error(answer, 431, "RequestHeaderFieldsTooLarge")


def test_request_line_too_long_is_json(emulator: Emulator) -> None:
    answer = rh.exchange(emulator.endpoint, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")
    rh.assert_json_error(answer, 414)


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"GET / HTTP/9.x\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"POST\r\n\r\n", 400),
        (b"BREW / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 501),
    ],
    ids=["bad-version", "http2", "one-word", "unknown-method"],
)
def test_bad_request_lines_are_json(emulator: Emulator, line: bytes, status: int) -> None:
    rh.assert_json_error(rh.exchange(emulator.endpoint, line), status)


@pytest.fixture
def broken_admin_route() -> Iterator[None]:
    def boom(state: Any, body: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("an emulator bug")

    admin_module.register_admin_route("POST", "boom", boom)
    yield
    admin_module._ROUTES.pop(("POST", "boom"), None)


def test_unexpected_exception_in_admin_route_is_500_json(
    emulator: Emulator,
    broken_admin_route: None,
    expect_internal_errors: list[str],
    capfd: pytest.CaptureFixture,
) -> None:
    answer = _post(emulator, "/_emulator/boom", [("Content-Length", "2")], b"{}")
    rh.assert_json_error(answer, 500, "InternalError")
    assert any("RuntimeError" in line for line in expect_internal_errors)
    assert "Traceback" not in capfd.readouterr().err
    assert wc.call(emulator.endpoint, "kms", "ListKeys")[0] == 200  # still serving


def test_unexpected_exception_in_wire_path_is_500_json(
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    expect_internal_errors: list[str],
    capfd: pytest.CaptureFixture,
) -> None:
    def broken(state: Any, request: Any) -> Any:
        raise KeyError("an emulator bug")

    monkeypatch.setattr(server_module, "dispatch", broken)
    status, body = wc.call(emulator.endpoint, "kms", "ListKeys")
    assert (status, body["Code"]) == (500, "InternalError")
    assert set(body) >= rh.ERROR_KEYS
    assert expect_internal_errors
    assert "Traceback" not in capfd.readouterr().err


def test_keep_alive_survives_a_refused_request(emulator: Emulator) -> None:
    """A 4xx from the handler (not a framing error) keeps the connection open."""
    with rh.open_socket(emulator.endpoint) as sock:
        for _ in range(2):
            sock.sendall(
                rh.request_bytes(
                    "POST",
                    "/_emulator/latency",
                    emulator.endpoint,
                    [("Content-Length", "2")],
                    b"{}",
                )
            )
            answer = rh.read_answer(sock)
            rh.assert_json_error(answer, 400)
            assert answer.headers.get("connection") != "close"
