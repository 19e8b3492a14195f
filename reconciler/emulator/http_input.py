"""Checks on a request's head before any of its body is read: the header block (parsed here
rather than by `http.client.parse_headers`, the email package: about half the emulator's CPU
per answer, with the same limits: 100 headers, 64 KiB a line), the body's framing
(Content-Length, Transfer-Encoding, MAX_BODY_BYTES) and the Host / Origin rules that keep
web pages away from the emulator (server.py's module doc lists the answers).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

MAX_BODY_BYTES = 4 * 1024 * 1024  # API and admin bodies are a few KiB
_LENGTH = re.compile(r"[0-9]{1,18}")
_MAX_LINE = 65536
_MAX_HEADERS = 100
_END_OF_HEADERS = (b"\r\n", b"\n", b"")


class Headers:
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


@functools.lru_cache(maxsize=16)
def http_version(word: str) -> tuple[int, int] | None:
    """(major, minor) of `HTTP/x.y`, or None when malformed (the base class's rules). A pure
    function of the word, kept for the latest 16 (every request says `HTTP/1.1`)."""
    if not word.startswith("HTTP/"):
        return None
    numbers = word.split("/", 1)[1].split(".")
    if len(numbers) != 2 or not all(n.isdigit() and len(n) <= 10 for n in numbers):
        return None
    return int(numbers[0]), int(numbers[1])


class HeaderError(Exception):
    def __init__(self, explain: str, detail: str) -> None:
        super().__init__(detail)
        self.explain = explain
        self.detail = detail


def read_headers(rfile: Any) -> Headers:
    """The header block as http.client reads it: continuation lines fold into the previous
    header; a line without a colon is ignored. A block already in the reader's buffer, with
    plain CRLF line ends and within the limits, is taken in one read (the usual case: it
    saves a readline and a decode per line); anything else is read line by line."""
    lines = _buffered_lines(rfile)
    return _headers_of(_read_lines(rfile) if lines is None else lines)


def _buffered_lines(rfile: Any) -> list[str] | None:
    """The header lines when the whole block is buffered and reading it line by line would
    give the same lines without reaching a limit; None (nothing consumed) otherwise."""
    peek = getattr(rfile, "peek", None)
    if peek is None:
        return None
    buffered = peek(_MAX_LINE)
    if buffered[:2] == b"\r\n":
        rfile.read(2)
        return []
    end = buffered.find(b"\r\n\r\n")
    if end < 0 or end + 4 > _MAX_LINE:
        return None
    head = buffered[:end]
    breaks = head.count(b"\r\n")
    if head.count(b"\n") != breaks or breaks + 2 > _MAX_HEADERS:
        return None
    rfile.read(end + 4)
    return [line.rstrip("\r") for line in head.decode("iso-8859-1").split("\r\n")]


def _read_lines(rfile: Any) -> list[str]:
    """The header lines read one by one, with the limits (HeaderError past them)."""
    lines: list[str] = []
    readline = rfile.readline
    for _ in range(_MAX_HEADERS):
        line = readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise _line_too_long()
        if line in _END_OF_HEADERS:
            return lines
        lines.append(line.decode("iso-8859-1").rstrip("\r\n"))
    if len(readline(_MAX_LINE + 1)) > _MAX_LINE:
        raise _line_too_long()
    raise HeaderError("Too many headers", f"got more than {_MAX_HEADERS} headers")


def _headers_of(lines: list[str]) -> Headers:
    headers = Headers()
    values = headers.values
    name: str | None = None
    for text in lines:
        if name is not None and text[:1] in _FOLDING:
            values[name][-1] += text
            continue
        found, colon, value = text.partition(":")
        if colon:
            name = found.strip().lower()
            value = value.lstrip(" \t")
            known = values.get(name)
            if known is None:
                values[name] = [value]
            else:
                known.append(value)
    return headers


_FOLDING = (" ", "\t")


def _line_too_long() -> HeaderError:
    return HeaderError("Line too long", "got more than 65536 bytes when reading header line")


class Refusal(Exception):
    """A request refused before it reaches a handler: its status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def body_length(headers: Headers) -> int:
    """The declared body length, checked before any of the body is read (see the module doc)."""
    if "transfer-encoding" in headers:
        if "content-length" in headers:
            raise Refusal(
                400, "InvalidContentLength", "Content-Length and Transfer-Encoding together"
            )
        raise Refusal(
            411,
            "MissingContentLength",
            "Transfer-Encoding is not supported: send the body with a Content-Length",
        )
    given = headers.values.get("content-length")
    if given is not None and len(given) == 1 and _LENGTH.fullmatch(given[0]):
        return _within_limit(int(given[0]))  # the usual one plain value
    parts = [
        part.strip() for value in headers.get_all("content-length") for part in value.split(",")
    ]
    if not parts:
        return 0
    if not all(_LENGTH.fullmatch(part) for part in parts) or len({int(p) for p in parts}) != 1:
        shown = ", ".join(parts)[:60]
        raise Refusal(400, "InvalidContentLength", f"Content-Length is not valid: {shown!r}")
    return _within_limit(int(parts[0]))


def _within_limit(length: int) -> int:
    if length > MAX_BODY_BYTES:
        raise Refusal(
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


def check_host(headers: Headers, admin: bool) -> None:
    """Refuse a Host that does not name this loopback server (see the module doc)."""
    hosts = headers.get_all("host")
    given = tuple(hosts)
    if len(given) == 1 and len(given[0]) <= _SHORT_HOST:
        allowed = _host_allowed(given, admin)
    else:  # an odd Host header: checked, not kept
        allowed = _host_allowed.__wrapped__(given, admin)
    if not allowed:
        shown = ", ".join(hosts)[:80] if hosts else "(none)"
        names = "loopback Host names (127.0.0.1, localhost, [::1])"
        what = (
            f"the admin API answers only {names}"
            if admin
            else f"the emulator answers only {names} and *.aliyuncs.com names"
        )
        raise Refusal(403, "Forbidden.NonLoopbackHost", f"{what}; got Host {shown!r}")
    if admin:
        origin = headers.get("origin")
        site = (headers.get("sec-fetch-site") or "").strip().lower()
        origin_ok = origin is not None and _is_loopback_name(_host_name(_origin_host(origin)))
        if not origin_ok and (origin is not None or site in ("cross-site", "same-site")):
            raise Refusal(
                403,
                "Forbidden.CrossSite",
                "the admin API refuses cross-site browser requests (Origin or Sec-Fetch-Site)",
            )


_SHORT_HOST = 300


@functools.lru_cache(maxsize=256)
def _host_allowed(hosts: tuple[str, ...], admin: bool) -> bool:
    """Whether the Host header values name this server: a pure function of the text, kept for
    the 256 latest single short values (a client sends the same Host on every request; the
    address parsing cost ~4% of a request)."""
    name = _host_name(hosts[0]) if len(hosts) == 1 else None
    if name is None and len(hosts) == 1 and not admin and hosts[0].startswith("http://"):
        # alibabacloud-credentials' RamRoleArn provider given sts_endpoint="http://HOST:PORT"
        # sends that URL as its Host header (docs/emulator.md, "Accounts and STS").
        name = _host_name(hosts[0].removeprefix("http://"))
    return _is_loopback_name(name) or (
        not admin
        and name is not None
        and (name == "aliyuncs.com" or name.endswith(".aliyuncs.com"))
    )


def _origin_host(url: str) -> str:
    """host[:port] of an Origin header ("null" and garbage give "")."""
    try:
        return urlsplit(url.strip()).netloc.rpartition("@")[2]
    except ValueError:
        return ""
