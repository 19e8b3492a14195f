"""Who calls: RAM users with access keys and attached policies, and the check of every call.

The account's own key (`--access-key-id`/`--access-key-secret`, default
`emulator`/`emulator-secret`) may call anything, as an Alibaba Cloud account may. Every other
key belongs to a RAM user, and each of its calls (RDS, KMS and RAM alike) is decided by
`policy_eval.evaluate` (the same evaluator that decides what RDS may do with the role it
assumes) over the user's policies, for the action and resource(s) `resources.checks` names.
A call no policy allows (or one a Deny refuses) gets the service's not-authorised answer,
naming the action and the resource:

- RDS: 403 `Forbidden.RAM` "User not authorized to operate on the specified resource, or this
  API doesn't support RAM." (documented, the common code of the OpenAPI gateway);
- KMS: 403 `Forbidden.NoPermission` "This operation is forbidden by permission system."
  (documented);
- RAM: 403 `NoPermission` "You are not authorized to do this action. You should be authorized
  by RAM." (documented);

each message followed by `<user ARN> is not authorized to perform: <action> on resource:
<ARN>` (**chosen** wording), and the body carries `AccessDeniedDetail` (`AuthAction`,
`AuthPrincipalType` `SubUser`, `AuthPrincipalDisplayName`, `AuthPrincipalOwnerId`,
`NoPermissionType` `ImplicitDeny`|`ExplicitDeny`, `PolicyType`, `EncodedDiagnosticInfo`): the
fields Alibaba documents for a 403; their values here are **chosen**.

A user (store kind `ram_user`, global) holds `Policies` (references to RAM policies by name
and type, read at each call, so a new default version applies at once) and `Documents`
(inline policy documents: an emulator convenience, **chosen**; real RAM attaches only named
policies). Its keys are stored by id (kind `ram_access_key`); the Authenticator finds their
secrets there. Users come from a seed (`users:`) or the admin API (`/_emulator/users`); there
are no RAM user actions on the wire (CreateUser, AttachPolicyToUser, ...).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator import accounts, resources
from reconciler.emulator.admin import AdminError, register_admin_route
from reconciler.emulator.dispatch import RequestContext, register_authorizer
from reconciler.emulator.errors import ApiError
from reconciler.emulator.policy_eval import (
    Decision,
    MalformedPolicyError,
    ParsedDocument,
    evaluate_parsed,
    parsed_or_error,
)
from reconciler.emulator.runtime import ACCESS_KEY_KIND, EmulatorState
from reconciler.emulator.store import Transaction

USER_KIND, GLOBAL = "ram_user", ""
_USER_NAME = re.compile(r"[A-Za-z0-9._@\-]{1,64}")
_KEY_ID = re.compile(r"[A-Za-z0-9._\-]{1,128}")
_MAX_SECRET = 256
_USER_FIELDS = {"name", "access_keys", "policies", "documents"}

_DENIALS = {
    "rds": (
        "Forbidden.RAM",
        "User not authorized to operate on the specified resource, "
        "or this API doesn't support RAM.",
    ),
    "kms": ("Forbidden.NoPermission", "This operation is forbidden by permission system."),
    "ram": (
        "NoPermission",
        "You are not authorized to do this action. You should be authorized by RAM.",
    ),
}


class UserError(ValueError):
    """A user definition that cannot be stored; the message says which field and why."""


# --- the model --------------------------------------------------------------------------------


def _strings(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError(f"{what} must be a list")
    return value


def _policy_ref(ctx: RequestContext, ref: Any, where: str) -> dict[str, str]:
    """{name, type} of an attached policy: a bare name is the custom policy of that name if
    one exists, else the system one; it must exist."""
    from reconciler.emulator.ram import models as ram

    if isinstance(ref, str):
        ref = {"name": ref}
    if (
        not isinstance(ref, dict)
        or not isinstance(ref.get("name"), str)
        or set(ref)
        - {
            "name",
            "type",
        }
    ):
        raise UserError(f"{where}: a policy name, or {{name, type: System|Custom}}")
    name, policy_type = ref["name"], ref.get("type")
    if policy_type is None:
        policy_type = "Custom" if ram.get_policy(ctx, name, "Custom") else "System"
    if policy_type not in ("System", "Custom"):
        raise UserError(f"{where}: type must be System or Custom")
    if ram.get_policy(ctx, name, policy_type) is None:
        raise UserError(f"{where}: no {policy_type} policy {name}")
    return {"PolicyName": name, "PolicyType": policy_type}


def _document(doc: Any, where: str) -> str:
    from reconciler.emulator.ram import models as ram

    text = doc if isinstance(doc, str) else json.dumps(doc)
    try:
        ram.validate_document(text)
    except ApiError as error:
        raise UserError(f"{where}: {error.message}") from None
    return text


def _access_key(tx: Transaction, entry: Any, where: str, user: str, account_key: str) -> dict:
    if not isinstance(entry, dict) or set(entry) != {"id", "secret"}:
        raise UserError(f"{where}: must be {{id, secret}}")
    key_id, secret = entry["id"], entry["secret"]
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise UserError(f"{where}.id: 1 to 128 letters, digits, '.', '_' or '-'")
    if not isinstance(secret, str) or not 1 <= len(secret) <= _MAX_SECRET:
        raise UserError(f"{where}.secret: a string of 1 to {_MAX_SECRET} characters")
    if key_id == account_key:
        raise UserError(f"{where}.id: {key_id} is the account's own key")
    held = tx.get(ACCESS_KEY_KIND, GLOBAL, key_id)
    if held is not None and held["UserName"] != user:
        raise UserError(f"{where}.id: {key_id} belongs to user {held['UserName']}")
    return {"AccessKeyId": key_id, "AccessKeySecret": secret, "UserName": user}


def put_user(ctx: RequestContext, entry: Any) -> dict[str, Any]:
    """Create or replace a user (its keys and policies) from a seed or admin entry:
    `{name, access_keys: [{id, secret}], policies: [name | {name, type}], documents: [doc]}`.
    Returns the user as `describe_user` shows it. UserError on a bad entry."""
    if not isinstance(entry, dict):
        raise UserError("a user must be a mapping")
    unknown = sorted(set(entry) - _USER_FIELDS)
    if unknown:
        raise UserError(f"unknown field(s) {', '.join(unknown)}")
    name = entry.get("name")
    if not isinstance(name, str) or not _USER_NAME.fullmatch(name):
        raise UserError("name: 1 to 64 letters, digits, '.', '_', '@' or '-'")
    account_key = ctx.state.settings.access_key_id
    keys = [
        _access_key(ctx.tx, k, f"access_keys[{i}]", name, account_key)
        for i, k in enumerate(_strings(entry.get("access_keys"), "access_keys"))
    ]
    if len({k["AccessKeyId"] for k in keys}) != len(keys):
        raise UserError("access_keys: an id is given twice")
    policies = [
        _policy_ref(ctx, ref, f"policies[{i}]")
        for i, ref in enumerate(_strings(entry.get("policies"), "policies"))
    ]
    documents = [
        _document(doc, f"documents[{i}]")
        for i, doc in enumerate(_strings(entry.get("documents"), "documents"))
    ]
    for key in keys:
        try:
            accounts.own_user_key(ctx.tx, key["AccessKeyId"], ctx.account_id)
        except ValueError as error:
            raise UserError(f"access_keys: {error}") from None
    delete_user(ctx.tx, name)
    user = {
        "UserName": name,
        "Arn": f"acs:ram::{ctx.account_id}:user/{name}",
        "CreateDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Policies": policies,
        "Documents": documents,
    }
    ctx.tx.put(USER_KIND, GLOBAL, name, user)
    for key in keys:
        ctx.tx.put(ACCESS_KEY_KIND, GLOBAL, key["AccessKeyId"], key)
        accounts.own_user_key(ctx.tx, key["AccessKeyId"], ctx.account_id)
    return describe_user(ctx.tx, user)


def delete_user(tx: Transaction, name: str) -> bool:
    """Remove a user and its keys; False when there was none."""
    for key in tx.list(ACCESS_KEY_KIND, GLOBAL):
        if key["UserName"] == name:
            tx.delete(ACCESS_KEY_KIND, GLOBAL, key["AccessKeyId"])
            tx.delete(accounts.KEY_OWNER_KIND, GLOBAL, key["AccessKeyId"])
    return tx.delete(USER_KIND, GLOBAL, name)


def describe_user(tx: Transaction, user: dict[str, Any]) -> dict[str, Any]:
    """The user without secrets: name, ARN, key ids, policies, inline documents."""
    keys = tx.list(ACCESS_KEY_KIND, GLOBAL)
    owned = [k["AccessKeyId"] for k in keys if k["UserName"] == user["UserName"]]
    return {
        "name": user["UserName"],
        "arn": user["Arn"],
        "access_key_ids": sorted(owned),
        "policies": [{"name": p["PolicyName"], "type": p["PolicyType"]} for p in user["Policies"]],
        "documents": [json.loads(d) for d in user["Documents"]],
    }


def user_documents(ctx: RequestContext, user: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents that decide the user's calls: each attached policy's default version
    (a policy deleted since is skipped) and the inline documents."""
    from reconciler.emulator.ram import models as ram

    documents = []
    for ref in user["Policies"]:
        policy = ram.get_policy(ctx, ref["PolicyName"], ref["PolicyType"])
        if policy is not None:
            documents.append(ram.default_document(policy))
    return documents + [json.loads(d) for d in user["Documents"]]


# --- the check of every call --------------------------------------------------------------


def authorize(ctx: RequestContext, key_id: str) -> None:
    """Refuse the call (ApiError 403) unless the caller is an account itself (root) or its
    policies allow every (action, resource) the request needs: a user's policies, or an STS
    session's role policies (and its session Policy, when AssumeRole gave one: both must
    allow, as Alibaba documents for AssumeRole's Policy)."""
    caller = ctx.caller
    if caller is None or caller.kind == accounts.ROOT:
        return
    checks = resources.checks(ctx)
    if not checks:
        return
    principal = _principal(ctx, caller)
    # The documents depend only on the store (the caller is its key's user or session):
    # read and parsed once until the next write (store.Derived; docs/emulator.md,
    # "Performance").
    grants = ctx.tx.derived(
        ("grants", caller.access_key_id),
        lambda: _Grants(
            tuple(
                tuple(parsed_or_error(d) for d in documents)
                for documents in _policy_sets(ctx, caller, principal)
            )
        ),
    )
    for action, resource in checks:
        decision = grants.decide(action, resource)
        if decision is not Decision.ALLOW:
            raise denied(ctx, principal, action, resource, decision)


_MAX_DECISIONS = 50_000  # (action, resource) pairs kept per caller: a few MB at most


class _Grants:
    """The parsed document sets that must each allow a call, and the decisions already taken
    when no statement has a condition (the decision then depends on the action and the
    resource alone). Lives as long as the store does not change (store.Derived)."""

    def __init__(self, sets: tuple[tuple[ParsedDocument, ...], ...]) -> None:
        self.sets = sets
        documents = [document for docs in sets for document in docs]
        self.decisions: dict[tuple[str, str], Decision] | None = (
            {} if all(_unconditional(document) for document in documents) else None
        )
        self.any_resource = all(_any_resource(document) for document in documents)
        """Every statement names every resource (`"Resource": "*"`): a decision depends on
        the action alone, so one decision serves every instance and key."""

    def decide(self, action: str, resource: str) -> Decision:
        """The first set's refusal (ExplicitDeny or ImplicitDeny), else ALLOW."""
        known = (action, "*" if self.any_resource else resource)
        if self.decisions is not None and known in self.decisions:
            return self.decisions[known]
        context = {
            "acs:SecureTransport": "false",
            "acs:CurrentTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        decision = Decision.ALLOW
        for documents in self.sets:
            decision = evaluate_parsed(documents, action, resource, context)
            if decision is not Decision.ALLOW:
                break
        if self.decisions is not None:
            if len(self.decisions) >= _MAX_DECISIONS:
                self.decisions.clear()
            self.decisions[known] = decision
        return decision


def _unconditional(document: ParsedDocument) -> bool:
    return not isinstance(document, MalformedPolicyError) and not any(
        statement.conditions for statement in document
    )


def _any_resource(document: ParsedDocument) -> bool:
    return not isinstance(document, MalformedPolicyError) and all(
        statement.resources == ("*",) for statement in document
    )


def _principal(ctx: RequestContext, caller: accounts.Caller) -> dict[str, Any]:
    """What a denial names: {Arn, DisplayName, Type} (and the user document, for a user)."""
    if caller.kind == accounts.SESSION and caller.session is not None:
        session = caller.session
        return {
            "Arn": session["AssumedRoleArn"],
            "DisplayName": f"{session['RoleName']}:{session['RoleSessionName']}",
            "Type": "AssumedRoleUser",
        }
    user = ctx.tx.get(USER_KIND, GLOBAL, caller.user_name)
    if user is None:  # removed between the signature check and now
        raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    return {"Arn": user["Arn"], "DisplayName": user["UserName"], "Type": "SubUser", "User": user}


def _policy_sets(
    ctx: RequestContext, caller: accounts.Caller, principal: dict[str, Any]
) -> list[list[dict[str, Any]]]:
    """The document sets that must each allow the call."""
    from reconciler.emulator.ram import models as ram

    if caller.kind != accounts.SESSION or caller.session is None:
        return [user_documents(ctx, principal["User"])]
    sets = [ram.attached_policy_documents(ctx, caller.session["RoleName"])]
    if caller.session.get("Policy"):
        sets.append([json.loads(caller.session["Policy"])])
    return sets


def denied(
    ctx: RequestContext,
    principal: dict[str, Any],
    action: str,
    resource: str,
    decision: Decision,
) -> ApiError:
    code, text = _DENIALS.get(ctx.service, _DENIALS["ram"])
    why = "an explicit Deny" if decision is Decision.EXPLICIT_DENY else "no policy allows it"
    message = (
        f"{text} {principal['Arn']} is not authorized to perform: {action} on resource: "
        f"{resource} ({why})."
    )
    detail = {
        "AuthAction": action,
        "AuthPrincipalType": principal["Type"],
        "AuthPrincipalDisplayName": principal["DisplayName"],
        "AuthPrincipalOwnerId": ctx.account_id,
        "NoPermissionType": decision.value,
        "PolicyType": "AccountLevelIdentityBasedPolicy",
        "EncodedDiagnosticInfo": "",
    }
    return ApiError(403, code, message, extra={"AccessDeniedDetail": detail})


register_authorizer(authorize)


# --- the admin API ----------------------------------------------------------------------------


def _context(state: EmulatorState, tx: Transaction) -> RequestContext:
    return RequestContext("ram", "Admin", {}, tx, state, "admin")


def _post_user(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    with state.store.transaction() as tx:
        try:
            return {"user": put_user(_context(state, tx), body)}
        except UserError as error:
            raise AdminError(400, str(error)) from None


def _list_users(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    with state.store.transaction() as tx:
        return {"users": [describe_user(tx, u) for u in tx.list(USER_KIND, GLOBAL)]}


def _delete_users(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise AdminError(400, "name must be a string")
    with state.store.transaction() as tx:
        if name:
            if not delete_user(tx, name):
                raise AdminError(404, f"no user {name}", "EntityNotExist.User")
        else:
            for user in tx.list(USER_KIND, GLOBAL):
                delete_user(tx, user["UserName"])
        return {"users": [describe_user(tx, u) for u in tx.list(USER_KIND, GLOBAL)]}


register_admin_route("POST", "users", _post_user)
register_admin_route("GET", "users", _list_users)
register_admin_route("DELETE", "users", _delete_users)
