"""The RAM action and resource(s) a request is checked against: `checks(ctx)`.

Resource names follow each service's RAM documentation (ARN formats):

- RDS: `acs:rds:<region>:<account>:dbinstance/<id>` for the instance the request names
  (`DBInstanceId`, a comma list checks each; `InstanceId` for DescribeHistoryTasks; each
  `ResourceId.N` for the tag actions, as their RAM tables document). A request
  that names none (a listing: DescribeDBInstances, DescribeHistoryTasks of a region,
  ListTagResources by tag only; CreateDBInstance) is checked against
  `acs:rds:<region>:<account>:dbinstance/*`: **chosen**
  (the cloud filters a listing by the instances the caller may see; the emulator asks for the
  whole region instead). DescribeKmsAssociateResources and CheckCloudResourceAuthorized are
  about a key or a role, and the RDS documentation names no resource type: `*` (**chosen**).
- KMS (documented): `acs:kms:<region>:<account>:key/<key-id>` for an action on a key (an alias
  or ARN in `KeyId`, or SetDeletionProtection's `ProtectedResourceArn`, is resolved to the key
  it names; an alias that names none is checked as
  `...:alias/<name>`, **chosen**); CreateKey and ListKeys the key container
  `acs:kms:<region>:<account>:key`; ListAliases the alias container `...:alias`; CreateAlias
  and UpdateAlias both the key and `...:alias/<alias-name>`; DeleteAlias the alias;
  DescribeAccountKmsStatus `*`. DescribeRegions is not checked at all (documented).
- RAM: `acs:ram::<account>:role/<name>` (the name lower-cased, as the role's ARN shows it:
  **chosen**) and `acs:ram::<account>:policy/<name>`; AttachPolicyToRole and
  DetachPolicyFromRole check both. CreatePolicyVersion that will rotate out the oldest version
  (`RotateStrategy=DeleteOldestNonDefaultVersionWhenLimitExceeded` on a policy with 5) is also
  checked for `ram:DeletePolicyVersion` on the policy: **chosen**, the stricter reading of an
  undocumented point.
- STS: AssumeRole is checked as `sts:AssumeRole` on the RoleArn it names (documented: the
  caller needs AliyunSTSAssumeRoleAccess or a policy allowing it); GetCallerIdentity is not
  checked (every identity may ask who it is: **chosen**, the documents list no permission).
- Anything else: `*`.

The condition keys every check carries: `acs:SecureTransport` (`false`: the emulator speaks
http) and `acs:CurrentTime` (the real clock, ISO 8601).
"""

from __future__ import annotations

from reconciler.emulator.dispatch import RequestContext

Check = tuple[str, str]
"""(`service:Action`, resource ARN)."""

UNCHECKED = frozenset({"kms:DescribeRegions", "sts:GetCallerIdentity"})
"""Actions RAM does not check (KMS documents DescribeRegions so)."""
_ROTATE = "DeleteOldestNonDefaultVersionWhenLimitExceeded"
_MAX_VERSIONS = 5


def checks(ctx: RequestContext) -> list[Check]:
    """Every (action, resource) the request needs to be allowed; all must be."""
    action = f"{ctx.service}:{ctx.action}"
    if action in UNCHECKED:
        return []
    if ctx.service == "rds":
        return [(action, r) for r in _rds(ctx)]
    if ctx.service == "kms":
        return [(action, r) for r in _kms(ctx)]
    if ctx.service == "ram":
        return _ram(ctx, action)
    if ctx.service == "sts":
        return [(action, ctx.params.get("RoleArn") or "*")]
    return [(action, "*")]


def _rds(ctx: RequestContext) -> list[str]:
    if ctx.action in ("DescribeKmsAssociateResources", "CheckCloudResourceAuthorized"):
        return ["*"]
    base = f"acs:rds:{ctx.region}:{ctx.account_id}:dbinstance/"
    named = ctx.params.get("DBInstanceId") or ""
    if not named and ctx.action == "DescribeHistoryTasks":
        named = ctx.params.get("InstanceId") or ""
    ids = [i.strip() for i in named.split(",") if i.strip()]
    ids += [i for item in ctx.flat_list("ResourceId") if (i := item.get("", "").strip())]
    return [base + i for i in ids] or [base + "*"]


def _kms(ctx: RequestContext) -> list[str]:
    prefix = f"acs:kms:{ctx.region}:{ctx.account_id}:"
    if ctx.action in ("CreateKey", "ListKeys"):
        return [prefix + "key"]
    if ctx.action == "ListAliases":
        return [prefix + "alias"]
    if ctx.action == "DescribeAccountKmsStatus":
        return ["*"]
    alias = ctx.params.get("AliasName")
    alias_arn = [prefix + alias] if alias else []
    if ctx.action == "DeleteAlias":
        return alias_arn or ["*"]
    # SetDeletionProtection names its key by ARN (ProtectedResourceArn), the others by KeyId.
    key = ctx.params.get("KeyId") or ctx.params.get("ProtectedResourceArn")
    if not key:
        return alias_arn or ["*"]
    return [_key_arn(ctx, prefix, key), *alias_arn]


def _key_arn(ctx: RequestContext, prefix: str, ref: str) -> str:
    """The ARN of the key a KeyId names (an id, an alias or an ARN)."""
    from reconciler.emulator.kms import models as kms

    record = kms.find_key(ctx, ref)
    if record is not None:
        return record.arn
    if ref.startswith("acs:kms:"):
        return ref
    return prefix + (ref if ref.startswith("alias/") else f"key/{ref}")


def _ram(ctx: RequestContext, action: str) -> list[Check]:
    prefix = f"acs:ram::{ctx.account_id}:"
    role = ctx.params.get("RoleName")
    policy = ctx.params.get("PolicyName")
    found = []
    if role:
        found.append((action, f"{prefix}role/{role.lower()}"))
    if policy:
        found.append((action, f"{prefix}policy/{policy}"))
        if ctx.action == "CreatePolicyVersion" and _will_rotate(ctx, policy):
            found.append(("ram:DeletePolicyVersion", f"{prefix}policy/{policy}"))
    return found or [(action, "*")]


def _will_rotate(ctx: RequestContext, name: str) -> bool:
    from reconciler.emulator.ram import models as ram

    if ctx.params.get("RotateStrategy") != _ROTATE:
        return False
    policy = ram.get_policy(ctx, name, "Custom")
    return policy is not None and len(policy["Versions"]) >= _MAX_VERSIONS
