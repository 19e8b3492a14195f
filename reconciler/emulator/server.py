"""HTTP front of the emulator: a threading HTTP/1.1 server on loopback.

Every accepted socket sets TCP_NODELAY and every answer goes out in ONE write: a handler that
writes headers and body separately stalls each keep-alive answer ~40 ms (Nagle + delayed ACK).

Request headers are parsed by `http_input.read_headers` rather than `http.client.parse_headers`
(the email package: about half the emulator's CPU per answer), with the same limits (100
headers, 64 KiB a line, 431 past them); the Connection/Expect handling is
`BaseHTTPRequestHandler`'s.

Bad input never gets a traceback, an HTML page or a dropped connection: every refusal is the
standard JSON error `{RequestId, HostId, Code, Message, Recommend}` with a real status (the
base class's own refusals too, through `send_error`):

- 400 `InvalidContentLength`: Content-Length not a plain decimal, or conflicting values, or
  together with Transfer-Encoding; 411 `MissingContentLength`: any Transfer-Encoding (chunked
  bodies are not supported); 413 `RequestEntityTooLarge`: a declared length past
  MAX_BODY_BYTES, refused before reading a byte of it (and before any `100 Continue`);
  400 `IncompleteBody`: the client ended its body early. After such a refusal the connection
  closes, reading (a little of) what the client still sends so that it can read the answer.
- 431/414/400/501/505 from the request line and header limits, in the same JSON shape.
- 403 `Forbidden.NonLoopbackHost`: the admin API answers only a Host that names loopback
  (127.0.0.0/8, localhost, [::1], any port): a web page cannot reach it through DNS
  rebinding; 403 `Forbidden.CrossSite`: nor through a cross-site browser request (an Origin
  that is not loopback, or Sec-Fetch-Site cross-site). Signed API calls accept a loopback
  Host and the cloud's own endpoint names (`*.aliyuncs.com`, for a hosts-file entry that
  points them here); other names are refused the same way.
- No answer, or a broken one, only for the admin fault "drop the answer" (`POST
  /_emulator/faults` `{"drop_answer": "drop" | "truncate" | "garble" | "empty"}`): the action
  has committed; the connection is closed without a byte (as a timeout or a reset after the
  cloud committed would leave it), or after half the answer, or a 200 carries a body that is
  not JSON, or `{}`.
- 500 `InternalError`: any unexpected exception while answering, logged as ONE line on the
  `reconciler.emulator.server` logger (tests fail on it: it is a bug). A client that goes
  away mid-request (reset, broken pipe) is not an error: at most a debug line; nor is a call
  still under way when the emulator stops: its connection closes with no answer.

In-process use (tests, `reconciler --emulator`):

    with Emulator(state_path=":memory:") as emu:   # or emu.start() ... emu.stop()
        emu.base_url   # "http://127.0.0.1:PORT"
        emu.endpoint   # "127.0.0.1:PORT", what an SDK Config(endpoint=...) takes
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from reconciler.emulator.admin import PREFIX, admin_error, handle_admin
from reconciler.emulator.auth import WireRequest
from reconciler.emulator.dispatch import Answer, dispatch
from reconciler.emulator.errors import EmulatorSetupError
from reconciler.emulator.http_input import (
    HeaderError,
    Refusal,
    body_length,
    check_host,
    http_version,
    read_headers,
)
from reconciler.emulator.runtime import AnswerDropped, EmulatorState, EmulatorStopping, Settings
from reconciler.emulator.seeds import apply_seed
from reconciler.emulator.services import load_services
from reconciler.emulator.store import Store

_FORM = "application/x-www-form-urlencoded"
_LOG = logging.getLogger(__name__)
_DRAIN_BYTES, _DRAIN_SECONDS = 1 << 20, 1.0
_INTERNAL_MESSAGE = "The request processing has failed due to some unknown error."
_REASONS = {status.value: status.phrase for status in HTTPStatus}


def _reason(status: int) -> str:
    return _REASONS.get(status, "Error")


def _code_of(status: int) -> str:
    """ "Request Header Fields Too Large" -> "RequestHeaderFieldsTooLarge"."""
    return re.sub(r"[^A-Za-z]", "", _reason(status).title()) or "BadRequest"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    body_length = 0
    drain_before_close = False

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
            version = http_version(words[-1])
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
            self.headers = read_headers(self.rfile)  # type: ignore[assignment]
        except HeaderError as error:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, error.detail)
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        try:
            self.body_length = body_length(self.headers)  # type: ignore[arg-type]
        except Refusal as refusal:
            self.send_error(refusal.status, refusal.message, code=refusal.code)
            return False
        expect = (self.headers.get("Expect") or "").lower()
        if (
            expect == "100-continue"
            and self.protocol_version >= "HTTP/1.1"
            and self.request_version >= "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True

    def send_error(
        self, status: int, message: str | None = None, explain: str | None = None, *, code: str = ""
    ) -> None:
        """Every refusal of the base class and of the framing checks, as the standard JSON
        error; the connection then closes (the rest of the request is never read)."""
        self.close_connection = True
        self.drain_before_close = True
        text = explain or message or _reason(status)
        self._write(admin_error(int(status), code or _code_of(int(status)), text))

    def _serve(self) -> None:
        """Answer one parsed request; never raises except when the client went away."""
        try:
            answer = self._answer()
        except AnswerDropped as dropped:  # an admin fault: committed, answer lost
            self._lose(dropped)
            return
        except EmulatorStopping:  # stopped under the call: no answer, as a server going down
            self.close_connection = True
            return
        except Refusal as refusal:
            self.close_connection = self.drain_before_close = True
            answer = admin_error(refusal.status, refusal.code, refusal.message)
        except (ConnectionError, TimeoutError):
            raise  # the client went away: `_Server.handle_error` stays quiet
        except Exception as error:  # a bug: JSON for the client, one line for the log
            if self.server.state.stopping.is_set():  # an admin call the stop cut short
                self.close_connection = True
                return
            path = self.path.partition("?")[0]  # a V1 query carries the signature
            _LOG.error(
                "internal error answering %s %s: %s: %s",
                self.command,
                path[:200],
                type(error).__name__,
                error,
            )
            answer = admin_error(500, "InternalError", _INTERNAL_MESSAGE)
        self._write(answer)

    def _lose(self, dropped: AnswerDropped) -> None:
        """Send what the drop fault's mode says instead of the answer, then close."""
        time.sleep(dropped.delay_s)
        self.close_connection = True
        status, headers, body = dropped.answer
        if dropped.mode == "garble":
            self._write((200, headers, b'{"RequestId": "'))
        elif dropped.mode == "empty":
            self._write((200, headers, b"{}"))
        elif dropped.mode == "truncate":
            lines = [f"HTTP/1.1 {status} {_reason(status)}", f"Content-Length: {len(body)}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.wfile.write(head + body[: len(body) // 2])

    def _answer(self) -> Answer:
        try:
            url = urlsplit(self.path)
        except ValueError:
            raise Refusal(400, "BadRequest", "the request target is not a valid URL") from None
        is_admin = url.path.startswith(PREFIX)
        check_host(self.headers, admin=is_admin)  # type: ignore[arg-type]
        body = self._read_body()
        if is_admin:
            return handle_admin(self.server.state, self.command, url.path, body, url.query)
        return dispatch(self.server.state, self._wire_request(url.path, url.query, body))

    def _read_body(self) -> bytes:
        length = self.body_length
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise Refusal(
                400, "IncompleteBody", f"the body ended after {len(body)} of {length} bytes"
            )
        return body

    def finish(self) -> None:
        """After a refusal with part of the request unread, read what the client still sends
        (bounded) before closing: closing with unread data resets the connection, and the
        client could lose the answer."""
        super().finish()
        if not self.drain_before_close:
            return
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.2)
            deadline, drained = time.monotonic() + _DRAIN_SECONDS, 0
            while drained < _DRAIN_BYTES and time.monotonic() < deadline:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass

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

    def __init__(
        self, address: tuple[Any, ...], state: EmulatorState, family: int = socket.AF_INET
    ) -> None:
        self.state = state
        self.address_family = family  # AF_INET6 for ::1
        super().__init__(address, _Handler)  # type: ignore[arg-type]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is normal; anything else is one line, no traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            _LOG.debug("connection from %s ended: %s", client_address, error)
            return
        _LOG.error("error on a connection: %s: %s", type(error).__name__, error)


def _loopback_address(host: str) -> tuple[int, str]:
    """(address family, address) to bind for `host`; every address it names must be loopback
    (IPv4 preferred when a name has both). EmulatorSetupError otherwise."""
    refused = EmulatorSetupError(
        f"the emulator binds loopback only; {host!r} is not a loopback address"
    )
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise refused from None
    found = [
        (family, str(sockaddr[0]))
        for family, _, _, _, sockaddr in infos
        if family in (socket.AF_INET, socket.AF_INET6)
    ]
    try:
        loopback = bool(found) and all(
            ipaddress.ip_address(address.partition("%")[0]).is_loopback for _, address in found
        )
    except ValueError:
        loopback = False
    if not loopback:
        raise refused
    return min(found, key=lambda item: item[0] != socket.AF_INET)


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
        host = host.removeprefix("[").removesuffix("]")  # "[::1]" as in a URL is "::1"
        self._family, self._address = _loopback_address(host)
        load_services()
        self.host, self.port = host, port
        self.store = Store(state_path)
        try:
            self.state = EmulatorState(self.store, settings or Settings())
            if seed is not None:
                # The state, not only the store: seeded ARNs carry the server's --account-id.
                apply_seed(self.state, seed)
        except BaseException:
            self.store.close()
            raise
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.endpoint}"

    def start(self) -> str:
        """Bind (port 0 = a free port), serve in a daemon thread, return the base URL.
        EmulatorSetupError when the port cannot be bound (in use, not allowed)."""
        try:
            self._server = _Server((self._address, self.port), self.state, self._family)
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            raise EmulatorSetupError(f"cannot listen on {self.endpoint}: {reason}") from None
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
        self.state.stopping.set()  # a call still under way is dropped quietly (EmulatorStopping)
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
