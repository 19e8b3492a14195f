"""STS rules (no HTTP): AssumeRole's checks and the credentials it issues.

Documented (Alibaba's AssumeRole page and its STS error list): an Alibaba Cloud account's own
key cannot assume a role (403 `NoPermission` "Roles may not be assumed by root accounts.");
the caller needs `sts:AssumeRole` on the role in its own policies (the authorizer, 403
`NoPermission`); the role's trust policy must name the caller's account
(`acs:ram::<uid>:root`) or the caller itself, else 403 `NoPermission` "No permission perform
sts:AssumeRole on this Role."; RoleArn `acs:ram::<uid>:role/<name>` (else 400
`InvalidParameter.RoleArn`), an unknown role 404 `EntityNotExist.Role`; RoleSessionName 2 to 64
of `[A-Za-z0-9.@_-]` (400 `InvalidParameter.RoleSessionName`); DurationSeconds 900 to the
role's MaxSessionDuration (400 `InvalidParameter.DurationSeconds`); Policy at most 2,048
characters and a valid policy (400 `InvalidParameter.PolicyGrammar`): the session may do what
both the role's policies and this Policy allow.

Chosen: the statuses of the 400s and 404; the message wording after the documented prefix;
the shape of the ids (`STS.` + 25 characters, a 64-character token); a role session may assume
another role (role chaining) like a user.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from reconciler.emulator import accounts
from reconciler.emulator.clock import iso
from reconciler.emulator.dispatch import RequestContext, stable_token
from reconciler.emulator.errors import ApiError
from reconciler.emulator.policy_eval import trust_allows_ram
from reconciler.emulator.ram import models as ram

MIN_DURATION, DEFAULT_DURATION, MAX_POLICY_CHARS = 900, 3600, 2048
_ROLE_ARN = re.compile(r"acs:ram::([0-9]{16}):role/([A-Za-z0-9.\-]{1,64})", re.IGNORECASE)
_SESSION_NAME = re.compile(r"[A-Za-z0-9.@_\-]{2,64}")


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, f"InvalidParameter.{name}", message)


def _no_permission(message: str) -> ApiError:
    return ApiError(403, "NoPermission", message)


def target_role(ctx: RequestContext, arn: str) -> tuple[str, dict[str, Any]]:
    """(account, role) a RoleArn names; 400 for a malformed ARN, 404 for no such role."""
    match = _ROLE_ARN.fullmatch(arn)
    if match is None:
        raise _bad("RoleArn", "The parameter RoleArn is wrongly formed.")
    account, name = match.group(1), match.group(2)
    default = ctx.state.settings.account_id
    role = None
    if accounts.is_declared(ctx.tx, default, account):
        scoped = ctx.tx.in_account(accounts.scope_of(default, account))
        role = scoped.get(ram.ROLE_KIND, ram.GLOBAL, name.lower())
    if role is None:
        raise ApiError(404, "EntityNotExist.Role", f"The role not exists: {arn}.")
    return account, role


def _duration(ctx: RequestContext, role: dict[str, Any]) -> int:
    most = int(role.get("MaxSessionDuration") or DEFAULT_DURATION)
    text = ctx.str_param("DurationSeconds")
    value = DEFAULT_DURATION if text is None else int(text) if text.isdigit() else -1
    if not MIN_DURATION <= value <= most:
        raise _bad(
            "DurationSeconds",
            f"The Min/Max value of DurationSeconds is {MIN_DURATION}/{most} seconds.",
        )
    return value


def _session_policy(ctx: RequestContext) -> str | None:
    text = ctx.str_param("Policy")
    if text is None:
        return None
    try:
        if len(text) > MAX_POLICY_CHARS:
            raise ValueError
        ram.validate_document(text)
    except (ApiError, ValueError):
        raise _bad("PolicyGrammar", "The parameter Policy has not passed grammar check.") from None
    return text


def assume_role(ctx: RequestContext) -> dict[str, Any]:
    caller = ctx.caller
    if caller is None or caller.kind == accounts.ROOT:
        raise _no_permission("Roles may not be assumed by root accounts.")
    arn, session_name = ctx.required("RoleArn"), ctx.required("RoleSessionName")
    if not _SESSION_NAME.fullmatch(session_name):
        raise _bad("RoleSessionName", "The parameter RoleSessionName is wrongly formed.")
    account, role = target_role(ctx, arn)
    duration = _duration(ctx, role)
    policy = _session_policy(ctx)
    principals = [f"acs:ram::{caller.account}:root", caller.arn]
    context = {"sts:ExternalId": ctx.params["ExternalId"]} if ctx.params.get("ExternalId") else {}
    if not trust_allows_ram(role["AssumeRolePolicyDocument"], principals, context):
        raise _no_permission(
            "No permission perform sts:AssumeRole on this Role. Maybe you should check the "
            f"role's trust policy: {role['Arn']} does not trust {caller.arn}."
        )
    return _issue(ctx, account, role, session_name, duration, policy)


def _issue(
    ctx: RequestContext,
    account: str,
    role: dict[str, Any],
    session_name: str,
    duration: int,
    policy: str | None,
) -> dict[str, Any]:
    key_id = "STS." + stable_token(ctx.next_serial("sts_credential"), 25, "sts")
    expiration = iso(ctx.now() + timedelta(seconds=duration))
    session = {
        "AccessKeyId": key_id,
        "AccessKeySecret": secrets.token_urlsafe(30),
        "SecurityToken": "CAIS" + secrets.token_urlsafe(60),
        "Expiration": expiration,
        "Account": account,
        "RoleName": role["RoleName"],
        "RoleId": role["RoleId"],
        "RoleArn": role["Arn"],
        "RoleSessionName": session_name,
        "AssumedRoleArn": f"{role['Arn']}/{session_name}",
        "Policy": policy,
        "Source": ctx.caller.arn if ctx.caller else "",
    }
    ctx.tx.put(accounts.STS_KIND, accounts.GLOBAL, key_id, session)
    return {
        "AssumedRoleUser": {
            "Arn": session["AssumedRoleArn"],
            "AssumedRoleId": f"{role['RoleId']}:{session_name}",
        },
        "Credentials": {
            "AccessKeyId": key_id,
            "AccessKeySecret": session["AccessKeySecret"],
            "SecurityToken": session["SecurityToken"],
            "Expiration": expiration,
        },
    }


def _user_id(account: str, name: str) -> str:
    """A RAM user's 16-digit id, stable for (account, name) (chosen: users have no id here)."""
    return str(int(stable_token(1, 15, f"user:{account}:{name}", "0123456789")) + 2 * 10**15)


def caller_identity(ctx: RequestContext) -> dict[str, Any]:
    caller = ctx.caller
    account = ctx.account_id
    if caller is None or caller.kind == accounts.ROOT:
        arn = f"acs:ram::{account}:root"
        return {"AccountId": account, "Arn": arn, "IdentityType": "Account",
                "PrincipalId": account, "UserId": account}  # fmt: skip
    if caller.kind == accounts.USER:
        user_id = _user_id(account, caller.user_name)
        return {"AccountId": account, "Arn": caller.arn, "IdentityType": "RAMUser",
                "PrincipalId": user_id, "UserId": user_id}  # fmt: skip
    session = caller.session or {}
    role_id, name = session["RoleId"], session["RoleSessionName"]
    arn = f"acs:ram::{account}:assumed-role/{session['RoleName'].lower()}/{name}"
    return {"AccountId": account, "Arn": arn, "IdentityType": "AssumedRoleUser",
            "PrincipalId": f"{role_id}:{name}", "RoleId": role_id}  # fmt: skip
