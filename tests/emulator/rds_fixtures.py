"""Fixtures and helpers for the RDS emulator tests (used with tests/emulator/conftest.py).

A test module imports the fixtures it needs by name, e.g.
``from tests.emulator.rds_fixtures import emulator, signature``: they override conftest's so the
emulator restarts take RESTART_SECONDS of EMULATED time (advanced with POST clock, never slept)
and each test runs once, with the SDK's default V3 signature.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_rds20140815 import models as rds_models

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.emulator.conftest import TEST_KMS_INSTANCES, seed_kms_instances

RESTART_SECONDS = 600.0
REGION = "cn-hangzhou"
ACCOUNT = "1234567890123456"
ROLE = "AliyunRDSInstanceEncryptionDefaultRole"
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


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(state_path=":memory:", settings=Settings(restart_seconds=RESTART_SECONDS)) as emu:
        yield seed_kms_instances(emu)


@pytest.fixture
def signature() -> str:
    return "v3"


# --- RDS ----------------------------------------------------------------------------------


def create_instance(rds: Any, **overrides: Any) -> str:
    """A PostgreSQL instance (dedicated HA on cloud_essd unless overridden); returns its id."""
    fields: dict[str, Any] = {
        "region_id": REGION,
        "engine": "PostgreSQL",
        "engine_version": "16.0",
        "dbinstance_class": "pg.x4.large.2c",
        "dbinstance_storage": 100,
        "dbinstance_storage_type": "cloud_essd",
        "category": "HighAvailability",
        "dbinstance_net_type": "Intranet",
        "pay_type": "Postpaid",
        "security_iplist": "10.0.0.0/8",
    }
    fields.update(overrides)
    request = rds_models.CreateDBInstanceRequest(**fields)
    return str(rds.create_dbinstance(request).body.dbinstance_id)


def running_instance(rds: Any, admin: Any, **overrides: Any) -> str:
    instance_id = create_instance(rds, **overrides)
    advance(admin, RESTART_SECONDS)
    return instance_id


def advance(admin: Any, seconds: float) -> None:
    admin.post("clock", {"advance_seconds": seconds})


def attribute(rds: Any, instance_id: str) -> Any:
    request = rds_models.DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
    return rds.describe_dbinstance_attribute(request).body.items.dbinstance_attribute[0]


def status(rds: Any, instance_id: str) -> str:
    return str(attribute(rds, instance_id).dbinstance_status)


def encryption_key(rds: Any, instance_id: str) -> Any:
    request = rds_models.DescribeDBInstanceEncryptionKeyRequest(
        dbinstance_id=instance_id, region_id=REGION
    )
    return rds.describe_dbinstance_encryption_key(request).body


def set_key(rds: Any, instance_id: str, value: str, **extra: Any) -> Any:
    request = rds_models.ModifyDBInstanceConfigRequest(
        dbinstance_id=instance_id, config_name="encryptionKey", config_value=value, **extra
    )
    return rds.modify_dbinstance_config(request)


# --- KMS and RAM --------------------------------------------------------------------------


def create_key(kms: Any, *, tagged: bool = True, region: str = REGION, **extra: Any) -> str:
    tags = [{"TagKey": "team", "TagValue": "dba"}]
    if tagged:
        tags.append({"TagKey": "acs:rds:instance-encryption", "TagValue": "true"})
    extra.setdefault("dkmsinstance_id", TEST_KMS_INSTANCES.get(region))  # not a default key
    request = kms_models.CreateKeyRequest(description="test key", tags=json.dumps(tags), **extra)
    return str(kms.create_key(request).body.key_metadata.key_id)


def key_arn(key_id: str, region: str = REGION) -> str:
    return f"acs:kms:{region}:{ACCOUNT}:key/{key_id}"


def create_role(ram: Any, trust: dict[str, Any] | None = None, name: str = ROLE) -> None:
    request = ram_models.CreateRoleRequest(
        role_name=name, assume_role_policy_document=json.dumps(trust or RDS_TRUST)
    )
    ram.create_role(request)


def attach(ram: Any, policy_name: str, policy_type: str = "System", role: str = ROLE) -> None:
    request = ram_models.AttachPolicyToRoleRequest(
        policy_type=policy_type, policy_name=policy_name, role_name=role
    )
    ram.attach_policy_to_role(request)


def create_policy(ram: Any, name: str, statements: list[dict[str, Any]]) -> None:
    document = json.dumps({"Version": "1", "Statement": statements})
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name=name, policy_document=document))


def authorize_rds(ram: Any) -> None:
    """The documented setup: the default role trusting RDS with the system policy attached."""
    create_role(ram)
    attach(ram, "AliyunRDSInstanceEncryptionRolePolicy")
