"""HTTP front of the emulator: a threading HTTP/1.1 server on loopback.

Every accepted socket sets TCP_NODELAY and every answer goes out in ONE write: a handler that
writes headers and body separately stalls each keep-alive answer ~40 ms (Nagle + delayed ACK).

In-process use (tests, `reconciler --emulator`):

    with Emulator(state_path=":memory:") as emu:   # or emu.start() ... emu.stop()
        emu.base_url   # "http://127.0.0.1:PORT"
        emu.endpoint   # "127.0.0.1:PORT", what an SDK Config(endpoint=...) takes
"""

from __future__ import annotations

import ipaddress
import socket
import threading
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


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: only the CLI prints, and a request line could carry a signature."""

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
        headers: dict[str, str] = {}
        for name in self.headers:
            lower = name.lower()
            if lower not in headers:
                headers[lower] = ",".join(sorted(v.strip() for v in self.headers.get_all(name)))
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
