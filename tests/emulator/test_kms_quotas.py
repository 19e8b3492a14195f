"""KMS's documented quotas per account and region (key-management reads 50/s, ListResourceTags
300/s, CreateKey 10/s, DescribeAccountKmsStatus 1/s): the emulator's default quotas when served,
and the reconciler's default client limits, the same numbers."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from reconciler.cloud.ratelimit import DEFAULT_LIMITS
from reconciler.emulator.quota import DEFAULT_KMS_QUOTAS
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.rate_limits import KNOWN_ACTIONS
from tests.emulator import wire_client as wc
from tests.emulator.conftest import AdminClient
from tests.emulator.test_serve_command import Served

DOCUMENTED = {
    "kms:DescribeKey": 50,
    "kms:ListKeys": 50,
    "kms:ListAliases": 50,
    "kms:ListAliasesByKeyId": 50,
    "kms:ListResourceTags": 300,
    "kms:CreateKey": 10,
    "kms:DescribeAccountKmsStatus": 1,
}


def test_the_emulator_defaults_are_the_documented_quotas() -> None:
    assert DEFAULT_KMS_QUOTAS == DOCUMENTED


def test_the_client_limits_are_the_same_for_every_kms_action_the_tool_sends() -> None:
    sent = {a for a in KNOWN_ACTIONS if a in DOCUMENTED}
    assert sent == {
        "kms:DescribeKey",
        "kms:ListAliasesByKeyId",
        "kms:ListKeys",
        "kms:ListAliases",
        "kms:ListResourceTags",
        "kms:CreateKey",
        "kms:DescribeAccountKmsStatus",
    }
    assert {a: DEFAULT_LIMITS[a] for a in sent} == {a: float(DOCUMENTED[a]) for a in sent}


@pytest.fixture
def quota_emulator() -> Iterator[Emulator]:
    with Emulator(settings=Settings(kms_quotas=True)) as emu:
        yield emu


def test_past_one_status_call_a_second_is_rejected_throttling(quota_emulator: Emulator) -> None:
    endpoint = quota_emulator.endpoint
    assert wc.call(endpoint, "kms", "DescribeAccountKmsStatus")[0] == 200
    status, body = wc.call(endpoint, "kms", "DescribeAccountKmsStatus")
    assert (status, body["Code"]) == (429, "Rejected.Throttling")
    assert wc.call(endpoint, "rds", "DescribeDBInstances", {"RegionId": "cn-hangzhou"})[0] == 200


def test_the_defaults_are_listed_and_can_be_cleared(quota_emulator: Emulator) -> None:
    admin = AdminClient(quota_emulator.base_url)
    listed = {q["action"]: q["per_second"] for q in admin.get("quota")["quotas"]}
    assert listed == DOCUMENTED
    assert admin.delete("quota")["quotas"] == []
    for _ in range(3):
        assert wc.call(quota_emulator.endpoint, "kms", "DescribeAccountKmsStatus")[0] == 200


def test_an_emulator_made_in_python_starts_without_them() -> None:
    with Emulator() as emu:
        assert AdminClient(emu.base_url).get("quota") == {"quotas": []}


@pytest.mark.parametrize(("flag", "expected"), [((), DOCUMENTED), (("--no-kms-quotas",), {})])
def test_serve_starts_with_the_documented_quotas(flag: tuple[str, ...], expected: dict) -> None:
    server = Served("--port", "0", *flag)
    try:
        with urllib.request.urlopen(f"{server.url}/_emulator/quota", timeout=10) as answer:
            quotas = json.loads(answer.read())["quotas"]
        assert {q["action"]: q["per_second"] for q in quotas} == expected
    finally:
        server.stop()
