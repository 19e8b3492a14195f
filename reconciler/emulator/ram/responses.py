"""RAM 2015-05-01 on the wire: one function per action (rules live in models.py)."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.clock import iso
from reconciler.emulator.dispatch import RequestContext, register_service
from reconciler.emulator.errors import ApiError, invalid_parameter
from reconciler.emulator.ram import models as m

_ROTATE = ("None", "DeleteOldestNonDefaultVersionWhenLimitExceeded")


def _policy_type(ctx: RequestContext) -> str:
    value = ctx.required("PolicyType")
    if value not in ("System", "Custom"):
        raise invalid_parameter("PolicyType", "System or Custom")
    return value


def _description(ctx: RequestContext, name: str = "Description") -> str | None:
    text = ctx.params.get(name)
    if text is not None and len(text) > 1024:
        raise ApiError(
            400,
            f"InvalidParameter.{name}.Length",
            f"The parameter {name} must be at most 1024 characters long.",
        )
    return text


def _policy_view(ctx: RequestContext, policy: dict[str, Any]) -> dict[str, Any]:
    return {
        key: policy[key]
        for key in (
            "PolicyName",
            "PolicyType",
            "Description",
            "DefaultVersion",
            "CreateDate",
            "UpdateDate",
        )
    }


def _version_view(policy: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    return {
        "VersionId": version["VersionId"],
        "PolicyDocument": version["PolicyDocument"],
        "CreateDate": version["CreateDate"],
        "IsDefaultVersion": version["VersionId"] == policy["DefaultVersion"],
    }


def _custom_policy(ctx: RequestContext) -> dict[str, Any]:
    """The custom policy the actions without a PolicyType change (CreatePolicyVersion,
    DeletePolicyVersion, SetDefaultPolicyVersion, DeletePolicy): they address custom policies
    only, so a system policy of that name is read-only to them (403 NoPermission, chosen: the
    docs name no code for writing a system policy); a name in neither namespace is 404."""
    name = ctx.required("PolicyName")
    policy = m.get_policy(ctx, name, "Custom")
    if policy is not None:
        return policy
    if m.system_policy(name) is not None:
        raise ApiError(
            403,
            "NoPermission",
            f"The policy {name} is a system policy: it is read-only "
            "(only custom policies can be changed or deleted).",
        )
    raise m.policy_not_found(name)


def _save_policy(ctx: RequestContext, policy: dict[str, Any]) -> None:
    ctx.tx.put(m.POLICY_KIND, m.GLOBAL, policy["PolicyName"], policy)


def create_policy(ctx: RequestContext) -> dict[str, Any]:
    name, text = ctx.required("PolicyName"), ctx.required("PolicyDocument")
    m.check_policy_name(name)
    m.validate_document(text)
    if m.get_policy(ctx, name, "Custom"):  # custom names only: a system one may share it
        raise ApiError(409, "EntityAlreadyExists.Policy", f"The policy already exists: {name}.")
    if ctx.tx.count(m.POLICY_KIND, m.GLOBAL) >= m.MAX_CUSTOM_POLICIES:
        raise ApiError(409, "LimitExceeded.Policy", "The count of policies beyond the limit.")
    now = iso(ctx.now())
    policy = {
        "PolicyName": name,
        "PolicyType": "Custom",
        "Description": _description(ctx) or "",
        "DefaultVersion": "v1",
        "CreateDate": now,
        "UpdateDate": now,
        "NextVersion": 2,
        "Versions": [{"VersionId": "v1", "PolicyDocument": text, "CreateDate": now}],
    }
    _save_policy(ctx, policy)
    view = _policy_view(ctx, policy)
    view.pop("UpdateDate")
    return {"Policy": view}


def get_policy(ctx: RequestContext) -> dict[str, Any]:
    name, policy_type = ctx.required("PolicyName"), _policy_type(ctx)
    policy = m.require_policy(ctx, name, policy_type)
    default = next(v for v in policy["Versions"] if v["VersionId"] == policy["DefaultVersion"])
    view = _policy_view(ctx, policy)
    view["AttachmentCount"] = m.attachment_count(ctx, name, policy_type)
    view["PolicyDocument"] = default["PolicyDocument"]
    return {"Policy": view, "DefaultPolicyVersion": _version_view(policy, default)}


def _find_version(policy: dict[str, Any], version_id: str) -> dict[str, Any]:
    for version in policy["Versions"]:
        if version["VersionId"] == version_id:
            return version
    raise ApiError(
        404, "EntityNotExist.Policy.Version", f"The policy version does not exist: {version_id}."
    )


def get_policy_version(ctx: RequestContext) -> dict[str, Any]:
    name, policy_type = ctx.required("PolicyName"), _policy_type(ctx)
    version_id = ctx.required("VersionId")
    policy = m.require_policy(ctx, name, policy_type)
    return {"PolicyVersion": _version_view(policy, _find_version(policy, version_id))}


def list_policy_versions(ctx: RequestContext) -> dict[str, Any]:
    policy = m.require_policy(ctx, ctx.required("PolicyName"), _policy_type(ctx))
    return {
        "PolicyVersions": {
            "PolicyVersion": [_version_view(policy, v) for v in reversed(policy["Versions"])]
        }
    }


def create_policy_version(ctx: RequestContext) -> dict[str, Any]:
    text = ctx.required("PolicyDocument")
    rotate = ctx.str_param("RotateStrategy", "None") or "None"
    if rotate not in _ROTATE:
        raise invalid_parameter("RotateStrategy", " or ".join(_ROTATE))
    set_default = ctx.bool_param("SetAsDefault", False)
    policy = _custom_policy(ctx)
    m.validate_document(text)
    if len(policy["Versions"]) >= m.MAX_VERSIONS:
        if rotate == "None":
            raise ApiError(
                409,
                "LimitExceeded.Policy.Version",
                "The count of policy version beyond the current limits.",
            )
        oldest = next(v for v in policy["Versions"] if v["VersionId"] != policy["DefaultVersion"])
        policy["Versions"].remove(oldest)
    now = iso(ctx.now())
    version = {"VersionId": f"v{policy['NextVersion']}", "PolicyDocument": text, "CreateDate": now}
    policy["NextVersion"] += 1
    policy["Versions"].append(version)
    if set_default:
        policy["DefaultVersion"] = version["VersionId"]
    policy["UpdateDate"] = now
    _save_policy(ctx, policy)
    return {"PolicyVersion": _version_view(policy, version)}


def delete_policy_version(ctx: RequestContext) -> dict[str, Any]:
    version_id = ctx.required("VersionId")
    policy = _custom_policy(ctx)
    version = _find_version(policy, version_id)
    if version_id == policy["DefaultVersion"]:
        raise ApiError(
            409,
            "DeleteConflict.Policy.Version.Default",
            "The default version of the policy can not be deleted.",
        )
    policy["Versions"].remove(version)
    _save_policy(ctx, policy)
    return {}


def set_default_policy_version(ctx: RequestContext) -> dict[str, Any]:
    version_id = ctx.required("VersionId")
    policy = _custom_policy(ctx)
    _find_version(policy, version_id)
    policy["DefaultVersion"] = version_id
    policy["UpdateDate"] = iso(ctx.now())
    _save_policy(ctx, policy)
    return {}


def delete_policy(ctx: RequestContext) -> dict[str, Any]:
    """``CascadingDelete=true`` deletes the policy's non-default versions with it (SDK
    DeletePolicyRequest: "deletes all versions of the policy"); without it a policy that has
    other versions is 409 DeleteConflict.Policy.Version. Neither detaches the policy: a policy
    attached to a role is 409 DeleteConflict.Role.Policy (the code is a guess, Terraform retries
    on it)."""
    policy = _custom_policy(ctx)
    name = policy["PolicyName"]
    if m.attachment_count(ctx, name, "Custom"):
        raise ApiError(
            409,
            "DeleteConflict.Role.Policy",
            "The policy CAN NOT be deleted while it is attached to a role.",
        )
    if len(policy["Versions"]) > 1 and not ctx.bool_param("CascadingDelete", False):
        raise ApiError(
            409,
            "DeleteConflict.Policy.Version",
            "The policy CAN NOT has any version except the default version.",
        )
    ctx.tx.delete(m.POLICY_KIND, m.GLOBAL, name)
    return {}


# The Role fields each answer carries (SDK {Create,Update,Get}RoleResponseBody): only GetRole
# has IsServiceLinkedRole, CreateRole has no UpdateDate.
_CREATE_ROLE_HIDES = ("Attachments", "UpdateDate", "IsServiceLinkedRole")
_UPDATE_ROLE_HIDES = ("Attachments", "IsServiceLinkedRole")
_GET_ROLE_HIDES = ("Attachments",)


def _role_view(role: dict[str, Any], hides: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in role.items() if k not in hides}


def _max_session(ctx: RequestContext, name: str) -> int | None:
    return ctx.int_param(name, None, lo=3600, hi=43200)


def create_role(ctx: RequestContext) -> dict[str, Any]:
    name, trust = ctx.required("RoleName"), ctx.required("AssumeRolePolicyDocument")
    m.check_role_name(name)
    m.validate_document(trust, trust=True)
    if m.load_role(ctx, name) is not None:
        raise ApiError(409, "EntityAlreadyExists.Role", "The role does already EXIST.")
    now = iso(ctx.now())
    role = {
        "RoleId": m.new_role_id(ctx),
        "RoleName": name,
        "Arn": m.role_arn(ctx.account_id, name),
        "Description": _description(ctx) or "",
        "AssumeRolePolicyDocument": trust,
        "MaxSessionDuration": _max_session(ctx, "MaxSessionDuration") or 3600,
        "CreateDate": now,
        "UpdateDate": now,
        "IsServiceLinkedRole": False,
        "Attachments": [],
    }
    m.save_role(ctx, role)
    return {"Role": _role_view(role, _CREATE_ROLE_HIDES)}


def get_role(ctx: RequestContext) -> dict[str, Any]:
    return {"Role": _role_view(m.require_role(ctx, ctx.required("RoleName")), _GET_ROLE_HIDES)}


def update_role(ctx: RequestContext) -> dict[str, Any]:
    role = m.require_role(ctx, ctx.required("RoleName"))
    trust = ctx.str_param("NewAssumeRolePolicyDocument")
    if trust is not None:
        m.validate_document(trust, trust=True)
        role["AssumeRolePolicyDocument"] = trust
    description = _description(ctx, "NewDescription")
    if description is not None:
        role["Description"] = description
    max_session = _max_session(ctx, "NewMaxSessionDuration")
    if max_session is not None:
        role["MaxSessionDuration"] = max_session
    role["UpdateDate"] = iso(ctx.now())
    m.save_role(ctx, role)
    return {"Role": _role_view(role, _UPDATE_ROLE_HIDES)}


def delete_role(ctx: RequestContext) -> dict[str, Any]:
    role = m.require_role(ctx, ctx.required("RoleName"))
    if role["Attachments"]:
        raise ApiError(
            409,
            "DeleteConflict.Role.Policy",
            "The role CAN NOT has any attached policy while deleting the role.",
        )
    ctx.tx.delete(m.ROLE_KIND, m.GLOBAL, role["RoleName"].lower())
    return {}


def attach_policy_to_role(ctx: RequestContext) -> dict[str, Any]:
    policy_type, name = _policy_type(ctx), ctx.required("PolicyName")
    role = m.require_role(ctx, ctx.required("RoleName"))
    m.require_policy(ctx, name, policy_type)
    if any((a["PolicyName"], a["PolicyType"]) == (name, policy_type) for a in role["Attachments"]):
        raise ApiError(
            409,
            "EntityAlreadyExists.Role.Policy",
            "The policy has already been attached to the role.",
        )
    custom = sum(1 for a in role["Attachments"] if a["PolicyType"] == "Custom")
    if policy_type == "Custom" and custom >= m.MAX_CUSTOM_PER_ROLE:
        raise ApiError(
            409,
            "LimitExceeded.Role.Policy",
            "The count of policies attached to the role beyond the limit.",
        )
    role["Attachments"].append(
        {"PolicyName": name, "PolicyType": policy_type, "AttachDate": iso(ctx.now())}
    )
    m.save_role(ctx, role)
    return {}


def detach_policy_from_role(ctx: RequestContext) -> dict[str, Any]:
    policy_type, name = _policy_type(ctx), ctx.required("PolicyName")
    role = m.require_role(ctx, ctx.required("RoleName"))
    m.require_policy(ctx, name, policy_type)
    kept = [
        a for a in role["Attachments"] if (a["PolicyName"], a["PolicyType"]) != (name, policy_type)
    ]
    if len(kept) == len(role["Attachments"]):
        raise ApiError(404, "EntityNotExist.Role.Policy", "The policy is not attached to the role.")
    role["Attachments"] = kept
    m.save_role(ctx, role)
    return {}


def list_policies_for_role(ctx: RequestContext) -> dict[str, Any]:
    role = m.require_role(ctx, ctx.required("RoleName"))
    items = []
    for attachment in role["Attachments"]:
        policy = m.get_policy(ctx, attachment["PolicyName"], attachment["PolicyType"])
        if policy is not None:
            items.append(
                {
                    **attachment,
                    "Description": policy["Description"],
                    "DefaultVersion": policy["DefaultVersion"],
                }
            )
    return {"Policies": {"Policy": items}}


ACTIONS = {
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "GetPolicyVersion": get_policy_version,
    "ListPolicyVersions": list_policy_versions,
    "CreatePolicyVersion": create_policy_version,
    "DeletePolicyVersion": delete_policy_version,
    "SetDefaultPolicyVersion": set_default_policy_version,
    "DeletePolicy": delete_policy,
    "CreateRole": create_role,
    "GetRole": get_role,
    "UpdateRole": update_role,
    "DeleteRole": delete_role,
    "AttachPolicyToRole": attach_policy_to_role,
    "DetachPolicyFromRole": detach_policy_from_role,
    "ListPoliciesForRole": list_policies_for_role,
}

register_service("ram", "2015-05-01", ACTIONS, regional=False)
