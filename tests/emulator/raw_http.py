"""Raw-socket HTTP for tests that send what no client library would (malformed framing, huge
declared bodies, resets): send bytes, parse the one answer, check the standard error shape."""

from __future__ import annotations

import http.client
import json
import socket
import struct
from dataclasses import dataclass
from typing import Any

ERROR_KEYS = {"RequestId", "HostId", "Code", "Message", "Recommend"}


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def open_socket(endpoint: str, timeout: float = 10) -> socket.socket:
    host, _, port = endpoint.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def read_answer(sock: socket.socket, method: str = "GET") -> RawAnswer:
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    body = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return RawAnswer(response.status, headers, body)


def exchange(endpoint: str, data: bytes) -> RawAnswer:
    """Send `data` as is on a new connection and read one answer."""
    with open_socket(endpoint) as sock:
        sock.sendall(data)
        return read_answer(sock)


def request_bytes(
    method: str, path: str, host: str, headers: list[tuple[str, str]], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN (SO_LINGER 0): the server sees ECONNRESET."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def assert_json_error(answer: RawAnswer, status: int, code: str | None = None) -> dict[str, Any]:
    """The emulator's standard error: JSON {RequestId, HostId, Code, Message, Recommend}."""
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    doc = answer.json()
    assert set(doc) >= ERROR_KEYS, doc
    assert doc["Message"] and doc["RequestId"] == answer.headers.get("x-acs-request-id")
    if code is not None:
        assert doc["Code"] == code, doc
    return doc
