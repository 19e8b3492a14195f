"""RAM keeps system and custom policies in separate namespaces, through the official SDK.

Alibaba's manual steps (docs/real-cloud.md, RAM: the role and the policy) create a CUSTOM
policy named AliyunRDSInstanceEncryptionRolePolicy, beside Alibaba's built-in SYSTEM policy of
the same name. Every action that names a PolicyType addresses one namespace only; the actions
without one (CreatePolicy, CreatePolicyVersion, DeletePolicy, ...) address custom policies, and
the system policy stays read-only.
"""

from __future__ import annotations

import json
from typing import Any

from alibabacloud_ram20150501 import models as rm

from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    RDS_TRUST,
    ROLE,
    attach,
    create_key,
    create_role,
    emulator,
    running_instance,
    set_key,
    signature,
    status,
)

NAME = "AliyunRDSInstanceEncryptionRolePolicy"
# The document of the manual steps, verbatim.
MANUAL_DOCUMENT = {
    "Version": "1",
    "Statement": [
        {
            "Action": ["kms:List*", "kms:DescribeKey", "kms:TagResource", "kms:UntagResource"],
            "Resource": ["acs:kms:*:*:*"],
            "Effect": "Allow",
        },
        {
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": ["acs:kms:*:*:*"],
            "Effect": "Allow",
            "Condition": {
                "StringEqualsIgnoreCase": {"kms:tag/acs:rds:instance-encryption": "true"}
            },
        },
    ],
}
LIST_ONLY = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": ["kms:List*"], "Resource": "*"}],
}


def create_custom(ram: Any, document: dict[str, Any] = MANUAL_DOCUMENT) -> Any:
    request = rm.CreatePolicyRequest(
        policy_name=NAME,
        policy_document=json.dumps(document),
        description="Authorize RDS to access KMS",
    )
    return ram.create_policy(request).body.policy


def get(ram: Any, policy_type: str) -> Any:
    return ram.get_policy(rm.GetPolicyRequest(policy_name=NAME, policy_type=policy_type)).body


def test_the_manual_steps_create_a_custom_policy_beside_the_system_one(ram: Any) -> None:
    created = create_custom(ram)
    assert (created.policy_name, created.policy_type) == (NAME, "Custom")
    custom, system = get(ram, "Custom"), get(ram, "System")
    assert (custom.policy.policy_type, system.policy.policy_type) == ("Custom", "System")
    assert custom.policy.description == "Authorize RDS to access KMS"
    assert system.policy.description != custom.policy.description
    assert json.loads(custom.default_policy_version.policy_document) == MANUAL_DOCUMENT


def test_a_second_custom_policy_of_the_name_is_still_a_conflict(ram: Any, api_error: Any) -> None:
    create_custom(ram)
    error = api_error(lambda: create_custom(ram))
    assert (error.status_code, error.code) == (409, "EntityAlreadyExists.Policy")


def test_attach_list_and_detach_honour_the_policy_type(ram: Any, api_error: Any) -> None:
    create_custom(ram, LIST_ONLY)
    create_role(ram)
    attach(ram, NAME, "Custom")
    get_count = lambda t: get(ram, t).policy.attachment_count  # noqa: E731
    assert (get_count("Custom"), get_count("System")) == (1, 0)
    attach(ram, NAME, "System")
    listed = ram.list_policies_for_role(rm.ListPoliciesForRoleRequest(role_name=ROLE)).body
    assert sorted((p.policy_name, p.policy_type) for p in listed.policies.policy) == [
        (NAME, "Custom"),
        (NAME, "System"),
    ]
    descriptions = {p.policy_type: p.description for p in listed.policies.policy}
    assert descriptions["Custom"] == "Authorize RDS to access KMS"
    error = api_error(lambda: attach(ram, NAME, "Custom"))
    assert (error.status_code, error.code) == (409, "EntityAlreadyExists.Role.Policy")
    ram.detach_policy_from_role(
        rm.DetachPolicyFromRoleRequest(policy_type="System", policy_name=NAME, role_name=ROLE)
    )
    listed = ram.list_policies_for_role(rm.ListPoliciesForRoleRequest(role_name=ROLE)).body
    assert [(p.policy_name, p.policy_type) for p in listed.policies.policy] == [(NAME, "Custom")]


def test_the_system_policy_is_read_only(ram: Any, api_error: Any) -> None:
    """Without a custom policy of that name, the custom-only writes meet the system policy:
    403 NoPermission (RAM's documented code; the exact answer is undocumented, chosen)."""
    document = json.dumps(LIST_ONLY)
    writes = {
        "CreatePolicyVersion": lambda: ram.create_policy_version(
            rm.CreatePolicyVersionRequest(
                policy_name=NAME, policy_document=document, set_as_default=True
            )
        ),
        "DeletePolicy": lambda: ram.delete_policy(rm.DeletePolicyRequest(policy_name=NAME)),
        "DeletePolicyVersion": lambda: ram.delete_policy_version(
            rm.DeletePolicyVersionRequest(policy_name=NAME, version_id="v1")
        ),
        "SetDefaultPolicyVersion": lambda: ram.set_default_policy_version(
            rm.SetDefaultPolicyVersionRequest(policy_name=NAME, version_id="v1")
        ),
    }
    for action, write in writes.items():
        error = api_error(write)
        assert (error.status_code, error.code) == (403, "NoPermission"), action
    assert get(ram, "System").policy.default_version == "v1"
    error = api_error(lambda: ram.delete_policy(rm.DeletePolicyRequest(policy_name="NoSuch")))
    assert (error.status_code, error.code) == (404, "EntityNotExist.Policy")


def test_custom_writes_touch_only_the_custom_policy(ram: Any) -> None:
    create_custom(ram)
    ram.create_policy_version(
        rm.CreatePolicyVersionRequest(
            policy_name=NAME, policy_document=json.dumps(LIST_ONLY), set_as_default=True
        )
    )
    assert json.loads(get(ram, "Custom").default_policy_version.policy_document) == LIST_ONLY
    system = get(ram, "System")
    assert system.default_policy_version.version_id == "v1"
    assert json.loads(system.default_policy_version.policy_document) == MANUAL_DOCUMENT
    ram.delete_policy_version(rm.DeletePolicyVersionRequest(policy_name=NAME, version_id="v1"))
    ram.delete_policy(rm.DeletePolicyRequest(policy_name=NAME))
    assert get(ram, "System").policy.policy_type == "System"
    versions = ram.list_policy_versions(
        rm.ListPolicyVersionsRequest(policy_name=NAME, policy_type="System")
    ).body.policy_versions.policy_version
    assert [v.version_id for v in versions] == ["v1"]


# --- the BYOK check reads the attached documents of both namespaces ---------------------------


def test_a_cmk_works_with_the_custom_policy_of_the_manual_steps(
    rds: Any, kms: Any, ram: Any, admin: Any
) -> None:
    create_custom(ram)
    create_role(ram)
    attach(ram, NAME, "Custom")
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, create_key(kms))
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"


def test_a_narrow_custom_policy_of_the_name_is_not_the_system_one(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    """Attached as Custom, the name does not bring the system document's rights."""
    create_custom(ram, LIST_ONLY)
    create_role(ram)
    attach(ram, NAME, "Custom")
    key_id, instance_id = create_key(kms), running_instance(rds, admin)
    error = api_error(lambda: set_key(rds, instance_id, key_id))
    assert (error.status_code, error.code) == (403, "ByokNotAuthorizedToRds")
    attach(ram, NAME, "System")  # the system policy of the same name grants them
    set_key(rds, instance_id, key_id)


def test_a_custom_deny_of_the_name_beats_the_system_allow(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    deny = {
        "Version": "1",
        "Statement": [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}],
    }
    create_custom(ram, deny)
    create_role(ram, RDS_TRUST)
    attach(ram, NAME, "System")
    attach(ram, NAME, "Custom")
    key_id, instance_id = create_key(kms), running_instance(rds, admin)
    error = api_error(lambda: set_key(rds, instance_id, key_id))
    assert error.code == "ByokNotAuthorizedToRds"


def test_a_seed_can_hold_both_policies_of_the_name(tmp_path: Any) -> None:
    from reconciler.emulator.server import Emulator
    from tests.emulator.conftest import sdk_client

    world = {
        "ram": {
            "policies": [{"name": NAME, "document": MANUAL_DOCUMENT, "description": "manual"}],
            "roles": [{"name": ROLE, "policies": [NAME, {"name": NAME, "type": "System"}]}],
        }
    }
    path = tmp_path / "world.yaml"
    path.write_text(json.dumps(world))
    with Emulator(seed=str(path)) as emu:
        ram = sdk_client("ram", emu.endpoint)
        listed = ram.list_policies_for_role(rm.ListPoliciesForRoleRequest(role_name=ROLE)).body
        assert sorted((p.policy_type, p.description) for p in listed.policies.policy) == [
            ("Custom", "manual"),
            ("System", get(ram, "System").policy.description),
        ]
