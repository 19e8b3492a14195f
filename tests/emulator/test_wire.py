"""The wire protocol: signatures (V3 and V1), tampering, routing, timestamps, nonces, errors."""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from alibabacloud_kms20160120 import models as km

from tests.emulator import wire_client as wc
from tests.emulator.conftest import TEST_KMS_INSTANCES

KMS = "2016-01-20"


def conn(emulator: Any) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(emulator.endpoint, timeout=10)


def assert_error(status: int, body: dict[str, Any], want_status: int, code: str) -> None:
    assert (status, body["Code"]) == (want_status, code), body
    assert set(body) >= {"RequestId", "HostId", "Code", "Message", "Recommend"}


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_raw_signed_call(emulator: Any, signature: str) -> None:
    status, body = wc.call(
        emulator.endpoint, "kms", "DescribeKey", {"KeyId": "alias/acs/rds"}, signature=signature
    )
    assert status == 200 and body["KeyMetadata"]["KeyState"] == "Enabled" and body["RequestId"]


def test_v1_get_and_form_body(emulator: Any) -> None:
    c = conn(emulator)
    params = wc.sign_v1("GET", "DescribeKey", KMS, {"KeyId": "alias/acs/rds", "SignatureType": ""})
    status, body, _ = wc.send(c, "GET", params, {})
    assert status == 200, body
    params = wc.sign_v1("POST", "DescribeKey", KMS, {"KeyId": "alias/acs/rds"})
    form = urlencode(params).encode()
    status, body, _ = wc.send(
        c, "POST", {}, {"Content-Type": "application/x-www-form-urlencoded"}, form
    )
    assert status == 200, body


def test_v3_form_body(emulator: Any) -> None:
    form = urlencode({"KeyId": "alias/acs/rds"}).encode()
    extra = {"content-type": "application/x-www-form-urlencoded"}
    headers = wc.sign_v3(
        "POST", emulator.endpoint, "DescribeKey", KMS, {}, form, extra_headers=extra
    )
    status, body, _ = wc.send(conn(emulator), "POST", {}, headers, form)
    assert status == 200, body
    tampered = form.replace(b"rds", b"rdz")
    status, body, _ = wc.send(
        conn(emulator), "POST", {}, {**headers, "x-acs-signature-nonce": "n2"}, tampered
    )
    assert_error(status, body, 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("header", ["x-acs-action", "x-acs-date", "x-acs-version", "host"])
def test_v3_tampered_signed_header_refused(emulator: Any, header: str) -> None:
    headers = wc.sign_v3("POST", emulator.endpoint, "DescribeKey", KMS, {"KeyId": "alias/acs/rds"})
    changed = {
        "x-acs-action": "ListKeys",
        "x-acs-date": "2020-01-01T00:00:00Z",
        "x-acs-version": "2015-05-01",
        "host": "127.0.0.2:1",
    }[header]
    headers[header] = changed
    status, body, _ = wc.send(conn(emulator), "POST", {"KeyId": "alias/acs/rds"}, headers)
    assert_error(status, body, 400, "SignatureDoesNotMatch")
    assert ":" in body["Message"]


def test_v3_tampered_query_refused(emulator: Any) -> None:
    headers = wc.sign_v3("POST", emulator.endpoint, "DescribeKey", KMS, {"KeyId": "alias/acs/rds"})
    status, body, _ = wc.send(conn(emulator), "POST", {"KeyId": "key-other"}, headers)
    assert_error(status, body, 400, "SignatureDoesNotMatch")


def test_v3_body_hash_mismatch_refused(emulator: Any) -> None:
    headers = wc.sign_v3("POST", emulator.endpoint, "DescribeKey", KMS, {"KeyId": "alias/acs/rds"})
    status, body, _ = wc.send(conn(emulator), "POST", {"KeyId": "alias/acs/rds"}, headers, b"x=1")
    assert_error(status, body, 400, "SignatureDoesNotMatch")


def test_v3_unsigned_acs_header_refused(emulator: Any) -> None:
    headers = wc.sign_v3("POST", emulator.endpoint, "DescribeKey", KMS, {"KeyId": "alias/acs/rds"})
    headers["x-acs-security-token"] = "sneaked-in"
    status, body, _ = wc.send(conn(emulator), "POST", {"KeyId": "alias/acs/rds"}, headers)
    assert_error(status, body, 400, "IncompleteSignature")


@pytest.mark.parametrize("param", ["KeyId", "Action", "Timestamp"])
def test_v1_tampered_parameter_refused(emulator: Any, param: str) -> None:
    params = wc.sign_v1("POST", "DescribeKey", KMS, {"KeyId": "alias/acs/rds"})
    params[param] = {"KeyId": "x", "Action": "ListKeys", "Timestamp": wc._utc(time.time() - 5)}[
        param
    ]
    status, body, _ = wc.send(conn(emulator), "POST", params, {})
    assert_error(status, body, 400, "SignatureDoesNotMatch")
    assert ":" in body["Message"]


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_wrong_secret_and_unknown_key(emulator: Any, signature: str) -> None:
    status, body = wc.call(
        emulator.endpoint, "kms", "ListKeys", signature=signature, secret="not-the-secret"
    )
    assert_error(status, body, 400, "SignatureDoesNotMatch")
    assert body["HttpStatus"] == 400
    status, body = wc.call(
        emulator.endpoint, "kms", "ListKeys", signature=signature, key_id="unknown-ak"
    )
    assert_error(status, body, 404, "InvalidAccessKeyId.NotFound")


def test_sdk_with_wrong_credentials(make_client: Any, api_error: Any) -> None:
    client = make_client("kms", access_key_secret="wrong")
    error = api_error(lambda: client.list_keys(km.ListKeysRequest()))
    assert (error.status_code, error.code) == (400, "SignatureDoesNotMatch")
    client = make_client("kms", access_key_id="nobody")
    error = api_error(lambda: client.list_keys(km.ListKeysRequest()))
    assert (error.status_code, error.code) == (404, "InvalidAccessKeyId.NotFound")


def test_unsigned_request_refused(emulator: Any) -> None:
    status, body, _ = wc.send(conn(emulator), "POST", {"Action": "ListKeys", "Version": KMS}, {})
    assert_error(status, body, 400, "IncompleteSignature")


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_unknown_action_and_version(emulator: Any, signature: str) -> None:
    status, body = wc.call(emulator.endpoint, "kms", "MakeCoffee", signature=signature)
    assert_error(status, body, 404, "InvalidAction.NotFound")
    c = conn(emulator)
    if signature == "v3":
        headers = wc.sign_v3("POST", emulator.endpoint, "ListKeys", "1999-01-01", {})
        status, body, _ = wc.send(c, "POST", {}, headers)
    else:
        status, body, _ = wc.send(c, "POST", wc.sign_v1("POST", "ListKeys", "1999-01-01", {}), {})
    assert_error(status, body, 400, "InvalidVersion")


@pytest.mark.parametrize("signature", ["v3", "v1"])
@pytest.mark.parametrize("offset", [-16 * 60, 16 * 60])
def test_illegal_timestamp(emulator: Any, signature: str, offset: int) -> None:
    status, body = wc.call(
        emulator.endpoint, "kms", "ListKeys", signature=signature, stamp=time.time() + offset
    )
    assert_error(status, body, 400, "IllegalTimestamp")


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_timestamp_within_window_accepted(emulator: Any, signature: str) -> None:
    status, _ = wc.call(
        emulator.endpoint, "kms", "ListKeys", signature=signature, stamp=time.time() - 14 * 60
    )
    assert status == 200


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_nonce_reuse_refused(emulator: Any, signature: str) -> None:
    first = wc.call(emulator.endpoint, "kms", "ListKeys", signature=signature, nonce="n-1")
    assert first[0] == 200
    status, body = wc.call(emulator.endpoint, "kms", "ListKeys", signature=signature, nonce="n-1")
    assert_error(status, body, 400, "SignatureNonceUsed")


def test_emulated_clock_does_not_move_the_signature_window(emulator: Any, admin: Any) -> None:
    admin.post("clock", {"advance_seconds": 30 * 86400})
    assert wc.call(emulator.endpoint, "kms", "ListKeys")[0] == 200


def test_booleans_case_insensitive_and_bad_boolean(emulator: Any) -> None:
    inside = {
        "DKMSInstanceId": TEST_KMS_INSTANCES["cn-hangzhou"]
    }  # rotation is not for a default key
    key_id = wc.call(emulator.endpoint, "kms", "CreateKey", inside)[1]["KeyMetadata"]["KeyId"]
    for value in ("true", "TRUE", "True"):
        status, body = wc.call(
            emulator.endpoint,
            "kms",
            "UpdateRotationPolicy",
            {"KeyId": key_id, "EnableAutomaticRotation": value, "RotationInterval": "7d"},
        )
        assert status == 200, body
    status, body = wc.call(
        emulator.endpoint,
        "kms",
        "UpdateRotationPolicy",
        {"KeyId": key_id, "EnableAutomaticRotation": "yes"},
    )
    assert_error(status, body, 400, "InvalidParameter")


def test_error_answer_is_json_with_request_id_header(emulator: Any) -> None:
    c = conn(emulator)
    c.request(
        "POST",
        "/",
        headers={"x-acs-action": "ListKeys", "x-acs-version": KMS, "Authorization": "garbage"},
    )
    response = c.getresponse()
    body = json.loads(response.read())
    assert response.status == 400 and response.getheader("Content-Type").startswith(
        "application/json"
    )
    assert response.getheader("x-acs-request-id") == body["RequestId"]
    assert body["Code"] == "IncompleteSignature"


def test_keep_alive_answers_do_not_stall(kms: Any) -> None:
    """Without TCP_NODELAY / one write per answer each call stalls ~40 ms."""
    kms.describe_account_kms_status()
    started = time.perf_counter()
    for _ in range(40):
        kms.describe_account_kms_status()
    assert (time.perf_counter() - started) / 40 < 0.02


def test_many_threads_lose_no_write(emulator: Any) -> None:
    key_id = wc.call(emulator.endpoint, "kms", "CreateKey")[1]["KeyMetadata"]["KeyId"]
    failures: list[Any] = []

    def worker(n: int) -> None:
        for i in range(10):
            status, body = wc.call(
                emulator.endpoint,
                "kms",
                "CreateKey",
                {"Description": f"{n}-{i}", "DKMSInstanceId": TEST_KMS_INSTANCES["cn-hangzhou"]},
                signature="v3" if n % 2 else "v1",
            )
            if status != 200:
                failures.append(body)
        status, body = wc.call(
            emulator.endpoint,
            "kms",
            "TagResource",
            {"KeyId": key_id, "Tags": json.dumps([{"TagKey": f"t{n}", "TagValue": str(n)}])},
        )
        if status != 200:
            failures.append(body)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    keys = wc.call(
        emulator.endpoint,
        "kms",
        "ListKeys",
        {"PageSize": "100", "Filters": json.dumps([{"Key": "CreatorType", "Values": ["User"]}])},
    )[1]
    assert keys["TotalCount"] == 161
    tags = wc.call(emulator.endpoint, "kms", "ListResourceTags", {"KeyId": key_id})[1]
    assert sorted(t["TagKey"] for t in tags["Tags"]["Tag"]) == sorted(f"t{n}" for n in range(16))


def test_content_sha_header_must_be_signed(emulator: Any) -> None:
    headers = wc.sign_v3("POST", emulator.endpoint, "ListKeys", KMS, {})
    del headers["x-acs-content-sha256"]
    status, body, _ = wc.send(conn(emulator), "POST", {}, headers)
    assert_error(status, body, 400, "MissingParameter")
