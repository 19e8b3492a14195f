"""HTTP front of the emulator: a threading HTTP/1.1 server on loopback.

Every accepted socket sets TCP_NODELAY and every answer goes out in ONE write: a handler that
writes headers and body separately stalls each keep-alive answer ~40 ms (Nagle + delayed ACK).

Request headers are parsed here rather than by `http.client.parse_headers` (the email package:
about half the emulator's CPU per answer), with the same limits (100 headers, 64 KiB a line,
431 past them) and the same Connection/Expect handling as `BaseHTTPRequestHandler`.

In-process use (tests, `reconciler --emulator`):

    with Emulator(state_path=":memory:") as emu:   # or emu.start() ... emu.stop()
        emu.base_url   # "http://127.0.0.1:PORT"
        emu.endpoint   # "127.0.0.1:PORT", what an SDK Config(endpoint=...) takes
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from reconciler.emulator.admin import PREFIX, handle_admin
from reconciler.emulator.auth import WireRequest
from reconciler.emulator.dispatch import Answer, dispatch
from reconciler.emulator.runtime import EmulatorState, Settings
from reconciler.emulator.seeds import apply_seed
from reconciler.emulator.services import load_services
from reconciler.emulator.store import Store

_FORM = "application/x-www-form-urlencoded"
_MAX_LINE = 65536
_MAX_HEADERS = 100
_END_OF_HEADERS = (b"\r\n", b"\n", b"")
_REASONS = {status.value: status.phrase for status in HTTPStatus}


def _reason(status: int) -> str:
    return _REASONS.get(status, "Error")


class _Headers:
    """Request headers: lower-case name -> values in arrival order (what the handler needs)."""

    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {}

    def add(self, name: str, value: str) -> None:
        self.values.setdefault(name.strip().lower(), []).append(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        found = self.values.get(name.lower())
        return found[0] if found else default

    def get_all(self, name: str) -> list[str]:
        return list(self.values.get(name.lower(), []))

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.values

    def joined(self) -> dict[str, str]:
        """Repeated headers joined by "," in sorted order (as the signature check expects)."""
        return {
            name: values[0].strip()
            if len(values) == 1
            else ",".join(sorted(v.strip() for v in values))
            for name, values in self.values.items()
        }


def _http_version(word: str) -> tuple[int, int] | None:
    """(major, minor) of `HTTP/x.y`, or None when malformed (the base class's rules)."""
    if not word.startswith("HTTP/"):
        return None
    numbers = word.split("/", 1)[1].split(".")
    if len(numbers) != 2 or not all(n.isdigit() and len(n) <= 10 for n in numbers):
        return None
    return int(numbers[0]), int(numbers[1])


class _HeaderError(Exception):
    def __init__(self, explain: str, detail: str) -> None:
        super().__init__(detail)
        self.explain = explain
        self.detail = detail


def _read_headers(rfile: Any) -> _Headers:
    """The header block as http.client reads it: continuation lines fold into the previous
    header; a line without a colon is ignored."""
    headers, lines = _Headers(), 0
    name: str | None = None
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise _HeaderError(
                "Line too long", "got more than 65536 bytes when reading header line"
            )
        lines += 1
        if lines > _MAX_HEADERS:
            raise _HeaderError("Too many headers", f"got more than {_MAX_HEADERS} headers")
        if line in _END_OF_HEADERS:
            return headers
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and name is not None:
            values = headers.values[name]
            values[-1] += text
            continue
        found, colon, value = text.partition(":")
        if colon:
            name = found.strip().lower()
            headers.add(name, value.lstrip(" \t"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: only the CLI prints, and a request line could carry a signature."""

    def parse_request(self) -> bool:
        """`BaseHTTPRequestHandler.parse_request` with our header parser (see the module doc):
        the same request-line checks and error answers, the same Connection/Expect rules."""
        self.command = None  # type: ignore[assignment]  # set in case of an error in the line
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = _http_version(words[-1])
            if version is None:
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({words[-1]!r})")
                return False
            if version >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            if version >= (2, 0):
                self.send_error(
                    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                    f"Invalid HTTP version ({words[-1].split('/', 1)[1]})",
                )
                return False
            self.request_version = words[-1]
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({self.requestline!r})")
            return False
        self.command, self.path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if self.command != "GET":
                self.send_error(
                    HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({self.command!r})"
                )
                return False
        if self.path.startswith("//"):  # gh-87389, as the base class
            self.path = "/" + self.path.lstrip("/")
        try:
            self.headers = _read_headers(self.rfile)  # type: ignore[assignment]
        except _HeaderError as error:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, error.explain, error.detail)
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = (self.headers.get("Expect") or "").lower()
        if (
            expect == "100-continue"
            and self.protocol_version >= "HTTP/1.1"
            and self.request_version >= "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith(PREFIX):
            answer = handle_admin(self.server.state, self.command, url.path, body)
        else:
            answer = dispatch(self.server.state, self._wire_request(url.path, url.query, body))
        self._write(answer)

    def _wire_request(self, path: str, query: str, body: bytes) -> WireRequest:
        headers = self.headers.joined()  # type: ignore[attr-defined]
        form: dict[str, str] = {}
        if body and headers.get("content-type", "").split(";")[0].strip().lower() == _FORM:
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return WireRequest(
            method=self.command,
            path=path or "/",
            query=dict(parse_qsl(query, keep_blank_values=True)),
            form=form,
            headers=headers,
            body=body,
        )

    def _write(self, answer: Answer) -> None:
        status, headers, body = answer
        lines = [f"HTTP/1.1 {status} {_reason(status)}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)

    do_GET = do_POST = do_DELETE = do_PUT = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        self.state = state
        super().__init__(address, _Handler)


def _require_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        loopback = False
    if not loopback:
        raise ValueError(f"the emulator binds loopback only; {host!r} is not a loopback address")


class Emulator:
    """One emulator: a store, its runtime state and an HTTP server thread."""

    def __init__(
        self,
        state_path: str = ":memory:",
        host: str = "127.0.0.1",
        port: int = 0,
        settings: Settings | None = None,
        seed: str | None = None,
    ) -> None:
        _require_loopback(host)
        load_services()
        self.host, self.port = host, port
        self.store = Store(state_path)
        self.state = EmulatorState(self.store, settings or Settings())
        if seed is not None:
            # The state, not only the store: seeded ARNs carry the server's --account-id.
            apply_seed(self.state, seed)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.endpoint}"

    def start(self) -> str:
        """Bind (port 0 = a free port), serve in a daemon thread, return the base URL."""
        self._server = _Server((self.host, self.port), self.state)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.store.close()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
