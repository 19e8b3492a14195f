"""RDS instances through the real SDK: create, statuses on the emulated clock, describe, paging,
filters, delete."""

from __future__ import annotations

import re
from typing import Any

import pytest
from alibabacloud_rds20140815 import models as m

from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    REGION,
    RESTART_SECONDS,
    advance,
    attribute,
    create_instance,
    emulator,
    running_instance,
    signature,
    status,
)


def _list(rds: Any, **params: Any) -> Any:
    return rds.describe_dbinstances(m.DescribeDBInstancesRequest(region_id=REGION, **params)).body


def test_create_is_creating_then_running_after_restart_seconds(rds: Any, admin: Any) -> None:
    instance_id = create_instance(rds)
    assert re.fullmatch(r"pgm-bp1[a-z0-9]{13}", instance_id)
    assert status(rds, instance_id) == "Creating"
    advance(admin, RESTART_SECONDS - 5)
    assert status(rds, instance_id) == "Creating"
    advance(admin, 5)
    assert status(rds, instance_id) == "Running"


def test_attribute_fields(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin, dbinstance_class="pg.x8.medium.1", category="Basic")
    item = attribute(rds, instance_id)
    assert item.dbinstance_id == instance_id
    assert item.engine == "PostgreSQL" and item.engine_version == "16.0"
    assert item.category == "Basic"
    assert item.dbinstance_class_type == "d"
    assert item.dbinstance_storage_type == "cloud_essd"
    assert item.dbinstance_storage == 100
    assert item.lock_mode == "Unlock"
    assert item.maintain_time == "18:00Z-22:00Z"
    # not serverless: the object is still sent, with zero values (Terraform dereferences it)
    assert (item.serverless_config.scale_min, item.serverless_config.scale_max) == (0.0, 0.0)
    assert item.region_id == REGION and item.zone_id == "cn-hangzhou-h"


@pytest.mark.parametrize(
    ("class_code", "category", "expected"),
    [
        ("pg.x4.large.2c", "HighAvailability", "d"),
        ("pg.x8.medium.1", "Basic", "d"),
        ("pg.n2.2c.1m", "Basic", "x"),
        ("pg.n4.2c.2m", "HighAvailability", "x"),
        ("pg.n2e.2c.2m", "HighAvailability", "x"),
        ("pg.n1e.2c.2m", "HighAvailability", "x"),
    ],
)
def test_class_type_is_derived_from_the_class_code(
    rds: Any, class_code: str, category: str, expected: str
) -> None:
    instance_id = create_instance(rds, dbinstance_class=class_code, category=category)
    assert attribute(rds, instance_id).dbinstance_class_type == expected


def test_serverless_instance_shows_serverless_config(rds: Any) -> None:
    instance_id = create_instance(
        rds,
        dbinstance_class="pg.n2.serverless.1c",
        category="serverless_basic",
        pay_type="Serverless",
        serverless_config=m.CreateDBInstanceRequestServerlessConfig(
            min_capacity=1, max_capacity=4, auto_pause=True
        ),
    )
    item = attribute(rds, instance_id)
    assert item.category == "serverless_basic"
    assert item.serverless_config.scale_min == 1.0
    assert item.serverless_config.scale_max == 4.0
    assert item.serverless_config.auto_pause is True


def test_list_item_has_no_class_type_and_carries_lock_mode(rds: Any) -> None:
    create_instance(rds)
    body = _list(rds)
    item = body.items.dbinstance[0].to_map()
    assert "DBInstanceClassType" not in item and "ServerlessConfig" not in item
    assert item["LockMode"] == "Unlock"
    assert item["DBInstanceStorageType"] == "cloud_essd"


def test_page_number_paging(rds: Any) -> None:
    ids = [create_instance(rds) for _ in range(7)]
    first = _list(rds, page_size=3, page_number=1)
    third = _list(rds, page_size=3, page_number=3)
    assert first.total_record_count == 7 and first.page_record_count == 3
    assert [i.dbinstance_id for i in first.items.dbinstance] == ids[:3]
    assert [i.dbinstance_id for i in third.items.dbinstance] == ids[6:]
    assert third.page_number == 3


def test_next_token_paging_walks_every_instance_once(rds: Any) -> None:
    ids = [create_instance(rds) for _ in range(5)]
    seen, token = [], None
    for _ in range(10):
        body = _list(rds, max_results=2, next_token=token)
        seen += [i.dbinstance_id for i in body.items.dbinstance]
        token = body.next_token
        if not token:
            break
    assert seen == ids


def test_page_size_over_100_and_bad_token_are_refused(rds: Any, api_error: Any) -> None:
    assert api_error(lambda: _list(rds, page_size=101)).code == "InvalidParameter"
    assert api_error(lambda: _list(rds, max_results=101)).code == "InvalidParameter"
    error = api_error(lambda: _list(rds, next_token="made-up"))
    assert error.code.startswith("InvalidParameter") and error.status_code == 400


def test_filters(rds: Any, admin: Any) -> None:
    a = create_instance(rds)
    advance(admin, RESTART_SECONDS)
    b = create_instance(rds)
    c = create_instance(
        rds, engine="MySQL", engine_version="8.0", dbinstance_class="mysql.x4.large.2c"
    )

    def ids(**params: Any) -> list[str]:
        return [i.dbinstance_id for i in _list(rds, **params).items.dbinstance]

    assert ids(engine="PostgreSQL") == [a, b]
    assert ids(dbinstance_id=f"{a},{c}") == [a, c]
    assert ids(dbinstance_status="Running") == [a]
    assert ids(dbinstance_status="Creating", engine="PostgreSQL") == [b]


def test_region_is_required_and_scopes_the_list(rds: Any, api_error: Any) -> None:
    create_instance(rds)
    shanghai = create_instance(rds, region_id="cn-shanghai")
    assert shanghai.startswith("pgm-uf6")
    body = rds.describe_dbinstances(m.DescribeDBInstancesRequest(region_id="cn-shanghai")).body
    assert [i.dbinstance_id for i in body.items.dbinstance] == [shanghai]
    error = api_error(lambda: rds.describe_dbinstances(m.DescribeDBInstancesRequest()))
    assert error.code == "MissingParameter"


def test_attribute_accepts_a_comma_list(rds: Any) -> None:
    a, b = create_instance(rds), create_instance(rds)
    request = m.DescribeDBInstanceAttributeRequest(dbinstance_id=f"{a},{b}")
    items = rds.describe_dbinstance_attribute(request).body.items.dbinstance_attribute
    assert [i.dbinstance_id for i in items] == [a, b]


def test_delete_removes_the_instance(rds: Any, api_error: Any) -> None:
    instance_id = create_instance(rds)
    rds.delete_dbinstance(m.DeleteDBInstanceRequest(dbinstance_id=instance_id))
    error = api_error(lambda: attribute(rds, instance_id))
    assert (error.code, error.status_code) == ("InvalidDBInstanceId.NotFound", 404)
    error = api_error(
        lambda: rds.delete_dbinstance(m.DeleteDBInstanceRequest(dbinstance_id=instance_id))
    )
    assert error.code == "InvalidDBInstanceId.NotFound"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("engine", "Oracle", "InvalidEngine"),
        ("category", "Enterprise", "InvalidCategory"),
        ("dbinstance_storage_type", "floppy", "InvalidDBInstanceStorageType"),
        ("dbinstance_class", "pg.n2.serverless.1c", "InvalidDBInstanceClass"),
    ],
)
def test_create_refuses_bad_shapes(
    rds: Any, api_error: Any, field: str, value: str, code: str
) -> None:
    error = api_error(lambda: create_instance(rds, **{field: value}))
    assert (error.code, error.status_code) == (code, 400)


def test_create_requires_its_parameters(rds: Any, api_error: Any) -> None:
    error = api_error(lambda: create_instance(rds, security_iplist=None))
    assert error.code == "MissingParameter"


def test_create_with_client_token_is_idempotent(rds: Any, api_error: Any) -> None:
    first = create_instance(rds, client_token="tok-1")
    assert create_instance(rds, client_token="tok-1") == first
    assert (
        len(
            rds.describe_dbinstances(
                m.DescribeDBInstancesRequest(region_id=REGION)
            ).body.items.dbinstance
        )
        == 1
    )
    error = api_error(lambda: create_instance(rds, client_token="tok-1", dbinstance_storage=200))
    assert (error.code, error.status_code) == ("IdempotentParameterMismatch", 400)


def test_modify_maintain_time(rds: Any, admin: Any, api_error: Any) -> None:
    instance_id = running_instance(rds, admin)
    rds.modify_dbinstance_maintain_time(
        m.ModifyDBInstanceMaintainTimeRequest(
            dbinstance_id=instance_id, maintain_time="02:00Z-03:00Z"
        )
    )
    assert attribute(rds, instance_id).maintain_time == "02:00Z-03:00Z"
    error = api_error(
        lambda: rds.modify_dbinstance_maintain_time(
            m.ModifyDBInstanceMaintainTimeRequest(dbinstance_id=instance_id, maintain_time="2-3")
        )
    )
    assert error.status_code == 400 and error.code.startswith("InvalidMaintainTime")


def test_v1_signed_sdk_clients_work_too(emulator: Any) -> None:  # noqa: F811
    from tests.emulator.conftest import sdk_client

    v1 = sdk_client("rds", emulator.endpoint, "v1")
    instance_id = create_instance(v1)
    assert attribute(v1, instance_id).dbinstance_id == instance_id
