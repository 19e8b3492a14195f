"""The API writes a plan may contain: one enum for the planner, apply, the permissions list,
the rate limits and the docs (docs/plan-format.md, Operations).

A member is `<service>:<Action>` with the wire name of the API action; it is a StrEnum, so it
equals that string and a plan's JSON holds the string itself.
"""

from __future__ import annotations

from enum import StrEnum


class Op(StrEnum):
    """Every API write a plan may contain, in the order apply carries them out within a change."""

    # RAM (global)
    RAM_CREATE_POLICY = "ram:CreatePolicy"
    RAM_CREATE_POLICY_VERSION = "ram:CreatePolicyVersion"
    RAM_CREATE_ROLE = "ram:CreateRole"
    RAM_UPDATE_ROLE = "ram:UpdateRole"
    RAM_ATTACH_POLICY_TO_ROLE = "ram:AttachPolicyToRole"
    RAM_DETACH_POLICY_FROM_ROLE = "ram:DetachPolicyFromRole"
    # KMS (regional)
    KMS_CREATE_KEY = "kms:CreateKey"
    KMS_CANCEL_KEY_DELETION = "kms:CancelKeyDeletion"
    KMS_ENABLE_KEY = "kms:EnableKey"
    KMS_UPDATE_KEY_DESCRIPTION = "kms:UpdateKeyDescription"
    KMS_UPDATE_ROTATION_POLICY = "kms:UpdateRotationPolicy"
    KMS_TAG_RESOURCE = "kms:TagResource"
    KMS_UNTAG_RESOURCE = "kms:UntagResource"
    KMS_CREATE_ALIAS = "kms:CreateAlias"
    KMS_SET_DELETION_PROTECTION = "kms:SetDeletionProtection"
    KMS_DISABLE_KEY = "kms:DisableKey"
    KMS_SCHEDULE_KEY_DELETION = "kms:ScheduleKeyDeletion"
    # RDS (regional)
    RDS_MODIFY_DB_INSTANCE_CONFIG = "rds:ModifyDBInstanceConfig"
    RDS_MODIFY_DB_INSTANCE_TDE = "rds:ModifyDBInstanceTDE"
    """Turn TDE on (one-way: it cannot be turned off) or rotate its key (IsRotate)."""
