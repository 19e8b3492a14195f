"""Fail closed: a read that fails or answers something unexpected stops the plan (exit 1,
naming the resource, the action, the cloud's code and request id). It never becomes a fact
such as "encryption off" or "no such policy"."""

from __future__ import annotations

import json

import pytest

from tests.e2e import world
from tests.e2e.conftest import plan_json

REPO_SPECS = "specs"


def persistent_fault(endpoint: str, action: str, code: str, status: int) -> None:
    world.admin(
        endpoint,
        "POST",
        "faults",
        {"action": action, "code": code, "status": status, "rate": 1.0},
    )


def assert_stopped(run, *, action: str, code: str, resource: str) -> None:  # type: ignore[no-untyped-def]
    """Exit 1, no plan on stdout, and stderr names what failed and how."""
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.stdout.strip() == "", "a failed read must not print a plan"
    for needle in (action, code, resource, "request id"):
        assert needle in run.stderr, f"{needle!r} missing from: {run.stderr}"


ENCRYPTION_READ_ERRORS = [
    (400, "InvalidParameter"),
    (403, "OperationDenied"),
    (404, "InvalidDBInstanceId.NotFound"),
]


@pytest.mark.parametrize(("status", "code"), ENCRYPTION_READ_ERRORS)
def test_a_failed_encryption_read_is_not_encryption_off(  # type: ignore[no-untyped-def]
    demo, write_spec, status: int, code: str
) -> None:
    """pgm-bp1ded0000000003 is encrypted: disabling it must not plan "no changes" because
    its encryption read failed."""
    folder = write_spec({"instances": {"pgm-bp1ded0000000003": {"encryption": "disabled"}}})
    persistent_fault(demo.endpoint, "rds:DescribeDBInstanceEncryptionKey", code, status)
    run = plan_json(demo.endpoint, folder, "--detailed-exitcode")
    assert_stopped(
        run,
        action="DescribeDBInstanceEncryptionKey",
        code=code,
        resource="pgm-bp1ded0000000003",
    )


@pytest.mark.parametrize(("status", "code"), ENCRYPTION_READ_ERRORS)
def test_the_repo_specs_never_plan_a_restart_from_a_failed_read(  # type: ignore[no-untyped-def]
    demo, status: int, code: str
) -> None:
    persistent_fault(demo.endpoint, "rds:DescribeDBInstanceEncryptionKey", code, status)
    run = plan_json(demo.endpoint, REPO_SPECS)
    assert run.exit_code == 1, run.stdout
    assert run.stdout.strip() == ""
    assert code in run.stderr


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [
        ("rds:DescribeDBInstanceAttribute", 404, "InvalidDBInstanceId.NotFound"),
        ("rds:DescribeDBInstanceAttribute", 400, "InvalidParameter"),
        ("kms:ListResourceTags", 404, "Forbidden.KeyNotFound"),
        ("ram:ListPoliciesForRole", 404, "EntityNotExist.Role"),
        ("ram:GetPolicy", 403, "NoPermission"),
    ],
)
def test_other_failed_reads_stop_the_plan(  # type: ignore[no-untyped-def]
    emulator, write_spec, action: str, status: int, code: str
) -> None:
    """A CMK rollout on a class the list cannot classify reads the attribute, the key's
    tags, and RAM: none of their failures may become a fact."""
    endpoint = emulator.endpoint
    instance = world.create_instance(endpoint, class_code="pg.q9.odd.1")
    world.create_key(endpoint, alias="alias/rds-prod", tags={"acs:rds:instance-encryption": "true"})
    _ram_in_place(endpoint)
    folder = write_spec(
        {
            "kms_keys": {"prod": {"alias": "alias/rds-prod"}},
            "instances": {instance: {"encryption": {"key": "prod"}}},
        }
    )
    persistent_fault(endpoint, action, code, status)
    run = plan_json(endpoint, folder)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.stdout.strip() == ""
    assert code in run.stderr and action.split(":")[1] in run.stderr


def _ram_in_place(endpoint: str) -> None:
    """The documented manual steps: the custom policy, the role, the attachment."""
    from alibabacloud_ram20150501 import models

    from reconciler.plan.ram_documents import (
        RDS_ENCRYPTION_POLICY_DOCUMENT,
        RDS_ENCRYPTION_TRUST_DOCUMENT,
    )

    client = world.ram(endpoint)
    client.create_policy(
        models.CreatePolicyRequest(
            policy_name="AliyunRDSInstanceEncryptionRolePolicy",
            policy_document=json.dumps(RDS_ENCRYPTION_POLICY_DOCUMENT),
        )
    )
    client.create_role(
        models.CreateRoleRequest(
            role_name="AliyunRDSInstanceEncryptionDefaultRole",
            assume_role_policy_document=json.dumps(RDS_ENCRYPTION_TRUST_DOCUMENT),
        )
    )
    client.attach_policy_to_role(
        models.AttachPolicyToRoleRequest(
            policy_type="Custom",
            policy_name="AliyunRDSInstanceEncryptionRolePolicy",
            role_name="AliyunRDSInstanceEncryptionDefaultRole",
        )
    )


@pytest.mark.parametrize("class_code", ["pg.s2.large", "rds.pg.s1.small", "pg.n2.2c.1m"])
def test_cmk_only_on_dedicated_classes(emulator, write_spec, class_code: str) -> None:  # type: ignore[no-untyped-def]
    """The CMK guard is an allow-list: shared (s) and general-purpose (x) are refused."""
    endpoint = emulator.endpoint
    instance = world.create_instance(endpoint, class_code=class_code)
    folder = write_spec(
        {
            "kms_keys": {"prod": {"alias": "alias/rds-prod"}},
            "instances": {instance: {"encryption": {"key": "prod"}}},
        }
    )
    run = plan_json(endpoint, folder)
    assert run.exit_code == 1, run.stdout + run.stderr
    refusals = {r["address"]: r["code"] for r in run.plan["refusals"]}
    assert refusals[f"rds_encryption.{instance}"] == "CmkRequiresDedicatedInstance"
