"""The request parameters of the kind `ram`'s writes, by `Op` (plan/operations.py runs them):
CreatePolicy, CreatePolicyVersion, CreateRole, UpdateRole (docs/plan-format.md, "Operations").
Attachments build theirs in kinds/ram/attachments.py."""

from __future__ import annotations

from reconciler.core.ops import Op
from reconciler.plan.operations import Builder, json_param

ROTATE_STRATEGY = "DeleteOldestNonDefaultVersionWhenLimitExceeded"
"""CreatePolicyVersion past RAM's version limit deletes the oldest non-default version."""

BUILDERS: dict[Op, Builder] = {
    Op.RAM_CREATE_POLICY: lambda v: {
        "PolicyName": v[2]["name"],
        "PolicyDocument": json_param(v[2]["document"]),
        "Description": "Lets RDS use KMS keys tagged acs:rds:instance-encryption=true",
    },
    Op.RAM_CREATE_POLICY_VERSION: lambda v: {
        "PolicyName": v[2]["name"],
        "PolicyDocument": json_param(v[2]["document"]),
        "SetAsDefault": True,
        "RotateStrategy": ROTATE_STRATEGY,
    },
    Op.RAM_CREATE_ROLE: lambda v: {
        "RoleName": v[2]["name"],
        "AssumeRolePolicyDocument": json_param(v[2]["trust_document"]),
        "Description": "Lets RDS use KMS keys for disk encryption",
    },
    Op.RAM_UPDATE_ROLE: lambda v: {
        "RoleName": v[2]["name"],
        "NewAssumeRolePolicyDocument": json_param(v[2]["trust_document"]),
    },
}
