"""RAM through the official SDK client, with V3 and V1 signatures (the `ram` fixture)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as rm

from reconciler.emulator.dispatch import RequestContext
from reconciler.emulator.ram import models as ram_models

TRUST = json.dumps(
    {
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": ["rds.aliyuncs.com"]},
            }
        ],
        "Version": "1",
    }
)
ROLE = "AliyunRDSInstanceEncryptionDefaultRole"


def policy_doc(action: str = "kms:DescribeKey") -> str:
    return json.dumps(
        {
            "Version": "1",
            "Statement": [{"Effect": "Allow", "Action": [action], "Resource": ["acs:kms:*:*:*"]}],
        }
    )


def make_policy(ram: Any, name: str = "rds-kms", document: str | None = None) -> Any:
    return ram.create_policy(
        rm.CreatePolicyRequest(
            policy_name=name, policy_document=document or policy_doc(), description="d"
        )
    ).body.policy


def make_role(ram: Any, name: str = ROLE) -> Any:
    return ram.create_role(
        rm.CreateRoleRequest(role_name=name, assume_role_policy_document=TRUST, description="rds")
    ).body.role


def test_create_and_get_policy(ram: Any) -> None:
    created = make_policy(ram)
    assert (created.policy_name, created.policy_type, created.default_version) == (
        "rds-kms",
        "Custom",
        "v1",
    )
    body = ram.get_policy(rm.GetPolicyRequest(policy_name="rds-kms", policy_type="Custom")).body
    assert body.policy.attachment_count == 0
    assert body.default_policy_version.version_id == "v1"
    assert body.default_policy_version.is_default_version is True
    assert json.loads(body.default_policy_version.policy_document) == json.loads(policy_doc())


def test_system_policy_is_built_in(ram: Any, api_error: Any) -> None:
    body = ram.get_policy(
        rm.GetPolicyRequest(
            policy_name="AliyunRDSInstanceEncryptionRolePolicy", policy_type="System"
        )
    ).body
    document = json.loads(body.default_policy_version.policy_document)
    assert document["Statement"][1]["Condition"] == {
        "StringEqualsIgnoreCase": {"kms:tag/acs:rds:instance-encryption": "true"}
    }
    error = api_error(
        lambda: ram.get_policy(
            rm.GetPolicyRequest(
                policy_name="AliyunRDSInstanceEncryptionRolePolicy", policy_type="Custom"
            )
        )
    )
    assert (error.status_code, error.code) == (404, "EntityNotExist.Policy")


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        json.dumps(
            {"Version": "2", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
        json.dumps({"Version": "1", "Statement": []}),
        json.dumps(
            {"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}
        ),
        json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
        json.dumps(
            {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "NotResource": "*"}]}
        ),
        json.dumps(
            {
                "Version": "1",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "x" * 6200}],
            }
        ),
    ],
)
def test_malformed_documents_refused(ram: Any, api_error: Any, document: str) -> None:
    error = api_error(lambda: make_policy(ram, document=document))
    assert (error.status_code, error.code) == (400, "MalformedPolicyDocument")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("bad_name", "InvalidParameter.PolicyName.InvalidChars"),
        ("x" * 129, "InvalidParameter.PolicyName.Length"),
    ],
)
def test_bad_policy_names(ram: Any, api_error: Any, name: str, code: str) -> None:
    assert api_error(lambda: make_policy(ram, name=name)).code == code


def test_duplicate_policy_and_missing_parameter(ram: Any, api_error: Any) -> None:
    make_policy(ram)
    error = api_error(lambda: make_policy(ram))
    assert (error.status_code, error.code) == (409, "EntityAlreadyExists.Policy")
    error = api_error(lambda: ram.create_policy(rm.CreatePolicyRequest(policy_name="p2")))
    assert (error.status_code, error.code) == (400, "MissingParameter")
    assert "PolicyDocument" in error.data["Message"]


def test_policy_versions(ram: Any, api_error: Any) -> None:
    make_policy(ram)
    for i in range(2, 6):
        version = ram.create_policy_version(
            rm.CreatePolicyVersionRequest(
                policy_name="rds-kms",
                policy_document=policy_doc(f"kms:List{i}"),
                set_as_default=(i == 3),
            )
        ).body.policy_version
        assert version.version_id == f"v{i}"
    error = api_error(
        lambda: ram.create_policy_version(
            rm.CreatePolicyVersionRequest(policy_name="rds-kms", policy_document=policy_doc())
        )
    )
    assert (error.status_code, error.code) == (409, "LimitExceeded.Policy.Version")
    rotated = ram.create_policy_version(
        rm.CreatePolicyVersionRequest(
            policy_name="rds-kms",
            policy_document=policy_doc("kms:Six"),
            set_as_default=True,
            rotate_strategy="DeleteOldestNonDefaultVersionWhenLimitExceeded",
        )
    ).body.policy_version
    assert rotated.version_id == "v6" and rotated.is_default_version
    listed = ram.list_policy_versions(
        rm.ListPolicyVersionsRequest(policy_name="rds-kms", policy_type="Custom")
    ).body.policy_versions.policy_version
    assert sorted(v.version_id for v in listed) == ["v2", "v3", "v4", "v5", "v6"]  # v1 rotated out
    assert [v.version_id for v in listed if v.is_default_version] == ["v6"]
    got = ram.get_policy_version(
        rm.GetPolicyVersionRequest(policy_name="rds-kms", policy_type="Custom", version_id="v3")
    ).body.policy_version
    assert json.loads(got.policy_document)["Statement"][0]["Action"] == ["kms:List3"]
    error = api_error(
        lambda: ram.delete_policy_version(
            rm.DeletePolicyVersionRequest(policy_name="rds-kms", version_id="v6")
        )
    )
    assert (error.status_code, error.code) == (409, "DeleteConflict.Policy.Version.Default")
    ram.set_default_policy_version(
        rm.SetDefaultPolicyVersionRequest(policy_name="rds-kms", version_id="v2")
    )
    ram.delete_policy_version(rm.DeletePolicyVersionRequest(policy_name="rds-kms", version_id="v6"))
    error = api_error(
        lambda: ram.get_policy_version(
            rm.GetPolicyVersionRequest(policy_name="rds-kms", policy_type="Custom", version_id="v6")
        )
    )
    assert (error.status_code, error.code) == (404, "EntityNotExist.Policy.Version")


def test_delete_policy_conflicts(ram: Any, api_error: Any) -> None:
    make_policy(ram)
    make_role(ram)
    ram.create_policy_version(
        rm.CreatePolicyVersionRequest(
            policy_name="rds-kms", policy_document=policy_doc("kms:List*")
        )
    )
    ram.attach_policy_to_role(
        rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name="rds-kms", role_name=ROLE)
    )
    error = api_error(lambda: ram.delete_policy(rm.DeletePolicyRequest(policy_name="rds-kms")))
    assert (error.status_code, error.code) == (409, "DeleteConflict.Role.Policy")
    ram.detach_policy_from_role(
        rm.DetachPolicyFromRoleRequest(policy_type="Custom", policy_name="rds-kms", role_name=ROLE)
    )
    error = api_error(lambda: ram.delete_policy(rm.DeletePolicyRequest(policy_name="rds-kms")))
    assert (error.status_code, error.code) == (409, "DeleteConflict.Policy.Version")
    ram.delete_policy_version(rm.DeletePolicyVersionRequest(policy_name="rds-kms", version_id="v2"))
    ram.delete_policy(rm.DeletePolicyRequest(policy_name="rds-kms"))
    error = api_error(lambda: ram.delete_policy(rm.DeletePolicyRequest(policy_name="rds-kms")))
    assert (error.status_code, error.code) == (404, "EntityNotExist.Policy")


def test_role_lifecycle(ram: Any, api_error: Any) -> None:
    role = make_role(ram)
    assert role.arn == "acs:ram::1234567890123456:role/aliyunrdsinstanceencryptiondefaultrole"
    assert role.max_session_duration == 3600 and role.role_id.isdigit()
    error = api_error(lambda: make_role(ram, ROLE.lower()))  # names are case-insensitive
    assert (error.status_code, error.code) == (409, "EntityAlreadyExists.Role")
    got = ram.get_role(rm.GetRoleRequest(role_name=ROLE)).body.role
    assert (got.role_name, got.description, got.is_service_linked_role) == (ROLE, "rds", False)
    assert json.loads(got.assume_role_policy_document) == json.loads(TRUST)
    updated = ram.update_role(
        rm.UpdateRoleRequest(role_name=ROLE, new_description="new", new_max_session_duration=7200)
    ).body.role
    assert (updated.description, updated.max_session_duration) == ("new", 7200)
    error = api_error(
        lambda: ram.update_role(rm.UpdateRoleRequest(role_name=ROLE, new_max_session_duration=60))
    )
    assert error.code == "InvalidParameter"
    error = api_error(
        lambda: ram.update_role(
            rm.UpdateRoleRequest(role_name=ROLE, new_assume_role_policy_document=policy_doc())
        )
    )
    assert error.code == "MalformedPolicyDocument"  # a trust policy needs a Principal
    ram.delete_role(rm.DeleteRoleRequest(role_name=ROLE))
    error = api_error(lambda: ram.get_role(rm.GetRoleRequest(role_name=ROLE)))
    assert (error.status_code, error.code) == (404, "EntityNotExist.Role")
    assert error.data["HostId"] == "ram.aliyuncs.com"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("bad_role", "InvalidParameter.RoleName.InvalidChars"),
        ("r" * 65, "InvalidParameter.RoleName.Length"),
    ],
)
def test_bad_role_names(ram: Any, api_error: Any, name: str, code: str) -> None:
    assert api_error(lambda: make_role(ram, name)).code == code


def test_attach_detach_and_list(ram: Any, api_error: Any) -> None:
    make_role(ram)
    make_policy(ram)
    for policy_type, name in (
        ("System", "AliyunRDSInstanceEncryptionRolePolicy"),
        ("Custom", "rds-kms"),
    ):
        ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type=policy_type, policy_name=name, role_name=ROLE)
        )
    error = api_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(
                policy_type="Custom", policy_name="rds-kms", role_name=ROLE
            )
        )
    )
    assert (error.status_code, error.code) == (409, "EntityAlreadyExists.Role.Policy")
    policies = ram.list_policies_for_role(
        rm.ListPoliciesForRoleRequest(role_name=ROLE)
    ).body.policies.policy
    assert [(p.policy_name, p.policy_type, p.default_version) for p in policies] == [
        ("AliyunRDSInstanceEncryptionRolePolicy", "System", "v1"),
        ("rds-kms", "Custom", "v1"),
    ]
    assert all(p.attach_date for p in policies)
    count = ram.get_policy(rm.GetPolicyRequest(policy_name="rds-kms", policy_type="Custom"))
    assert count.body.policy.attachment_count == 1
    error = api_error(lambda: ram.delete_role(rm.DeleteRoleRequest(role_name=ROLE)))
    assert (error.status_code, error.code) == (409, "DeleteConflict.Role.Policy")
    for policy_type, name in (
        ("System", "AliyunRDSInstanceEncryptionRolePolicy"),
        ("Custom", "rds-kms"),
    ):
        ram.detach_policy_from_role(
            rm.DetachPolicyFromRoleRequest(
                policy_type=policy_type, policy_name=name, role_name=ROLE
            )
        )
    error = api_error(
        lambda: ram.detach_policy_from_role(
            rm.DetachPolicyFromRoleRequest(
                policy_type="Custom", policy_name="rds-kms", role_name=ROLE
            )
        )
    )
    assert (error.status_code, error.code) == (404, "EntityNotExist.Role.Policy")
    ram.delete_role(rm.DeleteRoleRequest(role_name=ROLE))


def test_attach_to_missing_things(ram: Any, api_error: Any) -> None:
    make_policy(ram)
    error = api_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(
                policy_type="Custom", policy_name="rds-kms", role_name="nobody"
            )
        )
    )
    assert error.code == "EntityNotExist.Role"
    make_role(ram)
    error = api_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(
                policy_type="Custom", policy_name="nothing", role_name=ROLE
            )
        )
    )
    assert error.code == "EntityNotExist.Policy"
    error = api_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type="Other", policy_name="rds-kms", role_name=ROLE)
        )
    )
    assert error.code == "InvalidParameter"


def test_custom_policy_limit_per_role(ram: Any, api_error: Any) -> None:
    make_role(ram)
    for i in range(11):
        make_policy(ram, f"p{i}")
    for i in range(10):
        ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=f"p{i}", role_name=ROLE)
        )
    error = api_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name="p10", role_name=ROLE)
        )
    )
    assert (error.status_code, error.code) == (409, "LimitExceeded.Role.Policy")


def test_model_functions_for_other_services(emulator: Any, ram: Any) -> None:
    """What RDS rules read: the role by ARN and the default documents attached to it."""
    make_role(ram)
    make_policy(ram)
    ram.create_policy_version(
        rm.CreatePolicyVersionRequest(
            policy_name="rds-kms", policy_document=policy_doc("kms:Decrypt"), set_as_default=True
        )
    )
    ram.attach_policy_to_role(
        rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name="rds-kms", role_name=ROLE)
    )
    ram.attach_policy_to_role(
        rm.AttachPolicyToRoleRequest(
            policy_type="System",
            policy_name="AliyunRDSInstanceEncryptionRolePolicy",
            role_name=ROLE,
        )
    )
    with emulator.store.transaction() as tx:
        ctx = RequestContext("test", "Read", {}, tx, emulator.state, "req")
        documents = ram_models.attached_policy_documents(ctx, ROLE.upper())
        assert documents[0]["Statement"][0]["Action"] == ["kms:Decrypt"]
        assert len(documents) == 2
        arn = "acs:ram::1234567890123456:role/AliyunRDSInstanceEncryptionDefaultRole"
        assert ram_models.role_by_arn(ctx, arn)["RoleName"] == ROLE
        assert ram_models.role_by_arn(ctx, "acs:ram::999:role/x") is None
        assert ram_models.attached_policy_documents(ctx, "nobody") == []
