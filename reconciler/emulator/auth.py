"""Request signatures: V3 `ACS3-HMAC-SHA256` (Authorization header) and V1 `HMAC-SHA1`
(`Signature` parameter, in the query or a form body, GET or POST).

Timestamps and nonces are checked against the REAL clock (never the emulated one): a request
more than 15 minutes off is `IllegalTimestamp`, a nonce seen in the last 30 minutes is
`SignatureNonceUsed`. The nonce memory is per process (a restart forgets it; requests older
than 15 minutes are refused anyway, so only a replay across a restart within 15 min passes).
Signatures, secrets and tokens never appear in a message.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from reconciler.emulator.errors import ApiError, missing_parameter

V3_ALGORITHM = "ACS3-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
_NONCE_TTL_SECONDS = 2 * MAX_SKEW_SECONDS
_V1_PROTOCOL_PARAMS = frozenset({"Signature"})


@dataclass
class WireRequest:
    """A parsed HTTP request: the query and the form body kept apart for signing."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]  # lower-case names; repeated headers joined by ","
    body: bytes

    @functools.cached_property
    def params(self) -> dict[str, str]:
        """Query and form body merged (the body wins on a clash); blank values kept. Merged
        once per request (the request is never changed after parsing)."""
        return {**self.query, **self.form}

    @property
    def is_v3(self) -> bool:
        return "authorization" in self.headers


def security_token(request: WireRequest) -> str:
    """The STS security token a request presents ("" when none): the signed header
    `x-acs-security-token` (V3, tea-openapi) or the `SecurityToken` parameter (V1)."""
    return request.headers.get("x-acs-security-token") or request.params.get("SecurityToken", "")


def _pct(text: str) -> str:
    """RFC 3986 percent-encoding; short texts (names, ids, regions: they repeat from one
    request to the next) kept for the latest 4,096."""
    return _short_pct(text) if len(text) <= _SHORT else quote(text, safe="~")


_SHORT = 128


@functools.lru_cache(maxsize=4096)
def _short_pct(text: str) -> str:
    return quote(text, safe="~")


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison that also takes a non-ASCII signature (compare_digest on str
    refuses one with TypeError, which would answer 500 instead of SignatureDoesNotMatch)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def _signature_mismatch(string_to_sign: str) -> ApiError:
    # The message must contain a colon: the legacy Python SDK does message.split(':')[1].
    return ApiError(
        400,
        "SignatureDoesNotMatch",
        "Specified signature is not matched with our calculation. "
        f"server string to sign is:{string_to_sign}",
    )


_CANONICAL_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")


def _parse_date(text: str, name: str) -> float:
    stamp = _usual_date(text) if len(text) == _USUAL_LENGTH else None
    return _any_date(text, name) if stamp is None else stamp


_USUAL_LENGTH = len("2026-01-01T00:00:00Z")


@functools.lru_cache(maxsize=64)
def _usual_date(text: str) -> float | None:
    """A pure function of the text, kept for the latest 64 values: every request signed within
    the same second sends the same date. None when not a date (the caller then raises)."""
    try:
        return _any_date(text, "")
    except ApiError:
        return None


def _any_date(text: str, name: str) -> float:
    try:
        canonical = _CANONICAL_DATE.fullmatch(text)
        if canonical is not None:  # what clients send; strptime costs ~50 us a request
            fields = (int(part) for part in canonical.groups())
            return datetime(*fields, tzinfo=UTC).timestamp()
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise ApiError(
            400,
            "InvalidTimeStamp.Format",
            f"Specified time stamp or date value is not well formatted: {name}.",
        ) from None


class Authenticator:
    """Checks signatures against known access keys; remembers nonces.

    `credentials` are the account's own keys (all-powerful, `--access-key-id`); `user_secret`
    finds the secret of any other key (those of RAM users, kept in the store: identity.py), or
    None for an unknown one."""

    def __init__(
        self,
        credentials: dict[str, str],
        user_secret: Callable[[str], str | None] | None = None,
    ) -> None:
        self._credentials = dict(credentials)
        self._user_secret = user_secret
        # Nonces with their expiry, and the same in arrival order (expiries only grow), so
        # forgetting expired ones pops from the left instead of rebuilding the whole dict.
        self._nonces: dict[tuple[str, str], float] = {}
        self._expiries: deque[tuple[float, tuple[str, str]]] = deque()
        self._lock = threading.Lock()

    def verify(self, request: WireRequest) -> str:
        """Return the access key id of a correctly signed request, else raise ApiError."""
        if request.is_v3:
            key_id, nonce, stamp = self._verify_v3(request)
        elif "Signature" in request.params:
            key_id, nonce, stamp = self._verify_v1(request)
        else:
            raise ApiError(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards: "
                "no Authorization header and no Signature parameter.",
            )
        self._check_time(stamp)
        self._remember_nonce(key_id, nonce)
        return key_id

    def is_account_key(self, key_id: str) -> bool:
        """Whether the key is the account's own (no RAM policy applies to it)."""
        return key_id in self._credentials

    def _secret(self, key_id: str) -> str:
        secret = self._credentials.get(key_id)
        if secret is None and self._user_secret is not None:
            secret = self._user_secret(key_id)
        if secret is None:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        return secret

    def _verify_v3(self, request: WireRequest) -> tuple[str, str, float]:
        algorithm, _, fields_text = request.headers["authorization"].partition(" ")
        fields = dict(part.strip().split("=", 1) for part in fields_text.split(",") if "=" in part)
        if algorithm != V3_ALGORITHM or not {"Credential", "SignedHeaders", "Signature"} <= set(
            fields
        ):
            raise ApiError(
                400,
                "IncompleteSignature",
                f"The request signature does not conform to Aliyun standards: "
                f"expected {V3_ALGORITHM} Credential=,SignedHeaders=,Signature=.",
            )
        secret = self._secret(fields["Credential"])
        signed = fields["SignedHeaders"].split(";")
        self._require_signed_headers(request, signed)
        body_hash = hashlib.sha256(request.body).hexdigest()
        if request.headers.get("x-acs-content-sha256") != body_hash:
            raise ApiError(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation: "
                "x-acs-content-sha256 does not match the request body.",
            )
        canonical_query = "&".join(
            [f"{_pct(k)}={_pct(v)}" for k, v in sorted(request.query.items())]
        )
        headers = request.headers
        canonical_headers = "".join(
            [f"{name}:{headers.get(name, '').strip()}\n" for name in signed]
        )
        canonical = "\n".join(
            [
                request.method,
                request.path or "/",
                canonical_query,
                canonical_headers,
                fields["SignedHeaders"],
                body_hash,
            ]
        )
        to_sign = f"{V3_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        expected = hmac.digest(secret.encode(), to_sign.encode(), "sha256").hex()
        if not _same(expected, fields["Signature"].lower()):
            raise _signature_mismatch(to_sign.replace("\n", "\\n"))
        stamp = _parse_date(request.headers.get("x-acs-date", ""), "x-acs-date")
        return fields["Credential"], request.headers["x-acs-signature-nonce"], stamp

    @staticmethod
    def _require_signed_headers(request: WireRequest, signed: list[str]) -> None:
        """host and every x-acs-* header present must be signed, so none can be altered."""
        for name in ("x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"):
            if name not in request.headers:
                raise missing_parameter(name)
        for name in request.headers:
            if (name == "host" or name.startswith("x-acs-")) and name not in signed:
                raise ApiError(
                    400,
                    "IncompleteSignature",
                    f"The request signature does not conform to Aliyun standards: "
                    f"header {name} is not signed.",
                )

    def _verify_v1(self, request: WireRequest) -> tuple[str, str, float]:
        params = request.params
        for name in ("AccessKeyId", "SignatureNonce", "Timestamp"):
            if not params.get(name):
                raise missing_parameter(name)
        if params.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
            raise ApiError(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards: "
                "SignatureMethod must be HMAC-SHA1.",
            )
        secret = self._secret(params["AccessKeyId"])
        canonical = "&".join(
            f"{_pct(k)}={_pct(v)}"
            for k, v in sorted(params.items())
            if k not in _V1_PROTOCOL_PARAMS
        )
        to_sign = f"{request.method}&%2F&{_pct(canonical)}"
        digest = hmac.digest(f"{secret}&".encode(), to_sign.encode(), "sha1")
        if not _same(base64.b64encode(digest).decode(), params["Signature"]):
            raise _signature_mismatch(to_sign)
        stamp = _parse_date(params["Timestamp"], "Timestamp")
        return params["AccessKeyId"], params["SignatureNonce"], stamp

    @staticmethod
    def _check_time(stamp: float) -> None:
        skew = abs(time.time() - stamp)
        if skew > MAX_SKEW_SECONDS:
            raise ApiError(
                400,
                "IllegalTimestamp",
                "The input parameter Timestamp is more than 15 minutes off the "
                f"server time: skew {int(skew)} seconds.",
            )

    def _remember_nonce(self, key_id: str, nonce: str) -> None:
        if not nonce:
            raise missing_parameter("SignatureNonce")
        now = time.time()
        key = (key_id, nonce)
        with self._lock:
            expiries = self._expiries
            while expiries and expiries[0][0] <= now:
                expiry, old = expiries.popleft()
                if self._nonces.get(old) == expiry:
                    del self._nonces[old]
            if self._nonces.get(key, 0) > now:
                raise ApiError(
                    400,
                    "SignatureNonceUsed",
                    "Specified signature nonce was used already: use a new nonce.",
                )
            expiry = now + _NONCE_TTL_SECONDS
            self._nonces[key] = expiry
            expiries.append((expiry, key))
