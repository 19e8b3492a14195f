"""A world in sync with its spec, built through the real SDK, and the out-of-band changes a
drift report must catch, each made through the SDK as an operator (or an attacker) would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
)
from tests.e2e import world

ROLE = "AliyunRDSInstanceEncryptionDefaultRole"
POLICY = "AliyunRDSInstanceEncryptionRolePolicy"
TAG = {"acs:rds:instance-encryption": "true"}


def ram_models() -> Any:
    from alibabacloud_ram20150501 import models

    return models


def kms_models() -> Any:
    from alibabacloud_kms20160120 import models

    return models


def rds_models() -> Any:
    from alibabacloud_rds20140815 import models

    return models


@dataclass
class CmkWorld:
    endpoint: str
    key_id: str
    cmk_instance: str
    service_instance: str

    def spec(self, **defaults: Any) -> dict[str, Any]:
        return {
            "defaults": {"region": "cn-hangzhou", "restart": "immediate", **defaults},
            "kms_keys": {
                "prod": {
                    "alias": "alias/rds-prod",
                    "description": "prod key",
                    "tags": {"team": "dba"},
                }
            },
            "instances": {
                self.cmk_instance: {"encryption": {"key": "prod"}},
                self.service_instance: {"encryption": {"key": "service"}},
            },
        }


def build_cmk_world(endpoint: str) -> CmkWorld:
    """RAM as the documented manual steps leave it, a tagged CMK, a dedicated instance on it
    and another on the service key: a spec of both plans to no changes."""
    make_ram(endpoint)
    key_id = world.create_key(
        endpoint, alias="alias/rds-prod", tags={**TAG, "team": "dba"}, description="prod key"
    )
    cmk_instance = world.create_instance(endpoint, encryption_key=key_id)
    service_instance = world.create_instance(endpoint, encryption_key="ServiceKey")
    return CmkWorld(endpoint, key_id, cmk_instance, service_instance)


def make_ram(endpoint: str) -> None:
    """The role, the custom policy and the attachment of the documented manual steps."""
    m = ram_models()
    client = world.ram(endpoint)
    client.create_policy(
        m.CreatePolicyRequest(
            policy_name=POLICY, policy_document=json.dumps(RDS_ENCRYPTION_POLICY_DOCUMENT)
        )
    )
    client.create_role(
        m.CreateRoleRequest(
            role_name=ROLE, assume_role_policy_document=json.dumps(RDS_ENCRYPTION_TRUST_DOCUMENT)
        )
    )
    client.attach_policy_to_role(
        m.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=POLICY, role_name=ROLE)
    )


def create_regional_key(
    endpoint: str, region: str, *, alias: str | None, tags: dict[str, str], description: str = ""
) -> str:
    """A key in `region`: KMS actions carry no RegionId field, so on one shared endpoint the
    region travels as a signed global parameter (as reconciler/cloud/clients.py sends it)."""
    from alibabacloud_kms20160120.client import Client
    from alibabacloud_tea_openapi.utils_models import GlobalParameters

    config = world.sdk_config(endpoint, region)
    config.global_parameters = GlobalParameters(queries={"RegionId": region})
    client = Client(config)
    m = kms_models()
    tag_list = [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
    key_id = client.create_key(
        m.CreateKeyRequest(description=description, tags=json.dumps(tag_list))
    ).body.key_metadata.key_id
    if alias:
        client.create_alias(m.CreateAliasRequest(alias_name=alias, key_id=key_id))
    return key_id


# --- out-of-band changes -------------------------------------------------------------------


def new_policy_version(endpoint: str, document: dict) -> None:
    world.ram(endpoint).create_policy_version(
        ram_models().CreatePolicyVersionRequest(
            policy_name=POLICY, policy_document=json.dumps(document), set_as_default=True
        )
    )


def widened_document() -> dict:
    return {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


def without_tag_condition() -> dict:
    statements = [dict(s) for s in RDS_ENCRYPTION_POLICY_DOCUMENT["Statement"]]
    for statement in statements:
        statement.pop("Condition", None)
    return {"Version": "1", "Statement": statements}


def change_trust(endpoint: str) -> None:
    trust = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": ["ecs.aliyuncs.com"]},
            }
        ],
    }
    world.ram(endpoint).update_role(
        ram_models().UpdateRoleRequest(
            role_name=ROLE, new_assume_role_policy_document=json.dumps(trust)
        )
    )


def detach_policy(endpoint: str) -> None:
    world.ram(endpoint).detach_policy_from_role(
        ram_models().DetachPolicyFromRoleRequest(
            policy_type="Custom", policy_name=POLICY, role_name=ROLE
        )
    )


def untag_key(endpoint: str, key_id: str, *keys: str) -> None:
    world.kms(endpoint).untag_resource(
        kms_models().UntagResourceRequest(key_id=key_id, tag_keys=json.dumps(list(keys)))
    )


def tag_key(endpoint: str, key_id: str, tags: dict[str, str]) -> None:
    tag_list = [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
    world.kms(endpoint).tag_resource(
        kms_models().TagResourceRequest(key_id=key_id, tags=json.dumps(tag_list))
    )


def schedule_deletion(endpoint: str, key_id: str) -> None:
    world.kms(endpoint).schedule_key_deletion(
        kms_models().ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=7)
    )


def enable_rotation(endpoint: str, key_id: str) -> None:
    world.kms(endpoint).update_rotation_policy(
        kms_models().UpdateRotationPolicyRequest(
            key_id=key_id, enable_automatic_rotation=True, rotation_interval="2592000s"
        )
    )


def protect(endpoint: str, key_id: str) -> None:
    metadata = (
        world.kms(endpoint)
        .describe_key(kms_models().DescribeKeyRequest(key_id=key_id))
        .body.key_metadata
    )
    world.kms(endpoint).set_deletion_protection(
        kms_models().SetDeletionProtectionRequest(
            protected_resource_arn=metadata.arn, enable_deletion_protection=True
        )
    )


def describe_key(endpoint: str, key_id: str, description: str) -> None:
    world.kms(endpoint).update_key_description(
        kms_models().UpdateKeyDescriptionRequest(key_id=key_id, description=description)
    )


def set_encryption(endpoint: str, instance: str, value: str) -> None:
    world.rds(endpoint).modify_dbinstance_config(
        rds_models().ModifyDBInstanceConfigRequest(
            dbinstance_id=instance, config_name="encryptionKey", config_value=value
        )
    )


def delete_instance(endpoint: str, instance: str) -> None:
    world.rds(endpoint).delete_dbinstance(
        rds_models().DeleteDBInstanceRequest(dbinstance_id=instance)
    )
