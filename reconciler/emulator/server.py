"""HTTP front of the emulator: a threading HTTP/1.1 server on loopback.

Every accepted socket sets TCP_NODELAY and every answer goes out in ONE write: a handler that
writes headers and body separately stalls each keep-alive answer ~40 ms (Nagle + delayed ACK).

Request headers are parsed here rather than by `http.client.parse_headers` (the email package:
about half the emulator's CPU per answer), with the same limits (100 headers, 64 KiB a line,
431 past them) and the same Connection/Expect handling as `BaseHTTPRequestHandler`.

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
- 500 `InternalError`: any unexpected exception while answering, logged as ONE line on the
  `reconciler.emulator.server` logger (tests fail on it: it is a bug). A client that goes
  away mid-request (reset, broken pipe) is not an error: at most a debug line.

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
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from reconciler.emulator.admin import PREFIX, admin_error, handle_admin
from reconciler.emulator.auth import WireRequest
from reconciler.emulator.dispatch import Answer, dispatch
from reconciler.emulator.errors import EmulatorSetupError
from reconciler.emulator.runtime import EmulatorState, Settings
from reconciler.emulator.seeds import apply_seed
from reconciler.emulator.services import load_services
from reconciler.emulator.store import Store

MAX_BODY_BYTES = 4 * 1024 * 1024  # API and admin bodies are a few KiB
_FORM = "application/x-www-form-urlencoded"
_LOG = logging.getLogger(__name__)
_LENGTH = re.compile(r"[0-9]{1,18}")
_DRAIN_BYTES, _DRAIN_SECONDS = 1 << 20, 1.0
_INTERNAL_MESSAGE = "The request processing has failed due to some unknown error."
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


class _Refusal(Exception):
    """A request refused before it reaches a handler: its status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _body_length(headers: _Headers) -> int:
    """The declared body length, checked before any of the body is read (see the module doc)."""
    if "transfer-encoding" in headers:
        if "content-length" in headers:
            raise _Refusal(
                400, "InvalidContentLength", "Content-Length and Transfer-Encoding together"
            )
        raise _Refusal(
            411,
            "MissingContentLength",
            "Transfer-Encoding is not supported: send the body with a Content-Length",
        )
    parts = [
        part.strip() for value in headers.get_all("content-length") for part in value.split(",")
    ]
    if not parts:
        return 0
    if not all(_LENGTH.fullmatch(part) for part in parts) or len({int(p) for p in parts}) != 1:
        shown = ", ".join(parts)[:60]
        raise _Refusal(400, "InvalidContentLength", f"Content-Length is not valid: {shown!r}")
    length = int(parts[0])
    if length > MAX_BODY_BYTES:
        raise _Refusal(
            413,
            "RequestEntityTooLarge",
            f"the body declares {length} bytes; the emulator takes at most {MAX_BODY_BYTES}",
        )
    return length


def _host_name(value: str) -> str | None:
    """The name in a Host header value, lower case, without port or trailing dot
    ("[::1]:80" -> "::1"); None when it is not a plain host[:port]."""
    text = value.strip().lower()
    if text.startswith("["):
        name, bracket, rest = text[1:].partition("]")
        if not bracket:
            return None
    else:
        name, colon, port = text.partition(":")
        rest = colon + port
    if rest and not (rest[:1] == ":" and rest[1:].isdigit()):
        return None
    return name.removesuffix(".") or None


def _is_loopback_name(name: str | None) -> bool:
    if name is None:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _check_host(headers: _Headers, admin: bool) -> None:
    """Refuse a Host that does not name this loopback server (see the module doc)."""
    hosts = headers.get_all("host")
    name = _host_name(hosts[0]) if len(hosts) == 1 else None
    allowed = _is_loopback_name(name) or (
        not admin
        and name is not None
        and (name == "aliyuncs.com" or name.endswith(".aliyuncs.com"))
    )
    if not allowed:
        shown = ", ".join(hosts)[:80] if hosts else "(none)"
        what = "the admin API answers" if admin else "the emulator answers"
        raise _Refusal(
            403,
            "Forbidden.NonLoopbackHost",
            f"{what} only loopback Host names (127.0.0.1, localhost, [::1]); got Host {shown!r}",
        )
    if admin:
        origin = headers.get("origin")
        site = (headers.get("sec-fetch-site") or "").strip().lower()
        origin_ok = origin is not None and _is_loopback_name(_host_name(_origin_host(origin)))
        if (origin is not None and not origin_ok) or (
            site in ("cross-site", "same-site") and not origin_ok
        ):
            raise _Refusal(
                403,
                "Forbidden.CrossSite",
                "the admin API refuses cross-site browser requests (Origin or Sec-Fetch-Site)",
            )


def _origin_host(url: str) -> str:
    """host[:port] of an Origin header ("null" and garbage give "")."""
    try:
        return urlsplit(url.strip()).netloc.rpartition("@")[2]
    except ValueError:
        return ""


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
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, error.detail)
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        try:
            self.body_length = _body_length(self.headers)  # type: ignore[arg-type]
        except _Refusal as refusal:
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
        except _Refusal as refusal:
            self.close_connection = self.drain_before_close = True
            answer = admin_error(refusal.status, refusal.code, refusal.message)
        except (ConnectionError, TimeoutError):
            raise  # the client went away: `_Server.handle_error` stays quiet
        except Exception as error:  # a bug: JSON for the client, one line for the log
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

    def _answer(self) -> Answer:
        try:
            url = urlsplit(self.path)
        except ValueError:
            raise _Refusal(400, "BadRequest", "the request target is not a valid URL") from None
        is_admin = url.path.startswith(PREFIX)
        _check_host(self.headers, admin=is_admin)  # type: ignore[arg-type]
        body = self._read_body()
        if is_admin:
            return handle_admin(self.server.state, self.command, url.path, body)
        return dispatch(self.server.state, self._wire_request(url.path, url.query, body))

    def _read_body(self) -> bytes:
        length = self.body_length
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise _Refusal(
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
