"""RAM state and rules (no HTTP). RAM is global: documents live under region "".

Functions other services call (with the current request's ctx, inside its transaction):

    get_role(ctx, role_name) -> dict | None        the Role as GetRole shows it, plus
        "Attachments": [{PolicyName, PolicyType, AttachDate}]
    role_by_arn(ctx, arn) -> dict | None           ARNs compare case-insensitively
    attached_policy_documents(ctx, role_name) -> list[dict]
        the parsed DEFAULT-version documents of every policy attached to the role
        (system and custom); [] for an unknown role
    get_policy(ctx, name, policy_type) -> dict | None

System policies are built in (not in the store): AliyunRDSInstanceEncryptionRolePolicy
(docs/real-cloud.md, RAM), AliyunKMSFullAccess, AliyunKMSReadOnlyAccess, AliyunRDSFullAccess,
AdministratorAccess. System and custom policies are separate namespaces, as in RAM: a custom
policy may share a system policy's name (Alibaba's manual steps create a custom
AliyunRDSInstanceEncryptionRolePolicy), every action with a PolicyType addresses one namespace,
an attachment is keyed by (PolicyName, PolicyType), and the actions without a PolicyType address
custom policies only (the system ones are read-only: 403 NoPermission, chosen).

Guesses (the docs are silent): DeletePolicy while attached is 409
`DeleteConflict.Role.Policy`; RoleName errors are `InvalidParameter.RoleName.InvalidChars`/
`.Length`; role names are unique case-insensitively (the ARN lower-cases them); at most 10
custom policies attach to one role (`LimitExceeded.Role.Policy`), 200 custom policies exist.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.emulator.dispatch import RequestContext, stable_token
from reconciler.emulator.errors import ApiError

ROLE_KIND, POLICY_KIND, GLOBAL = "ram_role", "ram_policy", ""
MAX_VERSIONS, MAX_CUSTOM_PER_ROLE, MAX_CUSTOM_POLICIES = 5, 10, 200
MAX_DOCUMENT_CHARS = 6144
_SYSTEM_DATE = "2019-01-01T00:00:00Z"

_RDS_ENCRYPTION_POLICY = {
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


def _allow(actions: list[str]) -> dict[str, Any]:
    return {"Version": "1", "Statement": [{"Action": actions, "Resource": "*", "Effect": "Allow"}]}


SYSTEM_POLICIES: dict[str, tuple[str, dict[str, Any]]] = {
    "AliyunRDSInstanceEncryptionRolePolicy": (
        "Policy for the RDS instance encryption default role",
        _RDS_ENCRYPTION_POLICY,
    ),
    "AliyunKMSFullAccess": ("Full access to Key Management Service (KMS)", _allow(["kms:*"])),
    "AliyunKMSReadOnlyAccess": (
        "Read-only access to KMS",
        _allow(["kms:Describe*", "kms:List*", "kms:Get*"]),
    ),
    "AliyunRDSFullAccess": ("Full access to ApsaraDB RDS", _allow(["rds:*"])),
    "AdministratorAccess": ("Full access to all resources", _allow(["*"])),
    # What a RAM user or role needs to call STS AssumeRole (Alibaba's AssumeRole page).
    "AliyunSTSAssumeRoleAccess": (
        "Permission to call the AssumeRole operation of STS",
        _allow(["sts:AssumeRole"]),
    ),
}


def role_not_found() -> ApiError:
    return ApiError(404, "EntityNotExist.Role", "The role does not exist.")


def policy_not_found(name: str) -> ApiError:
    return ApiError(404, "EntityNotExist.Policy", f"The policy does not exist: {name}.")


def malformed(detail: str) -> ApiError:
    return ApiError(400, "MalformedPolicyDocument", f"The policy document is malformed: {detail}")


def _strings(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    )


def _check_statement(statement: Any, trust: bool) -> None:
    if not isinstance(statement, dict):
        raise malformed("each Statement must be an object.")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise malformed("Effect must be Allow or Deny.")
    if ("Action" in statement) == ("NotAction" in statement):
        raise malformed("a statement needs exactly one of Action and NotAction.")
    if not _strings(statement.get("Action", statement.get("NotAction"))):
        raise malformed("Action must be a string or a list of strings.")
    if "NotResource" in statement:
        raise malformed("NotResource is not supported.")
    if trust:
        if not isinstance(statement.get("Principal"), dict):
            raise malformed("a trust policy statement needs a Principal.")
    else:
        if "Principal" in statement:
            raise malformed("Principal is only allowed in a trust policy.")
        if not _strings(statement.get("Resource")):
            raise malformed("Resource must be a string or a list of strings.")
    condition = statement.get("Condition", {})
    if not isinstance(condition, dict) or not all(isinstance(v, dict) for v in condition.values()):
        raise malformed("Condition must map operators to objects.")


def validate_document(text: str, trust: bool = False) -> dict[str, Any]:
    """Parse and check a policy (or, with trust=True, a trust policy) document."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise malformed(f"longer than {MAX_DOCUMENT_CHARS} characters.")
    try:
        doc = json.loads(text)
    except ValueError:
        raise malformed("not valid JSON.") from None
    if not isinstance(doc, dict) or doc.get("Version") != "1":
        raise malformed('Version must be "1".')
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise malformed("Statement must be a non-empty list.")
    for statement in statements:
        _check_statement(statement, trust)
    return doc


def check_name(kind: str, name: str, pattern: str, max_len: int) -> None:
    if not 1 <= len(name) <= max_len:
        raise ApiError(
            400,
            f"InvalidParameter.{kind}.Length",
            f"The parameter {kind} must be 1 to {max_len} characters long.",
        )
    if not re.fullmatch(pattern, name):
        raise ApiError(
            400,
            f"InvalidParameter.{kind}.InvalidChars",
            f"The parameter {kind} contains invalid characters.",
        )


def check_role_name(name: str) -> None:
    check_name("RoleName", name, r"[A-Za-z0-9.\-]+", 64)


def check_policy_name(name: str) -> None:
    check_name("PolicyName", name, r"[A-Za-z0-9\-]+", 128)


def new_role_id(ctx: RequestContext) -> str:
    """19 digits like the cloud's, from the store's role counter (stable, unique in a store)."""
    serial = ctx.next_serial("ram_role")
    return str(int(stable_token(serial, 18, ctx.account_id, "0123456789")) + 10**18)


def role_arn(account_id: str, role_name: str) -> str:
    return f"acs:ram::{account_id}:role/{role_name.lower()}"


def load_role(ctx: RequestContext, role_name: str) -> dict[str, Any] | None:
    return ctx.tx.get(ROLE_KIND, GLOBAL, role_name.lower())


def require_role(ctx: RequestContext, role_name: str) -> dict[str, Any]:
    role = load_role(ctx, role_name)
    if role is None:
        raise role_not_found()
    return role


def save_role(ctx: RequestContext, role: dict[str, Any]) -> None:
    ctx.tx.put(ROLE_KIND, GLOBAL, role["RoleName"].lower(), role)


def get_role(ctx: RequestContext, role_name: str) -> dict[str, Any] | None:
    return load_role(ctx, role_name)


def role_by_arn(ctx: RequestContext, arn: str) -> dict[str, Any] | None:
    prefix, _, name = arn.partition(":role/")
    if not name or prefix.lower() != f"acs:ram::{ctx.account_id}":
        return None
    role = load_role(ctx, name)
    return role if role is not None and role["Arn"].lower() == arn.lower() else None


def system_policy(name: str) -> dict[str, Any] | None:
    if name not in SYSTEM_POLICIES:
        return None
    description, document = SYSTEM_POLICIES[name]
    return {
        "PolicyName": name,
        "PolicyType": "System",
        "Description": description,
        "DefaultVersion": "v1",
        "CreateDate": _SYSTEM_DATE,
        "UpdateDate": _SYSTEM_DATE,
        "Versions": [
            {"VersionId": "v1", "PolicyDocument": json.dumps(document), "CreateDate": _SYSTEM_DATE}
        ],
    }


def get_policy(ctx: RequestContext, name: str, policy_type: str) -> dict[str, Any] | None:
    if policy_type == "System":
        return system_policy(name)
    return ctx.tx.get(POLICY_KIND, GLOBAL, name)


def require_policy(ctx: RequestContext, name: str, policy_type: str) -> dict[str, Any]:
    policy = get_policy(ctx, name, policy_type)
    if policy is None:
        raise policy_not_found(name)
    return policy


def default_document(policy: dict[str, Any]) -> dict[str, Any]:
    for version in policy["Versions"]:
        if version["VersionId"] == policy["DefaultVersion"]:
            return json.loads(version["PolicyDocument"])
    return {}


def attached_policy_documents(ctx: RequestContext, role_name: str) -> list[dict[str, Any]]:
    role = load_role(ctx, role_name)
    if role is None:
        return []
    documents = []
    for attachment in role["Attachments"]:
        policy = get_policy(ctx, attachment["PolicyName"], attachment["PolicyType"])
        if policy is not None:
            documents.append(default_document(policy))
    return documents


def attachment_count(ctx: RequestContext, name: str, policy_type: str) -> int:
    return sum(
        1
        for role in ctx.tx.list(ROLE_KIND, GLOBAL)
        for a in role["Attachments"]
        if (a["PolicyName"], a["PolicyType"]) == (name, policy_type)
    )
