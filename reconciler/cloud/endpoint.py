"""`--endpoint HOST:PORT`: parsed and checked before any call is made.

The CLI may call `parse_endpoint` as soon as it reads the option (or RECONCILER_ENDPOINT);
CloudClients calls it again, so a bad value never reaches the SDK (which would accept port
99999 and then fail every call as a "connection error").
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from reconciler.errors import EndpointError

EXAMPLE = "e.g. --endpoint 127.0.0.1:8080 or --endpoint [::1]:8080"
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class Endpoint:
    """Where calls go. `host` is a name, an IPv4 address or a bare IPv6 address (no
    brackets); `str()` gives the HOST:PORT form the SDK takes, brackets around IPv6."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        """This machine: a refused connection here means nothing listens, and waiting will not
        change that within one run."""
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def _bad(value: str, why: str) -> EndpointError:
    return EndpointError(f"bad --endpoint {value!r}: {why}; write HOST:PORT, {EXAMPLE}")


def parse_endpoint(value: str) -> Endpoint:
    """Parse `HOST:PORT` (an `http://` prefix and a trailing `/` are tolerated).

    Raises EndpointError, one line naming what is wrong and an example."""
    text = value.strip()
    if not text:
        raise _bad(value, "it is empty")
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme != "http":
            raise _bad(value, f"the endpoint is plain http, {scheme}:// is not supported")
        text = text[len("http://") :]
    text = text.rstrip("/")
    if "/" in text:
        raise _bad(value, "no path is allowed")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise _bad(value, "the IPv6 address has no closing bracket")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _bad(value, f"{host!r} is not an IPv6 address") from None
        if not rest.startswith(":") or rest == ":":
            raise _bad(value, "no port")
        port_text = rest[1:]
    else:
        if text.count(":") > 1:
            raise _bad(value, "put an IPv6 address in brackets")
        host, sep, port_text = text.partition(":")
        if not host:
            raise _bad(value, "no host")
        if not sep or not port_text:
            raise _bad(value, "no port")
        if not all(_LABEL.match(label) for label in host.split(".")):
            raise _bad(value, f"{host!r} is not a valid host name")
    if not re.fullmatch(r"[0-9]{1,10}", port_text):
        raise _bad(value, f"port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise _bad(value, f"port {port} is out of range: use 1 to 65535")
    return Endpoint(host, port)
