"""A light signed-request client (http.client + hmac) for wire tests and the benchmark.

It signs exactly as the published protocol says, independently of the SDK, so tests can
alter a signed request after signing and the benchmark can measure the server, not the SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

ACCESS_KEY_ID, ACCESS_KEY_SECRET = "emulator", "emulator-secret"
VERSIONS = {"kms": "2016-01-20", "ram": "2015-05-01", "rds": "2014-08-15", "sts": "2015-04-01"}


def _pct(text: str) -> str:
    return quote(text, safe="~")


def _utc(stamp: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp or time.time()))


def sign_v3(
    method: str,
    host: str,
    action: str,
    version: str,
    query: dict[str, str],
    body: bytes = b"",
    secret: str = ACCESS_KEY_SECRET,
    key_id: str = ACCESS_KEY_ID,
    stamp: float | None = None,
    nonce: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """Headers (with Authorization) for an ACS3-HMAC-SHA256 request."""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": _utc(stamp),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        **(extra_headers or {}),
    }
    names = sorted(headers)
    canonical = "\n".join(
        [
            method,
            "/",
            "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(query.items())),
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names),
            headers["x-acs-content-sha256"],
        ]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={key_id},"
        f"SignedHeaders={';'.join(names)},Signature={signature}"
    )
    return headers


def sign_v1(
    method: str,
    action: str,
    version: str,
    params: dict[str, str],
    secret: str = ACCESS_KEY_SECRET,
    key_id: str = ACCESS_KEY_ID,
    stamp: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """All parameters (with Signature) of an HMAC-SHA1 request."""
    signed = {
        "Action": action,
        "Version": version,
        "Format": "JSON",
        "AccessKeyId": key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": _utc(stamp),
        **params,
    }
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(signed.items()))
    to_sign = f"{method}&%2F&{_pct(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return {**signed, "Signature": base64.b64encode(digest).decode()}


def send(
    conn: http.client.HTTPConnection,
    method: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes = b"",
) -> tuple[int, dict[str, Any], dict[str, str]]:
    path = "/?" + urlencode(query, quote_via=quote) if query else "/"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, json.loads(data), dict(response.getheaders())


def call(
    endpoint: str,
    service: str,
    action: str,
    params: dict[str, str] | None = None,
    signature: str = "v3",
    **sign_options: Any,
) -> tuple[int, dict[str, Any]]:
    """One signed POST with the parameters in the query; returns (status, body)."""
    conn = http.client.HTTPConnection(endpoint, timeout=10)
    try:
        params = dict(params or {})
        version = VERSIONS[service]
        if signature == "v3":
            headers = sign_v3("POST", endpoint, action, version, params, **sign_options)
            status, body, _ = send(conn, "POST", params, headers)
        else:
            status, body, _ = send(
                conn, "POST", sign_v1("POST", action, version, params, **sign_options), {}
            )
        return status, body
    finally:
        conn.close()
