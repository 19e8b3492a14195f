"""Every error is the cloud's JSON error body with the real HTTP status.

`{RequestId, HostId, Code, Message, Recommend}` (+ `HttpStatus` for KMS), the request id also in
the `x-acs-request-id` header; every action names its missing mandatory parameter; bad values,
unknown objects and unknown actions get their codes; the SDK exposes the body as `.data`.
"""

from __future__ import annotations

import http.client
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from tests.emulator import wire_client as wc
from tests.emulator.test_response_shapes import REGION, TRUST, Sdk, all_actions

ERROR_KEYS = {"RequestId", "HostId", "Code", "Message", "Recommend"}


def _raw_call(endpoint: str, service: str, action: str, params: dict[str, str]) -> tuple:
    conn = http.client.HTTPConnection(endpoint, timeout=10)
    try:
        version = wc.VERSIONS[service]
        headers = wc.sign_v3("POST", endpoint, action, version, params)
        return wc.send(conn, "POST", params, headers)
    finally:
        conn.close()


def assert_error_body(service: str, status: int, body: dict[str, Any], headers: dict) -> None:
    want = ERROR_KEYS | ({"HttpStatus"} if service == "kms" else set())
    assert set(body) == want, body
    assert body["RequestId"] == headers.get("x-acs-request-id"), headers
    assert body["Message"] and body["Recommend"].startswith("https://")
    assert body["HostId"].startswith(f"{service}.") and body["HostId"].endswith("aliyuncs.com")
    if service == "kms":
        assert body["HttpStatus"] == status


@pytest.mark.parametrize(("service", "action"), all_actions(), ids=lambda v: v)
def test_every_action_names_a_missing_parameter(
    emulator: Emulator, service: str, action: str
) -> None:
    status, body, headers = _raw_call(emulator.endpoint, service, action, {})
    if status == 200:  # actions without a mandatory parameter
        assert action in {
            "CreateKey",
            "ListKeys",
            "ListKmsInstances",
            "ListAliases",
            "DescribeAccountKmsStatus",
            "DescribeRegions",
            "GetCallerIdentity",
        }, body
        return
    assert (status, body["Code"]) == (400, "MissingParameter"), body
    assert_error_body(service, status, body, headers)


BAD = [
    ("kms", "FlyAway", {}, 404, "InvalidAction.NotFound"),
    ("kms", "DescribeKey", {"KeyId": "key-none"}, 404, "Forbidden.KeyNotFound"),
    ("kms", "CreateKey", {"KeySpec": "Aliyun_AES_1"}, 400, "InvalidParameter"),
    ("kms", "ListKeys", {"PageSize": "101"}, 400, "InvalidParameter"),
    (
        "kms",
        "CreateAlias",
        {"AliasName": "alias/acs/x", "KeyId": "alias/acs/rds"},
        400,
        "Unsupported.Alias",
    ),
    ("kms", "DisableKey", {"KeyId": "alias/acs/rds"}, 403, "Forbidden.NoPermission"),
    (
        "kms",
        "ScheduleKeyDeletion",
        {"KeyId": "k", "PendingWindowInDays": "6"},
        400,
        "InvalidParameter",
    ),
    ("ram", "FlyAway", {}, 404, "InvalidAction.NotFound"),
    ("ram", "GetRole", {"RoleName": "nobody"}, 404, "EntityNotExist.Role"),
    ("ram", "GetPolicy", {"PolicyName": "P", "PolicyType": "Nope"}, 400, "InvalidParameter"),
    (
        "ram",
        "CreatePolicy",
        {"PolicyName": "P", "PolicyDocument": "{"},
        400,
        "MalformedPolicyDocument",
    ),
    (
        "ram",
        "CreateRole",
        {"RoleName": "bad name", "AssumeRolePolicyDocument": TRUST},
        400,
        "InvalidParameter.RoleName.InvalidChars",
    ),
    ("rds", "FlyAway", {}, 404, "InvalidAction.NotFound"),
    (
        "rds",
        "DescribeDBInstanceAttribute",
        {"DBInstanceId": "pgm-none"},
        404,
        "InvalidDBInstanceId.NotFound",
    ),
    (
        "rds",
        "DescribeDBInstances",
        {"RegionId": REGION, "PageSize": "101"},
        400,
        "InvalidParameter",
    ),
    (
        "rds",
        "DescribeDBInstances",
        {"RegionId": REGION, "NextToken": "forged"},
        400,
        "InvalidParameter.NextToken",
    ),
    (
        "rds",
        "ModifyDBInstanceMaintainTime",
        {"DBInstanceId": "pgm-x", "MaintainTime": "9"},
        404,
        "InvalidDBInstanceId.NotFound",
    ),
]


@pytest.mark.parametrize(("service", "action", "params", "status", "code"), BAD)
def test_error_answers(
    emulator: Emulator, service: str, action: str, params: dict[str, str], status: int, code: str
) -> None:
    got_status, body, headers = _raw_call(emulator.endpoint, service, action, params)
    assert (got_status, body.get("Code")) == (status, code), body
    assert_error_body(service, got_status, body, headers)


@pytest.mark.parametrize(
    ("service", "action", "fields", "status", "code"),
    [
        ("kms", "DescribeKey", {"key_id": "alias/none"}, 404, "Forbidden.AliasNotFound"),
        (
            "ram",
            "GetPolicy",
            {"policy_name": "None", "policy_type": "Custom"},
            404,
            "EntityNotExist.Policy",
        ),
        (
            "rds",
            "DescribeDBInstanceEncryptionKey",
            {"dbinstance_id": "pgm-none"},
            404,
            "InvalidDBInstanceId.NotFound",
        ),
    ],
)
def test_sdk_error_carries_the_body(
    emulator: Emulator, service: str, action: str, fields: dict, status: int, code: str
) -> None:
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as info:
        Sdk(emulator.endpoint).call(service, action, **fields)
    error = info.value
    assert (error.status_code, error.code) == (status, code)
    assert set(error.data) >= ERROR_KEYS and error.data["RequestId"] == error.request_id
