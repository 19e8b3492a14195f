"""KMS keys the spec declares (kms_keys): create, repair drifted settings, enable, disable,
schedule deletion.

Tags are authoritative by default (`tags_mode: exact`): the key ends up with exactly the spec's
tags plus acs:rds:instance-encryption=true, so a user tag not in the spec is removed
(UntagResource) and the change's reason says so. `tags_mode: merge` only adds and updates.
Other `acs:` tags belong to Alibaba Cloud and are never touched. A setting lifecycle.ignore
names (or defaults.ignore matches) keeps its observed value: no write, an IgnoredByLifecycle
warning instead; the RDS tag stays enforced. An empty description and an
omitted rotation mean "not managed": left as they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from reconciler.core.facts import ObservedKey
from reconciler.core.rules import deletion_protected_conflict
from reconciler.kinds.kms_key import instances
from reconciler.kinds.kms_key.params import BUILDERS
from reconciler.kinds.kms_key.view import key_view
from reconciler.plan.actions import (
    DEFAULT_PENDING_WINDOW_DAYS,
    Action,
    Op,
    RefusalCode,
    WarningCode,
)
from reconciler.plan.context import PlanContext
from reconciler.plan.diff import diff
from reconciler.plan.inputs import KeyOutcome, PlanInputs
from reconciler.plan.model import Change, FieldChange
from reconciler.plan.operations import operations
from reconciler.spec.models import RDS_ENCRYPTION_TAG, KeyState, KmsKeySpec, TagsMode


def desired_view(spec_key: KmsKeySpec) -> dict[str, Any]:
    """The managed settings of a key as the spec wants them."""
    view: dict[str, Any] = {
        "alias": spec_key.alias,
        "state": spec_key.state.value,
        "deletion_protection": spec_key.deletion_protection,
        "tags": spec_key.desired_tags(),
    }
    if spec_key.description:
        view["description"] = spec_key.description
    if spec_key.rotation is not None:
        view["rotation"] = (
            {"enabled": True, "interval_days": spec_key.rotation.interval_days}
            if spec_key.rotation.enabled
            else {"enabled": False}
        )
    return view


def _state_ops(observed: str, desired: str) -> tuple[list[Op], list[Op]]:
    """(operations first in the change, operations last) that move the key's state."""
    first: list[Op] = []
    last: list[Op] = []
    if observed == "pending-deletion" and desired != "pending-deletion":
        first.append(Op.KMS_CANCEL_KEY_DELETION)  # leaves the key Disabled
        observed = "disabled"
    if observed == "disabled" and desired == "enabled":
        first.append(Op.KMS_ENABLE_KEY)
    if observed == "enabled" and desired == "disabled":
        last.append(Op.KMS_DISABLE_KEY)
    if observed != "pending-deletion" and desired == "pending-deletion":
        last.append(Op.KMS_SCHEDULE_KEY_DELETION)
    return first, last


def _setting_ops(before: dict[str, Any], after: dict[str, Any]) -> list[Op]:
    ops: list[Op] = []
    if before.get("description") != after.get("description"):
        ops.append(Op.KMS_UPDATE_KEY_DESCRIPTION)
    if before.get("rotation") != after.get("rotation"):
        ops.append(Op.KMS_UPDATE_ROTATION_POLICY)
    if "tags" in after:
        if any(before["tags"].get(k) != v for k, v in after["tags"].items()):
            ops.append(Op.KMS_TAG_RESOURCE)
        if set(before["tags"]) - set(after["tags"]):
            ops.append(Op.KMS_UNTAG_RESOURCE)
    if before["alias"] != after["alias"]:
        ops.append(Op.KMS_CREATE_ALIAS)
    if before["deletion_protection"] != after["deletion_protection"]:
        ops.append(Op.KMS_SET_DELETION_PROTECTION)
    return ops


def _create(ctx: PlanContext, name: str, spec_key: KmsKeySpec, region: str) -> KeyOutcome:
    address = f"kms_key.{name}"
    outcome = KeyOutcome(name, address, region, None, spec_key.state)
    if spec_key.state is KeyState.PENDING_DELETION:
        return outcome  # nothing to delete: the key does not exist
    after = desired_view(spec_key)
    if (instance_id := ctx.spec.key_kms_instance(name)) is not None:
        after["kms_instance"] = instance_id  # CreateKey's DKMSInstanceId
    ops = [Op.KMS_CREATE_KEY, Op.KMS_CREATE_ALIAS]  # CreateKey carries the tags and rotation
    if spec_key.deletion_protection:
        ops.append(Op.KMS_SET_DELETION_PROTECTION)
    if spec_key.state is KeyState.DISABLED:
        ops.append(Op.KMS_DISABLE_KEY)
    ctx.add(
        Change(
            address=address,
            action=Action.CREATE,
            operations=operations(
                ops, address, None, after, builders=BUILDERS, token_seed=ctx.token_seed
            ),
            field_changes=diff(None, after),
            region=region,
            after=after,
            reason=f"no key has the alias {spec_key.alias} in {region}",
        )
    )
    return KeyOutcome(
        name, address, region, None, spec_key.state, forward=spec_key.state is KeyState.ENABLED
    )


def _update(ctx: PlanContext, name: str, spec_key: KmsKeySpec, key: ObservedKey) -> KeyOutcome:
    address = f"kms_key.{name}"
    after = desired_view(spec_key)
    before = key_view(key, after)
    if spec_key.state is KeyState.PENDING_DELETION:
        # A key on its way out accepts no other change: only protection and state matter.
        before = {k: before[k] for k in ("alias", "state", "deletion_protection")}
        after = {
            **before,
            "state": after["state"],
            "deletion_protection": after["deletion_protection"],
        }
    elif spec_key.tags_mode is TagsMode.MERGE:
        after["tags"] = {**before["tags"], **after["tags"]}
    after = _leave_ignored(ctx, name, before, after)
    first, last = _state_ops(before["state"], after["state"])
    ops = [*first, *_setting_ops(before, after), *last]
    outcome = KeyOutcome(name, address, key.region, key.key_id, spec_key.state)
    if not ops:
        return outcome
    backward = bool(last)
    action = Action.DELETE if Op.KMS_SCHEDULE_KEY_DELETION in last else Action.UPDATE
    full_after = {**after, "key_id": key.key_id, "key_arn": key.arn}
    if action is Action.DELETE:
        full_after["pending_window_days"] = DEFAULT_PENDING_WINDOW_DAYS
    ctx.add(
        Change(
            address=address,
            action=action,
            operations=operations(
                ops, address, before, full_after, builders=BUILDERS, token_seed=ctx.token_seed
            ),
            field_changes=diff(before, after),
            region=key.region,
            target_id=key.key_id,
            before={**before, "key_id": key.key_id},
            after=full_after,
            reason=_update_reason(key, action, diff(before, after)) + _removed_tags(before, after),
        )
    )
    return KeyOutcome(
        name,
        address,
        key.region,
        key.key_id,
        spec_key.state,
        forward=not backward,
        backward=backward,
        reenables=bool(first) and spec_key.state is KeyState.ENABLED,
    )


def _leave_ignored(
    ctx: PlanContext, name: str, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    """`after` with every ignored setting at its observed value (the RDS tag still added),
    and an IgnoredByLifecycle warning naming the differences left alone."""
    kept = dict(after)
    for field in sorted(ctx.spec.key_ignores(name)):
        if field in after and field in before:
            kept[field] = before[field]
            if field == "tags":
                kept[field] = {**before[field], **dict([RDS_ENCRYPTION_TAG])}
    left = [f for f in sorted(kept) if kept[f] != after[f]]
    if left:
        shown = "; ".join(
            f"{f}: {json.dumps(before[f], sort_keys=True)} "
            f"(the spec: {json.dumps(after[f], sort_keys=True)})"
            for f in left
        )
        ctx.warn(
            f"kms_key.{name}",
            WarningCode.IGNORED_BY_LIFECYCLE,
            f"{len(left)} difference(s) left alone, as lifecycle.ignore or defaults.ignore "
            f"asks: {shown}. No write is planned for them",
        )
    return kept


def _removed_tags(before: dict[str, Any], after: dict[str, Any]) -> str:
    removed = sorted(set(before.get("tags", {})) - set(after.get("tags", {})))
    if not removed:
        return ""
    return (
        f"; tags_mode: exact removes the tag(s) the spec does not list: {', '.join(removed)} "
        "(tags_mode: merge would keep them)"
    )


def _update_reason(key: ObservedKey, action: Action, changes: list[FieldChange]) -> str:
    if action is Action.DELETE:
        return (
            f"the spec asks for pending-deletion; KMS deletes {key.key_id} after "
            f"{DEFAULT_PENDING_WINDOW_DAYS} days unless CancelKeyDeletion is called"
        )
    fields = sorted({re.split(r"[.\[]", c.path, maxsplit=1)[0] for c in changes})
    if not key.aliases:
        return (
            f"{key.key_id} has no alias but exactly the spec's tags (a CreateKey whose answer "
            f"was lost): it is adopted, not created again; it differs in: {', '.join(fields)}"
        )
    return f"{key.key_id} differs from the spec in: {', '.join(fields)}"


def plan(ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
    """The key changes (or refusals), each after the RAM tail when instances will wait for it;
    every key's outcome goes on to the instances and the KeyInUse guard."""
    outcomes = plan_keys(ctx, inputs.ram_tail)
    _warn_expiring(ctx)
    return replace(inputs, keys=outcomes)


def _warn_expiring(ctx: PlanContext) -> None:
    """KmsInstanceExpiring at every spec key of an instance that expires within 30 days of the
    reads (or has expired), naming the instances on its keys."""
    for expiry in instances.expiring(ctx.observed):
        instance_id = expiry.instance.instance_id
        users = instances.users_of_instance(ctx.observed, instance_id)
        for name in sorted(ctx.spec.kms_keys):
            if ctx.spec.key_kms_instance(name) == instance_id:
                message = instances.expiry_message(expiry, users)
                ctx.warn(f"kms_key.{name}", WarningCode.KMS_INSTANCE_EXPIRING, message)


def plan_keys(ctx: PlanContext, ram_tail: str | None) -> dict[str, KeyOutcome]:
    """Add one change per spec key that needs one; returns every key's outcome by name."""
    outcomes: dict[str, KeyOutcome] = {}
    twins = _declared_twice(ctx)
    for name in sorted(ctx.spec.kms_keys):
        outcome = _plan_key(ctx, name, twins.get(name, []))
        if outcome.forward:
            ctx.edge(ram_tail, outcome.address)
        outcomes[name] = outcome
    return outcomes


def _plan_key(ctx: PlanContext, name: str, twins: list[str]) -> KeyOutcome:
    spec_key = ctx.spec.kms_keys[name]
    region = ctx.spec.key_region(name)
    address = f"kms_key.{name}"
    key = ctx.observed.keys.get(name)
    blocker = _blocker(name, spec_key, key, twins)
    if blocker is None and ctx.observed.kms_activated and ctx.observed.kms_serving:
        blocker = instances.blocker(ctx.spec, ctx.observed, name)
    if blocker is not None:
        code, message = blocker
        ctx.refuse(address, code, message, ("kms_keys", name))
        key_id = key.key_id if key else None
        return KeyOutcome(name, address, region, key_id, spec_key.state, refused=True)
    outcome = (
        _create(ctx, name, spec_key, region) if key is None else _update(ctx, name, spec_key, key)
    )
    if address in ctx.changes and not ctx.observed.kms_activated:
        del ctx.changes[address]
        ctx.refuse(
            address,
            RefusalCode.KMS_NOT_ACTIVATED,
            "KMS is not activated in this account, so no key can be created or "
            "changed. Activate KMS (console: Key Management Service) and plan again",
            ("kms_keys", name),
        )
        outcome = KeyOutcome(name, address, region, outcome.key_id, spec_key.state)
    elif address in ctx.changes and not ctx.observed.kms_serving:
        del ctx.changes[address]
        ctx.refuse(
            address,
            RefusalCode.KMS_IN_DEBT,
            f"KMS's account status is {ctx.observed.kms_status}: KMS stops providing "
            "services, so no key can be created or changed. Settle the account (top up the "
            "overdue KMS instance) and plan again",
            ("kms_keys", name),
        )
        outcome = KeyOutcome(name, address, region, outcome.key_id, spec_key.state)
    return outcome


def _declared_twice(ctx: PlanContext) -> dict[str, list[str]]:
    """Spec key name -> the other spec names whose alias finds the same KMS key."""
    by_id: dict[str, list[str]] = {}
    for name, key in sorted(ctx.observed.keys.items()):
        if key is not None and name in ctx.spec.kms_keys:
            by_id.setdefault(key.key_id, []).append(name)
    return {
        name: [other for other in names if other != name]
        for names in by_id.values()
        if len(names) > 1
        for name in names
    }


def _blocker(
    name: str, spec_key: KmsKeySpec, key: ObservedKey | None, twins: list[str]
) -> tuple[RefusalCode, str] | None:
    """Why the key must not be planned at all, as (code, what to do next); None when it can."""
    if twins:
        others = ", ".join(f"kms_key.{t}" for t in twins)
        return (
            RefusalCode.KEY_DECLARED_TWICE,
            f"kms_key.{name} ({spec_key.alias}) and {others} find the same KMS key "
            f"{key.key_id if key else ''}, so the spec asks two things of one key. Declare it "
            "once, under one name, and refer to that name",
        )
    if deletion_protected_conflict(spec_key.state, spec_key.deletion_protection):
        return (
            RefusalCode.KEY_DELETION_PROTECTED,
            "the spec asks for state pending-deletion and deletion_protection: true; "
            "KMS refuses to delete a protected key. Set deletion_protection: false "
            "to delete it, or state: enabled to keep it",
        )
    if (
        key is not None
        and key.state == "PendingImport"
        and spec_key.state is not (KeyState.PENDING_DELETION)
    ):
        return (
            RefusalCode.KEY_NOT_USABLE,
            f"{key.key_id} ({spec_key.alias}) is PendingImport: its key material was never "
            f"imported, so KMS can neither enable nor disable it. Import the key material "
            "(KMS console) and plan again, or set state: pending-deletion",
        )
    return None
