"""DescribeDBInstanceTDE and the attribute's TDE prerequisites, read as an allow-list
(cloud/rds.py; docs/real-cloud.md, "TDE and the key list"): only answers that state a fact are
facts, everything else raises (the reading labels it and the plan stops)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.cloud.rds_tde import kernel_version_of, read_only_ids_of, tde_from_body
from reconciler.core.facts import ObservedTde

RID = {"RequestId": "r-1"}
KEY = "key-hzz0000000000000000000000"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"TDEStatus": "Disabled"}, ObservedTde(enabled=False)),
        ({"TDEStatus": "Disabled", "TDEMode": "Unknown"}, ObservedTde(enabled=False)),
        (
            {"TDEStatus": "Enabled", "TDEMode": "Customer_Provided_Key", "EncryptionKey": KEY},
            ObservedTde(enabled=True, mode="Customer_Provided_Key", key_id=KEY),
        ),
        (
            {"TDEStatus": "Enabled", "TDEMode": "Aliyun_Generate_Key"},
            ObservedTde(enabled=True, mode="Aliyun_Generate_Key"),
        ),
        (
            {"TDEStatus": "Enabled", "TDEMode": "Aliyun_Generate_Key", "EncryptionKey": KEY},
            ObservedTde(enabled=True, mode="Aliyun_Generate_Key", key_id=KEY),
        ),
    ],
)
def test_documented_answers_are_facts(body: dict[str, Any], expected: ObservedTde) -> None:
    assert tde_from_body({**RID, **body}) == expected


@pytest.mark.parametrize(
    "body",
    [
        {"TDEStatus": "Enabled", "TDEMode": "Customer_Provided_Key"},  # whose key?
        {"TDEStatus": "Enabled", "TDEMode": "Customer_Provided_Key", "EncryptionKey": ""},
        {"TDEStatus": "Enabled", "TDEMode": "Unknown", "EncryptionKey": KEY},
        {"TDEStatus": "Enabled"},
        {"TDEStatus": "Enabling"},
        {"TDEStatus": "enabled", "TDEMode": "Customer_Provided_Key", "EncryptionKey": KEY},
        {},
        {"TDEStatus": "Disabled", "EncryptionKey": KEY},
        {"TDEStatus": "Disabled", "TDEMode": "Customer_Provided_Key"},
        {"TDEStatus": "Enabled", "TDEMode": "Customer_Provided_Key", "EncryptionKey": 7},
    ],
)
def test_every_other_answer_raises(body: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        tde_from_body({**RID, **body})


def test_an_answer_without_request_id_is_not_one_of_the_api() -> None:
    with pytest.raises(ValueError, match="RequestId"):
        tde_from_body({"TDEStatus": "Disabled"})


def _ids(*ids: str) -> dict[str, Any]:
    return {"ReadOnlyDBInstanceId": [{"DBInstanceId": i} for i in ids]}


def test_read_only_ids_as_the_sdk_models_them_from_both_answers() -> None:
    attribute = {"DBInstanceType": "Primary", "ReadOnlyDBInstanceIds": _ids("pgr-1")}
    listed = {"ReadOnlyDBInstanceIds": _ids("pgr-1", "pgr-2")}
    assert read_only_ids_of(attribute, listed) == ["pgr-1", "pgr-2"]
    assert read_only_ids_of({"ReadOnlyDBInstanceIds": {"ReadOnlyDBInstanceId": []}}) == []
    assert read_only_ids_of({"ReadOnlyDBInstanceIds": {}}) == []


def test_an_absent_field_is_no_read_only_instance_only_for_a_read_only_instance() -> None:
    assert read_only_ids_of({"DBInstanceType": "Readonly"}) == []
    assert read_only_ids_of({"MasterInstanceId": "pgm-1"}) == []
    with pytest.raises(ValueError, match="read-only instances"):
        read_only_ids_of({"DBInstanceType": "Primary"}, {})
    with pytest.raises(ValueError, match="read-only instances"):
        read_only_ids_of({})
    assert read_only_ids_of({"DBInstanceType": "Primary"}, {"ReadOnlyDBInstanceIds": _ids("r")})


@pytest.mark.parametrize(
    "field",
    [
        [],
        "pgr-1",
        {"ReadOnlyDBInstanceId": "pgr-1"},
        {"ReadOnlyDBInstanceId": [{"DBInstanceId": ""}]},
        {"ReadOnlyDBInstanceId": [{"Id": "pgr-1"}]},
        {"ReadOnlyDBInstanceId": ["pgr-1"]},
    ],
)
def test_a_malformed_read_only_list_raises(field: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        read_only_ids_of({"DBInstanceType": "Primary", "ReadOnlyDBInstanceIds": field})


def test_kernel_version() -> None:
    assert kernel_version_of({"CurrentKernelVersion": "rds_postgres_1400_20221030"}) == (
        "rds_postgres_1400_20221030"
    )
    assert kernel_version_of({}) == ""  # not said: the planner refuses rather than guess
    with pytest.raises(TypeError):
        kernel_version_of({"CurrentKernelVersion": 20221030})
