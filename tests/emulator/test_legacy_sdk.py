"""A second, independent client: the legacy Python SDK (aliyun-python-sdk-core 2.16.x).

It signs only with V1 HMAC-SHA1, sends `Format=JSON`, an empty `SignatureType=`, the client's
`RegionId` on every call, Python booleans as `True`, and turns every error status into
`ServerException(code, message, http_status, request_id)`. On a 400 SignatureDoesNotMatch it
compares its own string to sign with `message.split(':')[1]`: when they are equal (the server
computed the same string, so only the secret differs) it reports `InvalidAccessKeySecret`, as
it does against the real cloud.

Also here: a pop-core style POST whose parameters travel in an x-www-form-urlencoded body.
"""

from __future__ import annotations

import http.client
import importlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

# A declared dev dependency (pyproject.toml): imported outright, so a broken install fails the
# suite instead of skipping it.
import aliyunsdkcore.acs_exception.exceptions as core_exceptions
import aliyunsdkcore.client as core_client
import aliyunsdkcore.request as core_request
import aliyunsdkkms.request.v20160120 as kms_requests
import aliyunsdkram.request.v20150501 as ram_requests
import aliyunsdkrds.request.v20140815 as rds_requests
import pytest

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.emulator import wire_client as wc
from tests.emulator.conftest import TEST_KMS_INSTANCES, AdminClient

ServerException = core_exceptions.ServerException
SECRET = "emulator-secret"
ACCOUNT = "1234567890123456"
TAG = {"TagKey": "acs:rds:instance-encryption", "TagValue": "true"}
RDS_TRUST = {
    "Version": "1",
    "Statement": [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": ["rds.aliyuncs.com"]},
        }
    ],
}
# demo world instances (reconciler/emulator/seeds/demo.yaml)
DEDICATED_OFF, DEDICATED_SERVICE = "pgm-bp1ded0000000001", "pgm-bp1ded0000000002"
GENERAL_OFF = "pgm-bp1gp00000000001"


def _request(module: Any, action: str, **fields: Any) -> Any:
    """`module.<action>Request` with `set_<Field>(value)` for each field."""
    submodule = importlib.import_module(f"{module.__name__}.{action}Request")
    request = getattr(submodule, f"{action}Request")()
    for name, value in fields.items():
        getattr(request, f"set_{name}")(value)
    return request


class Legacy:
    """An AcsClient aimed at the emulator; `call` returns the parsed JSON body."""

    def __init__(
        self,
        endpoint: str,
        region: str = "cn-hangzhou",
        secret: str = SECRET,
        key_id: str = "emulator",
    ) -> None:
        self.endpoint = endpoint
        self.client = core_client.AcsClient(key_id, secret, region, auto_retry=False)

    def call(self, request: Any, method: str | None = None) -> dict[str, Any]:
        request.set_endpoint(self.endpoint)
        request.set_protocol_type("http")
        if method:
            request.set_method(method)
        return json.loads(self.client.do_action_with_exception(request))

    def error(self, request: Any, method: str | None = None) -> Any:
        with pytest.raises(ServerException) as info:
            self.call(request, method)
        return info.value

    def kms(self, action: str, method: str | None = None, **fields: Any) -> dict[str, Any]:
        return self.call(_request(kms_requests, action, **fields), method)

    def ram(self, action: str, **fields: Any) -> dict[str, Any]:
        return self.call(_request(ram_requests, action, **fields))

    def rds(self, action: str, **fields: Any) -> dict[str, Any]:
        return self.call(_request(rds_requests, action, **fields))


def assert_server_error(error: Any, status: int, code: str) -> None:
    assert (error.get_http_status(), error.get_error_code()) == (status, code), error
    assert error.get_request_id(), "the error body carries a RequestId"
    assert error.get_error_msg() and not error.get_error_msg().startswith("ServerResponseBody")


@pytest.fixture
def legacy(emulator: Emulator) -> Legacy:
    return Legacy(emulator.endpoint)


@pytest.fixture
def demo() -> Iterator[Emulator]:
    with Emulator(seed="demo", settings=Settings(restart_seconds=600.0)) as emu:
        yield emu


# --- KMS ----------------------------------------------------------------------------------


def test_kms_key_lifecycle(legacy: Legacy) -> None:
    created = legacy.kms(
        "CreateKey",
        Description="orders db key: a+b & c",
        Tags=json.dumps([TAG]),
        EnableAutomaticRotation=True,  # sent as "True"
        RotationInterval="30d",
        # in the test KMS instance: rotation of the default key is a paid feature
        DKMSInstanceId=TEST_KMS_INSTANCES["cn-hangzhou"],
    )
    meta = created["KeyMetadata"]
    key_id = meta["KeyId"]
    assert meta["Arn"] == f"acs:kms:cn-hangzhou:{ACCOUNT}:key/{key_id}"
    assert (meta["KeyState"], meta["KeySpec"], meta["AutomaticRotation"]) == (
        "Enabled",
        "Aliyun_AES_256",
        "Enabled",
    )
    assert meta["RotationInterval"] == "2592000s" and created["RequestId"]
    assert meta["Description"] == "orders db key: a+b & c"

    assert legacy.kms("CreateAlias", AliasName="alias/orders", KeyId=key_id).keys() == {"RequestId"}
    by_alias = legacy.kms("DescribeKey", KeyId="alias/orders")["KeyMetadata"]
    assert by_alias["KeyId"] == key_id

    legacy.kms(
        "TagResource", KeyId=key_id, Tags=json.dumps([{"TagKey": "team", "TagValue": "dba"}])
    )
    tags = legacy.kms("ListResourceTags", KeyId=key_id)["Tags"]["Tag"]
    assert sorted((t["KeyId"], t["TagKey"], t["TagValue"]) for t in tags) == [
        (key_id, "acs:rds:instance-encryption", "true"),
        (key_id, "team", "dba"),
    ]

    assert legacy.kms("DisableKey", KeyId=key_id).keys() == {"RequestId"}
    assert legacy.kms("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_kms_get_requests(legacy: Legacy) -> None:
    """The legacy SDK can send any RPC call as GET with everything in the query."""
    meta = legacy.kms("DescribeKey", "GET", KeyId="alias/acs/rds")["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Creator"] == "Rds"
    listed = legacy.kms("ListAliasesByKeyId", "GET", KeyId=meta["KeyId"])
    assert [a["AliasName"] for a in listed["Aliases"]["Alias"]] == ["alias/acs/rds"]


def test_kms_region_travels_as_the_client_region(emulator: Emulator) -> None:
    shanghai = Legacy(emulator.endpoint, region="cn-shanghai")
    key_id = shanghai.kms("CreateKey")["KeyMetadata"]["KeyId"]
    assert shanghai.kms("DescribeKey", KeyId=key_id)["KeyMetadata"]["Arn"].startswith(
        "acs:kms:cn-shanghai:"
    )
    error = Legacy(emulator.endpoint).error(_request(kms_requests, "DescribeKey", KeyId=key_id))
    assert_server_error(error, 404, "Forbidden.KeyNotFound")


def test_kms_errors(legacy: Legacy) -> None:
    key_id = legacy.kms("CreateKey")["KeyMetadata"]["KeyId"]
    cases = [
        (
            _request(kms_requests, "DescribeKey", KeyId="key-doesnotexist"),
            404,
            "Forbidden.KeyNotFound",
        ),
        (_request(kms_requests, "DescribeKey"), 400, "MissingParameter"),
        (
            _request(kms_requests, "CreateAlias", AliasName="alias/acs/mine", KeyId=key_id),
            400,
            "Unsupported.Alias",
        ),
        (
            _request(kms_requests, "CreateAlias", AliasName="no-prefix", KeyId=key_id),
            400,
            "InvalidParameter",
        ),
        (
            _request(kms_requests, "DisableKey", KeyId="alias/acs/rds"),
            403,
            "Forbidden.NoPermission",
        ),
        (
            _request(kms_requests, "TagResource", KeyId=key_id, Tags="not json"),
            400,
            "InvalidParameter",
        ),
    ]
    for request, status, code in cases:
        assert_server_error(legacy.error(request), status, code)
    legacy.kms("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    error = legacy.error(_request(kms_requests, "DisableKey", KeyId=key_id))
    assert_server_error(error, 409, "Rejected.StateModifiedFailed")


# --- RAM ----------------------------------------------------------------------------------


def test_ram_role_and_policy(legacy: Legacy) -> None:
    document = json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
    )
    policy = legacy.ram(
        "CreatePolicy", PolicyName="RdsKms", PolicyDocument=document, Description="for RDS"
    )["Policy"]
    assert (policy["PolicyName"], policy["PolicyType"], policy["DefaultVersion"]) == (
        "RdsKms",
        "Custom",
        "v1",
    )
    role = legacy.ram(
        "CreateRole",
        RoleName="AliyunRDSInstanceEncryptionDefaultRole",
        AssumeRolePolicyDocument=json.dumps(RDS_TRUST),
        MaxSessionDuration=3600,
    )["Role"]
    assert role["Arn"] == f"acs:ram::{ACCOUNT}:role/aliyunrdsinstanceencryptiondefaultrole"
    assert role["RoleId"] and role["MaxSessionDuration"] == 3600
    assert json.loads(role["AssumeRolePolicyDocument"]) == RDS_TRUST

    for policy_type, name in (
        ("Custom", "RdsKms"),
        ("System", "AliyunRDSInstanceEncryptionRolePolicy"),
    ):
        legacy.ram(
            "AttachPolicyToRole",
            PolicyType=policy_type,
            PolicyName=name,
            RoleName="AliyunRDSInstanceEncryptionDefaultRole",
        )
    listed = legacy.ram("ListPoliciesForRole", RoleName="AliyunRDSInstanceEncryptionDefaultRole")
    items = listed["Policies"]["Policy"]
    assert sorted((p["PolicyName"], p["PolicyType"], p["DefaultVersion"]) for p in items) == [
        ("AliyunRDSInstanceEncryptionRolePolicy", "System", "v1"),
        ("RdsKms", "Custom", "v1"),
    ]
    assert all(p["AttachDate"] for p in items)


def test_ram_errors(legacy: Legacy) -> None:
    trust = json.dumps(RDS_TRUST)
    legacy.ram("CreateRole", RoleName="r1", AssumeRolePolicyDocument=trust)
    cases = [
        (
            _request(ram_requests, "CreateRole", RoleName="r1", AssumeRolePolicyDocument=trust),
            409,
            "EntityAlreadyExists.Role",
        ),
        (
            _request(ram_requests, "CreatePolicy", PolicyName="p", PolicyDocument="{not json"),
            400,
            "MalformedPolicyDocument",
        ),
        (_request(ram_requests, "CreatePolicy", PolicyName="p"), 400, "MissingParameter"),
        (
            _request(
                ram_requests,
                "AttachPolicyToRole",
                PolicyType="Custom",
                PolicyName="nope",
                RoleName="r1",
            ),
            404,
            "EntityNotExist.Policy",
        ),
        (
            _request(ram_requests, "ListPoliciesForRole", RoleName="nope"),
            404,
            "EntityNotExist.Role",
        ),
    ]
    for request, status, code in cases:
        assert_server_error(legacy.error(request), status, code)


# --- RDS on the demo world ----------------------------------------------------------------


def test_rds_describe_instances_and_attribute(demo: Emulator) -> None:
    legacy = Legacy(demo.endpoint)
    page = legacy.rds("DescribeDBInstances", Engine="PostgreSQL", PageSize=5, PageNumber=1)
    assert isinstance(page["Items"]["DBInstance"], list) and len(page["Items"]["DBInstance"]) == 5
    assert (page["PageNumber"], page["PageRecordCount"], page["TotalRecordCount"]) == (1, 5, 9)
    first = page["Items"]["DBInstance"][0]
    assert {"DBInstanceId", "DBInstanceStatus", "DBInstanceClass", "LockMode"} <= first.keys()
    assert "DBInstanceClassType" not in first  # only the attribute call has it, as real

    attribute = legacy.rds("DescribeDBInstanceAttribute", DBInstanceId=GENERAL_OFF)
    (item,) = attribute["Items"]["DBInstanceAttribute"]
    assert (item["DBInstanceClassType"], item["Category"], item["DBInstanceStatus"]) == (
        "x",
        "HighAvailability",
        "Running",
    )
    assert item["LockMode"] == "Unlock" and item["MaintainTime"] == "18:00Z-22:00Z"


def test_rds_tags(demo: Emulator) -> None:
    """The legacy SDK's RepeatLists (ResourceId.N, Tag.N.Key/Value, TagKey.N) on the wire."""
    legacy = Legacy(demo.endpoint)
    ids = [GENERAL_OFF, DEDICATED_OFF]
    tags = [{"Key": "owner", "Value": "dba"}, {"Key": "env", "Value": "qa"}]
    legacy.rds("TagResources", ResourceType="INSTANCE", ResourceIds=ids, Tags=tags)
    legacy.rds("UntagResources", ResourceType="INSTANCE", ResourceIds=ids, TagKeys=["team"])
    listed = legacy.rds("ListTagResources", ResourceType="INSTANCE", Tags=[{"Key": "owner"}])
    rows = listed["TagResources"]["TagResource"]
    assert {(r["ResourceId"], r["TagKey"], r["TagValue"]) for r in rows} == {
        (i, k, v) for i in ids for k, v in (("owner", "dba"), ("env", "qa"))
    }  # env overwritten from the demo's value; team removed
    assert "NextToken" not in listed
    legacy.rds("UntagResources", ResourceType="INSTANCE", ResourceIds=ids, All=True)
    by_id = legacy.rds("ListTagResources", ResourceType="INSTANCE", ResourceIds=ids)
    assert by_id["TagResources"]["TagResource"] == []
    request = _request(rds_requests, "TagResources", ResourceType="INSTANCE", ResourceIds=ids)
    assert_server_error(legacy.error(request), 400, "MissingParameter")  # no Tag.N


def test_rds_encryption_key_views(demo: Emulator) -> None:
    legacy = Legacy(demo.endpoint)
    off = legacy.rds("DescribeDBInstanceEncryptionKey", DBInstanceId=DEDICATED_OFF)
    assert off["EncryptionKey"] == "" and off["EncryptionKeyList"] == []
    service = legacy.rds("DescribeDBInstanceEncryptionKey", DBInstanceId=DEDICATED_SERVICE)
    service_key = legacy.kms("DescribeKey", KeyId="alias/acs/rds")["KeyMetadata"]["KeyId"]
    assert service["EncryptionKey"] == service_key
    (entry,) = service["EncryptionKeyList"]  # a plain list, not {"EncryptionKey": [...]}
    assert (entry["KeyType"], entry["AliasName"], entry["UsedBy"]) == (
        "ServiceKey",
        "alias/acs/rds",
        "DiskEncryption",
    )


def test_rds_modify_config_and_its_errors(demo: Emulator) -> None:
    legacy = Legacy(demo.endpoint)
    answer = legacy.rds(
        "ModifyDBInstanceConfig",
        DBInstanceId=GENERAL_OFF,
        ConfigName="encryptionKey",
        ConfigValue="ServiceKey",
    )
    assert answer.keys() == {"RequestId"}
    item = legacy.rds("DescribeDBInstanceAttribute", DBInstanceId=GENERAL_OFF)
    assert item["Items"]["DBInstanceAttribute"][0]["DBInstanceStatus"] == "CONFIG_ENCRYPTING"

    key_id = legacy.kms("CreateKey", Tags=json.dumps([TAG]))["KeyMetadata"]["KeyId"]
    again = _request(
        rds_requests,
        "ModifyDBInstanceConfig",
        DBInstanceId=GENERAL_OFF,
        ConfigName="encryptionKey",
        ConfigValue="disabled",
    )
    assert_server_error(legacy.error(again), 403, "IncorrectDBInstanceState")  # RDS's table
    cases = [
        (DEDICATED_OFF, "nope-key", 400, "KmsApiError"),
        ("pgm-bp1gp00000000002", key_id, 400, "IncorrectDBInstanceType"),
        ("pgm-bp1sls0000000001", "ServiceKey", 400, "Unsupported.Serverless"),
        ("pgm-doesnotexist0001", "ServiceKey", 404, "InvalidDBInstanceId.NotFound"),
    ]
    for instance_id, value, status, code in cases:
        request = _request(
            rds_requests,
            "ModifyDBInstanceConfig",
            DBInstanceId=instance_id,
            ConfigName="encryptionKey",
            ConfigValue=value,
        )
        assert_server_error(legacy.error(request), status, code)
    # a CMK on a dedicated instance without the RDS role: not authorised
    cmk = _request(
        rds_requests,
        "ModifyDBInstanceConfig",
        DBInstanceId=DEDICATED_OFF,
        ConfigName="encryptionKey",
        ConfigValue=key_id,
    )
    assert_server_error(legacy.error(cmk), 403, "ByokNotAuthorizedToRds")  # status: chosen


# --- protocol -----------------------------------------------------------------------------


def test_wrong_secret_is_reported_as_invalid_secret(emulator: Emulator) -> None:
    """The emulator's `...string to sign is:<sts>` equals the SDK's own string to sign, so the
    SDK's `message.split(':')[1]` check recognises a wrong secret (no crash, no bare
    SignatureDoesNotMatch), exactly as it does against the cloud."""
    bad = Legacy(emulator.endpoint, secret="not-the-secret")
    for method in ("POST", "GET"):
        error = bad.error(_request(kms_requests, "DescribeKey", KeyId="alias/acs/rds"), method)
        assert_server_error(error, 400, "InvalidAccessKeySecret")


def test_unknown_access_key(emulator: Emulator) -> None:
    stranger = Legacy(emulator.endpoint, key_id="LTAIunknown")
    error = stranger.error(_request(kms_requests, "DescribeKey", KeyId="alias/acs/rds"))
    assert_server_error(error, 404, "InvalidAccessKeyId.NotFound")


def _common(endpoint: str, product: str, version: str, action: str) -> Any:
    request = core_request.CommonRequest(domain=endpoint, version=version, action_name=action)
    request.set_protocol_type("http")
    request.set_method("POST")
    return request


def test_unknown_action_and_version(legacy: Legacy) -> None:
    request = _common(legacy.endpoint, "Kms", "2016-01-20", "FlyToTheMoon")
    assert_server_error(legacy.error(request), 404, "InvalidAction.NotFound")
    request = _common(legacy.endpoint, "Kms", "1999-01-01", "DescribeKey")
    assert_server_error(legacy.error(request), 400, "InvalidVersion")


def test_legacy_body_parameters_are_signed_and_read(legacy: Legacy) -> None:
    """With body parameters the legacy SDK sends a form body and signs query and body together."""
    request = _common(legacy.endpoint, "Kms", "2016-01-20", "CreateKey")
    request.add_body_params("Description", "form body: a+b c&d=e")
    request.add_body_params("Tags", json.dumps([TAG]))
    meta = legacy.call(request)["KeyMetadata"]
    assert meta["Description"] == "form body: a+b c&d=e"
    tags = legacy.kms("ListResourceTags", KeyId=meta["KeyId"])["Tags"]["Tag"]
    assert [(t["TagKey"], t["TagValue"]) for t in tags] == [(TAG["TagKey"], TAG["TagValue"])]


@pytest.mark.parametrize("plus_for_space", [True, False])
def test_pop_core_style_form_body(emulator: Emulator, plus_for_space: bool) -> None:
    """pop-core (Node) and the old Java/C# SDKs: POST, every parameter (signature included) in
    an x-www-form-urlencoded body, nothing in the query. Form encoders write a space as `+`
    (Java) or `%20` (Node); both must decode to the signed value."""
    params = wc.sign_v1(
        "POST",
        "CreateKey",
        wc.VERSIONS["kms"],
        {"Description": "team key + more", "Tags": json.dumps([TAG]), "SignatureType": ""},
    )
    body = urlencode(params) if plus_for_space else urlencode(params, quote_via=quote)
    conn = http.client.HTTPConnection(emulator.endpoint, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
        status, answer, _ = wc.send(conn, "POST", {}, headers, body.encode())
    finally:
        conn.close()
    assert status == 200, answer
    assert answer["KeyMetadata"]["Description"] == "team key + more"
    status, tags = wc.call(
        emulator.endpoint, "kms", "ListResourceTags", {"KeyId": answer["KeyMetadata"]["KeyId"]}
    )
    assert status == 200 and tags["Tags"]["Tag"][0]["TagKey"] == TAG["TagKey"]


def test_pop_core_style_form_body_tampered(emulator: Emulator) -> None:
    params = wc.sign_v1(
        "POST", "DescribeDBInstances", wc.VERSIONS["rds"], {"RegionId": "cn-hangzhou"}
    )
    params["RegionId"] = "cn-shanghai"  # changed after signing
    conn = http.client.HTTPConnection(emulator.endpoint, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, answer, _ = wc.send(conn, "POST", {}, headers, urlencode(params).encode())
    finally:
        conn.close()
    assert (status, answer["Code"]) == (400, "SignatureDoesNotMatch")
    assert ":" in answer["Message"]


def test_faults_and_throttling_reach_the_legacy_sdk(emulator: Emulator) -> None:
    """Injected 5xx and quota answers are ServerExceptions with the real status and code, and
    `auto_retry=False` really sends one request."""
    admin, legacy = AdminClient(emulator.base_url), Legacy(emulator.endpoint)
    admin.post(
        "faults", {"action": "DescribeKey", "code": "ServiceUnavailable", "status": 503, "times": 1}
    )
    error = legacy.error(_request(kms_requests, "DescribeKey", KeyId="alias/acs/rds"))
    assert_server_error(error, 503, "ServiceUnavailable")
    assert admin.get("calls")["by_action"]["kms:DescribeKey"] == 1
    admin.post("quota", {"action": "ListPoliciesForRole", "per_second": 0})
    error = legacy.error(_request(ram_requests, "ListPoliciesForRole", RoleName="r1"))
    assert_server_error(error, 400, "Throttling.User")
    admin.post("quota", {"action": "ListKeys", "per_second": 0})
    assert_server_error(
        legacy.error(_request(kms_requests, "ListKeys")), 429, "Rejected.Throttling"
    )
