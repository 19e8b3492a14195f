"""Class types as docs/emulator.md derives them from the class code, through the official SDK:
family ``x*`` dedicated (``d``), ``n*`` general-purpose (``x``), ``s*`` shared (``s``); a CMK
only on ``d``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    attribute,
    authorize_rds,
    create_instance,
    create_key,
    emulator,
    running_instance,
    set_key,
    signature,
    status,
)

CLASSES = [
    ("pg.x4.large.2c", "d"),
    ("pg.x8.medium.1", "d"),
    ("pg.x4.2xlarge.1", "d"),
    ("pg.n2.2c.1m", "x"),
    ("pg.n4.2c.2m", "x"),
    ("pg.n1e.2c.2m", "x"),
    ("pg.n2e.2c.2m", "x"),
    ("pg.s2.large", "s"),
    ("rds.pg.s1.small", "s"),
]


@pytest.mark.parametrize(("class_code", "class_type"), CLASSES)
def test_attribute_reports_the_class_type(rds: Any, class_code: str, class_type: str) -> None:
    instance_id = create_instance(rds, dbinstance_class=class_code)
    assert attribute(rds, instance_id).dbinstance_class_type == class_type


@pytest.mark.parametrize(("class_code", "class_type"), CLASSES)
def test_a_cmk_needs_a_dedicated_class(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any, class_code: str, class_type: str
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin, dbinstance_class=class_code)
    if class_type == "d":
        set_key(rds, instance_id, key_id)
        assert status(rds, instance_id) == "CONFIG_ENCRYPTING"
        return
    error = api_error(lambda: set_key(rds, instance_id, key_id))
    assert (error.status_code, error.code) == (400, "IncorrectDBInstanceType")
    assert status(rds, instance_id) == "Running"


@pytest.mark.parametrize("class_code", ["pg.s2.large", "rds.pg.s1.small"])
def test_a_cmk_at_creation_needs_a_dedicated_class(
    rds: Any, kms: Any, ram: Any, api_error: Any, class_code: str
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    error = api_error(
        lambda: create_instance(rds, dbinstance_class=class_code, encryption_key=key_id)
    )
    assert (error.status_code, error.code) == (400, "IncorrectDBInstanceType")
