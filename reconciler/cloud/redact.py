"""No output, log or error carries an access key secret, a security token or a signature
(README, "In CI").

Two leaks exist in the libraries under the SDK, and both are closed here, whatever the
environment says:
- darabonba (and the older Tea core) dump every request's headers, `Authorization: ...
  Signature=` and `x-acs-security-token` included, to stderr when `DEBUG=sdk` is set (it is read
  from the environment on every call, and a falsy runtime option cannot switch it off). They
  print through their own loggers, `darabonba-core` and `alibabacloud-tea`, each with its own
  stderr handler: `silence_sdk_output` drops every record of those loggers (and of
  alibabacloud-credentials' `credentials` logger, which logs cached credentials on refresh).
- urllib3 logs each request's URL at DEBUG level once anything configures Python logging at
  DEBUG; with V1 signing the URL holds `Signature=` and `SecurityToken=`. Those loggers keep
  working, through a filter that redacts.

`redact(text)` is the one scrubber: CloudCallError messages pass through it (retry.classify),
and `RedactingFilter` is for any handler we add ourselves (a `--debug` log must use it).
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote

MASK = "***"
MIN_SECRET_LENGTH = 8  # shorter values would mangle ordinary words if scrubbed literally

SDK_LOGGERS = ("darabonba-core", "alibabacloud-tea", "credentials")
HTTP_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
    "aiohttp.client",
    "aiohttp.internal",
)
_HTTP_PREFIXES = ("urllib3", "requests", "aiohttp")

_END = r"(?=%2526|%26|&|,|;|\s|\"|'|\}|$)"
_PATTERNS = [
    # Authorization: ACS3-HMAC-SHA256 ...,Signature=<hex>; a V1 query `Signature=<b64>`.
    re.compile(r"((?<![A-Za-z])Signature=)[^,&\s\"'}]+"),
    # Inside a (percent-encoded) V1 string to sign, as echoed by SignatureDoesNotMatch.
    re.compile(r"((?<![A-Za-z])(?:Signature|SecurityToken|BearerToken)(?:%3D|%253D))(.*?)" + _END),
    re.compile(r"((?<![A-Za-z])(?:SecurityToken|BearerToken)=)[^&\s\"'}]+"),
    # Headers as the SDK's debug dump and most loggers print them.
    re.compile(r"(?i)(x-acs-(?:security-token|zero-trust-idtoken)\s*[:=]\s*)\S+"),
    # key: value and key=value forms (JSON, repr, kwargs).
    re.compile(
        r"(?i)(\"?\b(?:access_?key_?secret|security_?token|bearer_?token|sts_?token)\b\"?"
        r"\s*[:=]\s*[\"']?)[^\"',\s&}]+"
    ),
]

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Scrub this exact value (and its percent-encoded forms) from every redacted text."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    once = quote(value, safe="")
    forms = {value, once, quote(once, safe=""), quote(value, safe="~")}
    with _secrets_lock:
        _secrets.update(forms)


def redact(text: str) -> str:
    """`text` with every secret, token and signature replaced by ***."""
    with _secrets_lock:
        literals = sorted(_secrets, key=len, reverse=True)
    for literal in literals:
        text = text.replace(literal, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through `redact` (put it on every handler we add)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: show its template, never its arguments
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


_install_lock = threading.Lock()


def silence_sdk_output() -> None:
    """Make the SDK's own debug dumps print nothing, and redact the HTTP libraries' logs.

    Idempotent. A filter on the logger where a record is made is applied before any handler,
    and it survives `logging.config` (which re-enables loggers and resets levels)."""
    with _install_lock:
        names = set(HTTP_LOGGERS) | {
            name
            for name in list(logging.root.manager.loggerDict)
            if name.startswith(_HTTP_PREFIXES)
        }
        for name in sorted(names):
            logger = logging.getLogger(name)
            if not any(isinstance(f, RedactingFilter) for f in logger.filters):
                logger.addFilter(RedactingFilter())
        for name in SDK_LOGGERS:
            logger = logging.getLogger(name)
            logger.disabled = True
            logger.propagate = False
            if not any(isinstance(f, _DropAll) for f in logger.filters):
                logger.addFilter(_DropAll())
