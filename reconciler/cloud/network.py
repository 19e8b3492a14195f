"""Network failures: what went wrong (from the exception chain the SDK raises), and a message
that names the endpoint, the cause and the fix.

The SDK wraps a failed request as UnretryableException(inner_exception=RetryError(str)), and
the string holds the request URL (with V1 signing, its `Signature=` and `SecurityToken=`), so
we never show it: the cause is read from the exception TYPES along the chain (RetryError's
__context__ is requests' exception, whose `.args[0]` / `.reason` lead to urllib3's and then to
the socket error).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from reconciler.cloud.endpoint import Endpoint
from reconciler.errors import NetworkError


@dataclass(frozen=True)
class CallSite:
    """Where a call goes, for messages: the endpoint, whether the user chose it (--endpoint)
    or it is the cloud's own, and the client's timeouts in seconds."""

    endpoint: Endpoint | None = None
    custom: bool = True
    connect_timeout: float | None = None
    read_timeout: float | None = None


class Cause(StrEnum):
    REFUSED = "connection-refused"
    DNS = "dns-failure"
    BAD_ADDRESS = "bad-address"
    CONNECT_TIMEOUT = "connect-timeout"
    READ_TIMEOUT = "read-timeout"
    RESET = "connection-reset"
    BAD_ANSWER = "bad-answer"
    OTHER = "network"


CODES = {
    Cause.REFUSED: "ConnectionRefused",
    Cause.DNS: "HostNotFound",
    Cause.BAD_ADDRESS: "BadAddress",
    Cause.CONNECT_TIMEOUT: "ConnectTimeout",
    Cause.READ_TIMEOUT: "ReadTimeout",
    Cause.RESET: "ConnectionReset",
    Cause.BAD_ANSWER: "BadAnswer",
    Cause.OTHER: "NetworkError",
}
TIMEOUTS = frozenset({Cause.CONNECT_TIMEOUT, Cause.READ_TIMEOUT})
# The request may have reached the server: a write's outcome is then unknown.
MAYBE_SENT = frozenset({Cause.READ_TIMEOUT, Cause.RESET, Cause.BAD_ANSWER, Cause.OTHER})

_RESET_NAMES = {
    "ConnectionResetError",
    "ConnectionAbortedError",
    "BrokenPipeError",
    "RemoteDisconnected",
    "ProtocolError",
    "ChunkedEncodingError",
    "IncompleteRead",
}
_BAD_ADDRESS_NAMES = {"InvalidURL", "LocationParseError", "LocationValueError", "InvalidSchema"}
_NETWORK_NAMES = {"ConnectionError", "RetryError", "TimeoutError", "OSError", "RequestException"}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every exception it wraps, each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [
            getattr(current, "inner_exception", None),
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *(a for a in getattr(current, "args", ()) if isinstance(a, BaseException)),
        ]
        todo.extend(e for e in linked if isinstance(e, BaseException))


def network_cause(exc: BaseException) -> Cause | None:
    """Which network failure `exc` is, or None when it is not a network failure."""
    chain = list(_chain(exc))
    exact = {type(e).__name__ for e in chain}
    names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return Cause.REFUSED
    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolutionError" in names:
        return Cause.DNS
    if exact & {"ReadTimeoutError", "ReadTimeout"}:
        return Cause.READ_TIMEOUT
    # urllib3's NewConnectionError subclasses ConnectTimeoutError: match the exact class.
    if exact & {"ConnectTimeoutError", "ConnectTimeout"}:
        return Cause.CONNECT_TIMEOUT
    if names & _RESET_NAMES:
        return Cause.RESET
    if names & _BAD_ADDRESS_NAMES:
        return Cause.BAD_ADDRESS
    if "JSONDecodeError" in names:
        return Cause.BAD_ANSWER
    if names & _NETWORK_NAMES:
        return Cause.OTHER
    return None


def _fix(cause: Cause, endpoint: Endpoint | None, custom: bool) -> str:
    where = "--endpoint (or RECONCILER_ENDPOINT)"
    if cause is Cause.REFUSED:
        if custom:
            return (
                f"check the port in {where} and that the emulator or service is running "
                "there (`reconciler emulator serve` prints its address), or use --emulator"
            )
        return "check network access to Alibaba Cloud from here (firewall, HTTPS_PROXY)"
    if cause is Cause.DNS:
        if custom:
            return f"check the host name in {where}"
        return (
            "check DNS and network access to Alibaba Cloud from here, and the region name "
            "(the host name is made from it)"
        )
    if cause is Cause.BAD_ADDRESS:
        return f"check {where}: write HOST:PORT"
    if cause is Cause.CONNECT_TIMEOUT:
        if custom:
            return f"check the host and port in {where} and that no firewall drops the traffic"
        return "check network access to Alibaba Cloud from here (firewall, HTTPS_PROXY)"
    if cause is Cause.BAD_ANSWER:
        if custom:
            return (
                f"check that {where} points at the emulator or an Alibaba Cloud endpoint, "
                "not another service or a proxy"
            )
        return "a proxy or firewall may be answering for it (HTTPS_PROXY); try again later"
    return "try again later"


def describe(
    cause: Cause,
    endpoint: Endpoint | None,
    *,
    custom: bool,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    detail: str = "",
) -> str:
    """One line: what happened at which endpoint, then the fix."""
    ep = str(endpoint) if endpoint is not None else "the endpoint"
    if cause is Cause.REFUSED:
        what = f"cannot connect to {ep}: connection refused (nothing is listening there)"
    elif cause is Cause.DNS:
        host = endpoint.host if endpoint is not None else "the host"
        what = f"cannot connect to {ep}: the host name {host} does not resolve (DNS lookup failed)"
    elif cause is Cause.BAD_ADDRESS:
        what = f"cannot connect to {ep}: it is not a usable address"
    elif cause is Cause.CONNECT_TIMEOUT:
        after = f" after {_seconds(connect_timeout)}" if connect_timeout else ""
        what = f"cannot connect to {ep}: timed out connecting{after} (no answer to the connection)"
    elif cause is Cause.READ_TIMEOUT:
        within = f" within {_seconds(read_timeout)}" if read_timeout else " in time"
        what = f"{ep} took the call but sent no answer{within} (read timeout): it is slow or stuck"
    elif cause is Cause.RESET:
        what = f"the connection to {ep} was closed before an answer came (connection reset)"
    elif cause is Cause.BAD_ANSWER:
        what = f"{ep} answered with something that is not an Alibaba Cloud API response (not JSON)"
    else:
        what = f"network error talking to {ep}" + (f" ({detail})" if detail else "")
    return f"{what}; {_fix(cause, endpoint, custom)}"


def _seconds(value: float | None) -> str:
    return f"{value:g} s"


def network_error(
    action: str,
    cause: Cause,
    site: CallSite | None = None,
    *,
    write: bool = False,
    idempotent: bool = False,
    detail: str = "",
    already_known: bool = False,
) -> NetworkError:
    """The NetworkError for a failed call (its message is complete; see errors.NetworkError)."""
    site = site or CallSite()
    endpoint = site.endpoint
    message = describe(
        cause,
        endpoint,
        custom=site.custom,
        connect_timeout=site.connect_timeout,
        read_timeout=site.read_timeout,
        detail=detail,
    )
    outcome_unknown = write and cause in MAYBE_SENT
    if outcome_unknown:
        repeated = "" if idempotent else ", so it was not repeated"
        message += (
            f". The call may have taken effect{repeated}: plan again to see the current state"
        )
    # On this machine, nothing listening or another kind of server listening will not change
    # within one run; on the cloud's side either can be a blip.
    fail_fast = cause in (Cause.DNS, Cause.BAD_ADDRESS) or (
        cause in (Cause.REFUSED, Cause.BAD_ANSWER) and endpoint is not None and endpoint.is_loopback
    )
    return NetworkError(
        action,
        CODES[cause],
        message,
        endpoint=str(endpoint) if endpoint is not None else "",
        cause=cause.value,
        outcome_unknown=outcome_unknown,
        fail_fast=fail_fast,
        already_known=already_known,
    )


def with_attempts(error: NetworkError, attempts: int, seconds: float) -> NetworkError:
    """The same error, its message saying how often and how long the call was tried."""
    if attempts <= 1 or error.already_known:
        return error
    return NetworkError(
        error.action,
        error.code,
        f"{error.message} (tried {attempts} times in {seconds:.1f} s)",
        endpoint=error.endpoint,
        cause=error.cause,
        outcome_unknown=error.outcome_unknown,
        fail_fast=error.fail_fast,
    )


class Reachability:
    """What this run has learnt about its endpoints, shared by every worker thread.

    - Once a call has shown that retrying cannot help (NetworkError.fail_fast: the host does
      not resolve, nothing or not the API listens on this machine), every later call to that
      endpoint fails at once with the same cause, instead of each one trying again.
    - A custom endpoint's host name is resolved once, before its first call, rather than by
      each of the parallel first calls: one lookup, and a resolver flooded with parallel
      lookups of a name that does not exist may answer some only after its own 5 s timeout.
      Not behind an HTTP proxy (the proxy resolves the name, so a local lookup proves nothing).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dead: dict[str, Cause] = {}
        self._looked_up: set[str] = set()

    def check(self, action: str, site: CallSite, *, write: bool = False) -> None:
        """Raise the endpoint's NetworkError now when calling it cannot succeed."""
        endpoint = site.endpoint
        if endpoint is None:
            return
        key = str(endpoint)
        with self._lock:
            if key not in self._dead and site.custom and key not in self._looked_up:
                self._looked_up.add(key)
                if not _http_proxy() and not _resolves(endpoint):
                    self._dead[key] = Cause.DNS
            cause = self._dead.get(key)
        if cause is not None:
            raise network_error(action, cause, site, write=write, already_known=True)

    def record(self, error: NetworkError) -> None:
        """Remember an endpoint that retrying cannot help."""
        if error.fail_fast and error.endpoint:
            with self._lock:
                self._dead.setdefault(error.endpoint, Cause(error.cause))


def _http_proxy() -> bool:
    return bool(os.environ.get("HTTP_PROXY") or os.environ.get("http_proxy"))


def _resolves(endpoint: Endpoint) -> bool:
    """False only when the name lookup says the host does not exist; any other trouble is
    left to the call itself."""
    try:
        socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return error.errno not in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None))
    except (OSError, UnicodeError):
        return True
    return True
