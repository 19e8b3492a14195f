"""build_plan(spec, observed) -> Plan: the pure heart. No SDK, no HTTP, no clock, no
environment: the same spec and observed state always give the same plan.

Steps: account guard; each kind's plan in the registry's apply order (RAM: policy -> role ->
attachment; KMS keys; instances), passing on what later kinds need (plan/inputs.py); then the
KeyInUse guard, which needs to know which instances move off a key; what each kind adds after
it; then the order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime

from reconciler.core.backups import all_sets, backup_use, describe
from reconciler.core.facts import ObservedState
from reconciler.core.rules import DISK_USE, key_use_notes
from reconciler.kinds import KINDS
from reconciler.kinds.rds_encryption.body import InstanceAfter
from reconciler.kinds.rds_encryption.desired import uses_key
from reconciler.plan.actions import RefusalCode
from reconciler.plan.context import Locations, PlanContext
from reconciler.plan.digest import facts_digest, spec_digest
from reconciler.plan.inputs import KeyOutcome, PlanInputs
from reconciler.plan.model import Plan, summarise
from reconciler.plan.order import order_changes
from reconciler.spec.models import KeyState, Spec

_MAX_NAMED = 10
"""How many instances a KeyInUse message names before it says `and N more`."""


def build_plan(
    spec: Spec,
    observed: ObservedState,
    *,
    created_at: str | datetime | None = None,
    locations: Locations | None = None,
    plan_id: str | None = None,
    with_spec_digest: bool = True,
    for_report: bool = False,
) -> Plan:
    """The ordered, guarded plan that takes `observed` to `spec`.

    `created_at` is stamped as given (the caller reads the clock); `locations` maps spec paths
    such as `("instances", "pgm-x")` to `file:line:col` so refusals can cite the spec.
    `plan_id` is the plan's random id, drawn by the caller (workflow.new_plan_id): the planner
    draws nothing. Without one, the id is derived from the facts and created_at, so a test
    that calls the planner twice gets the same plan. `with_spec_digest=False`: the plan is a
    part its caller joins and stamps with the whole spec's digest (an account's, a shard's):
    it carries none, and a saved plan without one is refused (app/saved_plan.py).
    `for_report`: the plan is read for its changes, refusals and warnings only (drift's
    findings, import's header: no token, id or digest of it is ever shown): no fingerprint
    and no spec digest, each a dump and a hash of every fact or of the whole spec (~15 ms at
    1,000 instances, after the reads). Its tokens derive from a fixed id: it is never applied.
    """
    fingerprint = "" if for_report else observed.fingerprint()
    stamp = _timestamp(created_at)
    plan_id = plan_id or _derived_plan_id(fingerprint, stamp)
    ctx = PlanContext(spec, observed, locations, fingerprint=fingerprint, token_seed=plan_id)
    _check_account(ctx)
    inputs = PlanInputs()
    for kind in KINDS:
        inputs = kind.plan(ctx, inputs)
    _check_keys_in_use(ctx, inputs.keys)
    for kind in KINDS:
        kind.after_guards(ctx, inputs)
    changes = [
        c.model_copy(update={"facts_digest": facts_digest(observed, c.address)})
        for c in order_changes(ctx.changes, ctx.edges)
    ]
    refusals = sorted(ctx.refusals, key=lambda r: (r.address, r.code, r.message))
    warnings = sorted(ctx.warnings, key=lambda w: (w.address, w.code, w.message))
    return Plan(
        plan_id=plan_id,
        fingerprint=ctx.fingerprint,
        spec_digest=spec_digest(spec) if with_spec_digest and not for_report else None,
        created_at=stamp,
        summary=summarise(changes, refusals),
        changes=changes,
        refusals=refusals,
        warnings=warnings,
    )


def _derived_plan_id(fingerprint: str, stamp: str | None) -> str:
    return hashlib.sha256(f"{fingerprint}|{stamp or ''}".encode()).hexdigest()[:32]


def _timestamp(created_at: str | datetime | None) -> str | None:
    if isinstance(created_at, datetime):
        moment = created_at.astimezone(UTC).replace(microsecond=0)
        return moment.isoformat().replace("+00:00", "Z")
    return created_at


def _check_account(ctx: PlanContext) -> None:
    wanted = ctx.spec.defaults.account
    actual = ctx.observed.account_id
    if wanted is None or wanted == actual:
        return
    if actual:
        found = f"the credentials belong to account {actual}"
    elif not ctx.observed.kms_activated:
        # The account id is read from the ARN of the RDS service key, which KMS must serve.
        found = (
            "the account of the credentials could not be determined, because KMS is not "
            "activated (the account id is read from the ARN of the KMS key alias/acs/rds)"
        )
    else:
        found = "the account of the credentials could not be determined"
    ctx.refuse(
        "account",
        RefusalCode.ACCOUNT_MISMATCH,
        f"defaults.account is {wanted} but {found}. Use credentials of account {wanted} "
        "(check --profile and ALIBABA_CLOUD_* variables), or fix defaults.account",
        ("defaults", "account"),
    )


def _check_keys_in_use(ctx: PlanContext, keys: Mapping[str, KeyOutcome]) -> None:
    """A key change that disables or deletes a key is refused while any instance, managed or
    not, of any engine, still uses it after this plan, is switching to it, or is scheduled to;
    instances moving off it go first (edges added by the instance planner). The users come
    from the cloud's census of the key; a key whose users were not counted is refused too."""
    for outcome in keys.values():
        if not outcome.backward or outcome.address not in ctx.changes:
            continue
        users = (
            _users_after_plan(ctx, outcome.key_id)
            if outcome.region in ctx.observed.task_regions
            else None  # the region's task center was not read: switches to the key unknown
        )
        backups = _backups_on_key(ctx, outcome)
        if users == [] and backups == "":
            continue
        del ctx.changes[outcome.address]
        message = _key_in_use_message(ctx, outcome, users) if users != [] else ""
        ctx.refuse(
            outcome.address,
            RefusalCode.KEY_IN_USE,
            " ".join(m for m in (message, backups) if m),
            ("kms_keys", outcome.name, "state"),
        )


def _backups_on_key(ctx: PlanContext, outcome: KeyOutcome) -> str:
    """Why the key's backup sets forbid the change ("" when none needs it). Backup sets of any
    instance of the region, managed or not, keep the key they were taken with until they expire
    (kinds/kms_key/backups.py); a region whose sets were not all read may hold some."""
    verb = "disabled" if outcome.desired_state is KeyState.DISABLED else "scheduled for deletion"
    if outcome.region not in ctx.observed.backup_regions:
        return (
            f"key {outcome.key_id} would be {verb}, but the backup sets of {outcome.region} "
            "(DescribeBackups) were not read, so some may still need it. Plan again; keep "
            "state: enabled until the plan can read them"
        )
    use = backup_use(all_sets(ctx.observed.backups), outcome.key_id)
    if use is None:
        return ""
    return (
        f"key {outcome.key_id} would be {verb} while {describe(use)} "
        f"{'is' if use.count == 1 else 'are'} encrypted with it: they could not be restored. "
        "Keep state: enabled until they expire (or delete them), then plan again"
    )


def _users_after_plan(ctx: PlanContext, key_id: str | None) -> list[str] | None:
    """Instances still on the key, or on their way to it, once this plan's immediate changes
    are made; None when the key's census was not read (so nobody can say it is unused)."""
    census = ctx.observed.key_users.get(key_id or "")
    if census is None:
        return None
    found = {u.instance_id for u in census}
    found.update(i.instance_id for i in ctx.observed.instances.values() if uses_key(i, key_id))
    # A task whose target cannot be read may be switching to this key: it counts as a user.
    found.update(
        t.instance_id
        for t in ctx.observed.tasks
        if t.encryption_target == key_id or t.target_unread
    )
    # A user for anything but the disk (TDE, which cannot be turned off, or a use not known)
    # keeps the key whatever this plan does to the instance's disk encryption.
    pinned = {u.instance_id for u in census if u.used_by != DISK_USE}
    return sorted(i for i in found if i in pinned or not _moves_off(ctx, i, key_id))


def _key_in_use_message(ctx: PlanContext, outcome: KeyOutcome, users: list[str] | None) -> str:
    verb = "disabled" if outcome.desired_state is KeyState.DISABLED else "scheduled for deletion"
    if users is None:
        return (
            f"key {outcome.key_id} would be {verb}, but its users (DescribeKmsAssociateResources "
            f"and the task center of {outcome.region}, DescribeHistoryTasks) were not all read, "
            "so it may still be in use. Plan again; keep state: enabled until the plan can "
            "count them"
        )
    named = ", ".join(_user_label(ctx, outcome.key_id, u) for u in users[:_MAX_NAMED])
    more = f" and {len(users) - _MAX_NAMED} more" if len(users) > _MAX_NAMED else ""
    one = len(users) == 1
    return (
        f"key {outcome.key_id} would be {verb} while {named}{more} "
        f"{'uses' if one else 'use'} it, which would lock {'it' if one else 'them'}. Move "
        "every instance to another key first (in the spec, or by hand for instances not in "
        "it), or keep state: enabled"
    )


def _user_label(ctx: PlanContext, key_id: str | None, instance_id: str) -> str:
    notes: list[str] = []
    entries = [
        u for u in ctx.observed.key_users.get(key_id or "", []) if u.instance_id == instance_id
    ]
    census = entries[0] if entries else None
    if census is not None and census.engine and census.engine.lower() != "postgresql":
        notes.append(census.engine)
    notes.extend(key_use_notes({u.used_by for u in entries}))
    if instance_id not in ctx.spec.instances:
        notes.append("not in the spec")
    task = next(
        (t for t in ctx.observed.tasks if t.instance_id == instance_id and t.encryption_target),
        None,
    )
    if task is not None and task.encryption_target == key_id:
        when = f" at {task.start_time}" if task.start_time else ""
        notes.append(f"switching to it: {task.status.lower()}{when}")
    if any(t.instance_id == instance_id and t.target_unread for t in ctx.observed.tasks):
        notes.append("a pending change whose target could not be read")
    change = ctx.changes.get(f"rds_encryption.{instance_id}")
    if change is not None and change.scheduled:
        notes.append(
            "its move is scheduled for the maintenance window: disable the key in a later "
            "run, after the window"
        )
    return f"{instance_id} ({'; '.join(notes)})" if notes else instance_id


def _moves_off(ctx: PlanContext, instance_id: str, key_id: str | None) -> bool:
    """True when this plan moves the instance off the key at apply time. A move scheduled for
    the maintenance window happens later, so the key must stay enabled until then."""
    change = ctx.changes.get(f"rds_encryption.{instance_id}")
    return (
        change is not None
        and not change.scheduled
        and InstanceAfter.of(change).config_value != key_id
    )
