"""Odd but well-framed API requests get their 4xx answer, never a 500 (the autouse check in
conftest fails a test on any logged internal error): non-ASCII signatures, malformed
Authorization headers, request targets that are not URLs, bad settings."""

from __future__ import annotations

import math
from urllib.parse import quote, urlencode

import pytest

from reconciler.emulator.errors import EmulatorSetupError
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.emulator import raw_http as rh
from tests.emulator import wire_client as wc

KMS = wc.VERSIONS["kms"]


def _send(emulator: Emulator, target: str, headers: dict[str, str]) -> rh.RawAnswer:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    data = f"POST {target} HTTP/1.1\r\n{lines}Content-Length: 0\r\n\r\n".encode("latin-1")
    return rh.exchange(emulator.endpoint, data)


@pytest.mark.parametrize("signature", ["\u00e9" * 64, "ab\u00ff", ""])
def test_v3_non_ascii_signature_is_a_mismatch(emulator: Emulator, signature: str) -> None:
    headers = wc.sign_v3("POST", emulator.endpoint, "ListKeys", KMS, {})
    good = headers["Authorization"]
    headers["Authorization"] = good[: good.rindex("Signature=")] + f"Signature={signature}"
    rh.assert_json_error(_send(emulator, "/", headers), 400, "SignatureDoesNotMatch")


def test_v1_non_ascii_signature_is_a_mismatch(emulator: Emulator) -> None:
    params = wc.sign_v1("POST", "ListKeys", KMS, {})
    params["Signature"] = "\u00e9t\u00e9\u4e2d"
    target = "/?" + urlencode(params, quote_via=quote)
    answer = _send(emulator, target, {"Host": emulator.endpoint})
    rh.assert_json_error(answer, 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize(
    "authorization",
    [
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 Credential",
        "ACS3-HMAC-SHA256 Credential=emulator,SignedHeaders=,Signature=",
        "ACS3-HMAC-SHA256 ,,,=,==,Credential==",
        "\u00ff\u00fe",
    ],
)
def test_malformed_authorization_is_4xx(emulator: Emulator, authorization: str) -> None:
    headers = wc.sign_v3("POST", emulator.endpoint, "ListKeys", KMS, {})
    headers["Authorization"] = authorization
    answer = _send(emulator, "/", headers)
    assert 400 <= answer.status < 500, answer.body
    rh.assert_json_error(answer, answer.status)


@pytest.mark.parametrize("target", ["http://[::1/", "http://[zz]:1/"])
def test_request_target_that_is_not_a_url_is_400(emulator: Emulator, target: str) -> None:
    answer = _send(emulator, target, {"Host": emulator.endpoint})
    rh.assert_json_error(answer, 400, "BadRequest")


@pytest.mark.parametrize("seconds", [math.inf, math.nan, -1.0, 1e300])
def test_settings_refuse_unusable_restart_seconds(seconds: float) -> None:
    with pytest.raises(EmulatorSetupError) as info:
        Emulator(settings=Settings(restart_seconds=seconds))
    assert "restart seconds" in str(info.value)


def test_port_in_use_is_a_setup_error(emulator: Emulator) -> None:
    second = Emulator(port=emulator.port)
    with pytest.raises(EmulatorSetupError) as info:
        second.start()
    second.stop()
    assert f"cannot listen on 127.0.0.1:{emulator.port}" in str(info.value)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "example.invalid", ""])
def test_non_loopback_host_is_a_setup_error(host: str) -> None:
    with pytest.raises(EmulatorSetupError) as info:
        Emulator(host=host)
    assert "loopback" in str(info.value)


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_ipv6_loopback_endpoint_is_bracketed(host: str) -> None:
    try:
        emulator = Emulator(host=host)
        url = emulator.start()
    except EmulatorSetupError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert url == f"http://[::1]:{emulator.port}"
        assert emulator.endpoint == f"[::1]:{emulator.port}"
        assert wc.call(emulator.endpoint, "kms", "ListKeys")[0] == 200
    finally:
        emulator.stop()
