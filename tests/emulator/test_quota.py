"""POST /_emulator/quota: past the rate, the real throttling answer with retry-after headers."""

from __future__ import annotations

import http.client
import urllib.error
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as km
from alibabacloud_ram20150501 import models as rm
from alibabacloud_rds20140815 import models as m
from alibabacloud_tea_openapi.exceptions import ThrottlingException

from reconciler.emulator.quota import QuotaTable
from tests.emulator.rds_fixtures import REGION, create_instance, emulator, signature  # noqa: F401
from tests.emulator.wire_client import send, sign_v3


def _describe(rds: Any) -> Any:
    return rds.describe_dbinstances(m.DescribeDBInstancesRequest(region_id=REGION))


def test_rds_over_quota_is_throttling_user_with_retry_after(rds: Any, admin: Any) -> None:
    admin.post("quota", {"action": "DescribeDBInstances", "per_second": 3})
    for _ in range(3):
        _describe(rds)
    with pytest.raises(ThrottlingException) as info:
        _describe(rds)
    error = info.value
    assert (error.code, error.status_code) == ("Throttling.User", 400)
    assert error.data["Message"] == "Request was denied due to user flow control."
    assert 0 < error.retry_after <= 1000
    create_instance(rds)  # other actions are not limited (the window itself: unit test below)


def test_kms_over_quota_is_rejected_throttling_429(kms: Any, admin: Any) -> None:
    admin.post("quota", {"action": "kms:DescribeKey", "per_second": 1})
    request = km.DescribeKeyRequest(key_id="alias/acs/rds")
    kms.describe_key(request)
    with pytest.raises(ThrottlingException) as info:
        kms.describe_key(request)
    assert (info.value.code, info.value.status_code) == ("Rejected.Throttling", 429)
    assert info.value.data["Message"] == "QPS Limit Exceeded"


def test_ram_over_quota_is_throttling_user(ram: Any, admin: Any) -> None:
    admin.post("quota", {"action": "*", "per_second": 0})
    with pytest.raises(ThrottlingException) as info:
        ram.get_role(rm.GetRoleRequest(role_name="any"))
    assert (info.value.code, info.value.status_code) == ("Throttling.User", 400)


def test_both_retry_headers_on_the_wire(emulator: Any, admin: Any) -> None:  # noqa: F811
    admin.post("quota", {"action": "rds:DescribeDBInstances", "per_second": 0})
    conn = http.client.HTTPConnection(emulator.endpoint, timeout=10)
    try:
        params = {"RegionId": REGION}
        headers = sign_v3("POST", emulator.endpoint, "DescribeDBInstances", "2014-08-15", params)
        status, body, answer_headers = send(conn, "POST", params, headers)
    finally:
        conn.close()
    lower = {k.lower(): v for k, v in answer_headers.items()}
    assert status == 400 and body["Code"] == "Throttling.User"
    assert int(lower["x-acs-retry-after"]) > 0
    limit = dict(part.split(":") for part in lower["x-ratelimit-user-api"].split(","))
    assert limit["Limit"] == "0" and limit["Remain"] == "0" and int(limit["TimeLeft"]) > 0


def test_without_retry_headers_the_sdk_sees_a_client_error(
    rds: Any, admin: Any, api_error: Any
) -> None:
    admin.post("quota", {"action": "DescribeDBInstances", "per_second": 0, "retry_headers": False})
    error = api_error(lambda: _describe(rds))
    assert not isinstance(error, ThrottlingException)
    assert (error.code, error.status_code) == ("Throttling.User", 400)


def test_get_and_delete_quotas(rds: Any, admin: Any) -> None:
    admin.post("quota", {"action": "DescribeDBInstances", "per_second": 0})
    admin.post("quota", {"action": "kms:ListKeys", "per_second": 5})
    assert {q["action"] for q in admin.get("quota")["quotas"]} == {
        "DescribeDBInstances",
        "kms:ListKeys",
    }
    admin._send("DELETE", "quota", {"action": "DescribeDBInstances"})
    _describe(rds)
    assert [q["action"] for q in admin.delete("quota")["quotas"]] == []


@pytest.mark.parametrize(
    "body",
    [
        {"per_second": 3},
        {"action": "X", "per_second": -1},
        {"action": "X", "per_second": "3"},
        {"action": "X", "per_second": 1, "retry_headers": "yes"},
    ],
)
def test_bad_quota_requests_are_400(admin: Any, body: dict) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        admin.post("quota", body)
    assert info.value.code == 400


def test_sliding_window_unit() -> None:
    now = [100.0]
    table = QuotaTable(clock=lambda: now[0])
    table.set("A", 2)
    table.check("rds", "A")
    table.check("rds", "A")
    with pytest.raises(Exception) as info:
        table.check("rds", "A")
    assert info.value.headers["x-acs-retry-after"] == "1000"
    now[0] += 0.4
    with pytest.raises(Exception) as info:
        table.check("rds", "A")
    assert info.value.headers["x-acs-retry-after"] == "600"
    now[0] += 0.6
    table.check("rds", "A")  # the first call left the window; refused calls did not count
    table.check("rds", "B")  # no quota for B
