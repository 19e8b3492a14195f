"""rds_encryption.<instance id>: desired disk encryption vs observed, one ModifyDBInstanceConfig
per instance that differs. Every such change restarts the instance.

A refusal is raised only where a change is needed (an instance already as desired is fine even
on unsupported storage), except InstanceNotFound, EncryptionNotRead and EncryptionChangePending
(a pending change runs whatever the plan says). A locked instance with nothing to change is
InstanceAtRisk, a warning: refusing it would refuse the spec of what exists (`import`), while
drift still reports it critical.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.core.backups import backup_use, count, until
from reconciler.core.facts import ObservedInstance, ObservedTask
from reconciler.core.rules import CMK_TYPE, SERVICE_KEY_TYPE
from reconciler.kinds.rds_encryption import guards
from reconciler.kinds.rds_encryption.body import EncryptionView, InstanceAfter, InstanceBefore
from reconciler.kinds.rds_encryption.desired import (
    DesiredKey,
    current_value,
    describe_value,
    desired_value,
    pending_encryption_task,
    spec_key_in_use,
)
from reconciler.kinds.rds_encryption.params import BUILDERS, TOKENED
from reconciler.plan.actions import (
    ENCRYPTION_DISABLED,
    SERVICE_KEY_CONFIG_VALUE,
    Action,
    Op,
    RefusalCode,
    WarningCode,
)
from reconciler.plan.context import PlanContext
from reconciler.plan.diff import diff
from reconciler.plan.inputs import KeyOutcome, PlanInputs
from reconciler.plan.model import Change
from reconciler.plan.operations import operations
from reconciler.spec.models import RestartPolicy

_PREFIX = "rds_encryption"
"""The kind's own address prefix (an instance's change is `rds_encryption.<instance id>`)."""


def _describe(value: str, key: KeyOutcome | None) -> str:
    return describe_value(value, key.name if key is not None else None)


def _locked(instance: ObservedInstance, keys: Mapping[str, KeyOutcome]) -> bool:
    """Locked, and the plan does not itself re-enable the key the instance is locked on."""
    if instance.lock_mode.lower() == "unlock":
        return False
    in_use = spec_key_in_use(instance, keys)
    return in_use is None or not in_use.reenables


def _lock_advice(ctx: PlanContext, instance: ObservedInstance) -> str:
    """What lifts the lock: re-enabling the instance's key when that key is not Enabled; else
    the lock has another cause (expiry, disk quota, a manual lock) that this tool cannot lift."""
    enc = instance.encryption
    key_id = enc.key_id if enc is not None and enc.enabled else None
    known = [*ctx.observed.keys.values(), *ctx.observed.keys_by_id.values()]
    key = next((k for k in known if k is not None and k.key_id == key_id), None)
    if key is not None and key.state != "Enabled":
        return (
            f"Its key {key.key_id} is {key.state}: enable it (declare it under kms_keys with "
            "state: enabled, which also cancels a scheduled deletion) and plan again"
        )
    return (
        "The lock is not one this plan can lift: resolve it first (for example renew an "
        "expired instance or free disk space), then plan again"
    )


def _refusals_for_change(
    ctx: PlanContext, instance: ObservedInstance, desired: DesiredKey
) -> list[guards.Finding]:
    found: list[guards.Finding] = []
    engine = guards.check_engine(instance)
    if engine:
        found.append(engine)
    if desired.value != ENCRYPTION_DISABLED:
        found.extend(guards.check_supports_encryption(instance))
        kms = guards.check_kms(ctx.observed, "disk encryption", "no disk")
        if kms:
            found.append(kms)
    if desired.is_cmk:
        cmk = guards.check_cmk_class(instance)
        if cmk:
            found.append(cmk)
    found.extend(desired.problems)
    return found


def plan_instance(
    ctx: PlanContext, instance_id: str, keys: Mapping[str, KeyOutcome], ram_tail: str | None
) -> None:
    address = f"rds_encryption.{instance_id}"
    spec_path = ("instances", instance_id)
    region = ctx.spec.instance_region(instance_id)
    instance = ctx.observed.instances.get(instance_id)
    if instance is None or instance.region != region:
        where = (
            f" It exists in {instance.region}: set region: {instance.region}"
            if instance is not None
            else " Check the id and the region, or remove it"
        )
        ctx.refuse(
            address,
            RefusalCode.INSTANCE_NOT_FOUND,
            f"no instance {instance_id} in {region}.{where}",
            spec_path,
        )
        return
    if instance.encryption is None:
        ctx.refuse(
            address,
            RefusalCode.ENCRYPTION_NOT_READ,
            f"the encryption of {instance_id} was not read, so nothing is assumed about it. "
            "Plan again; if it persists, check that the credentials may call "
            "rds:DescribeDBInstanceEncryptionKey",
            spec_path,
        )
        return
    current = current_value(ctx, instance)
    desired = desired_value(ctx, instance_id, keys)
    locked = _locked(instance, keys)
    # Before "nothing to change": a pending change decides what the instance will be.
    if _pending_change(ctx, instance, current, desired, keys) or desired.value == current:
        if locked:  # nothing planned for it, yet it cannot be used: said, not refused
            ctx.warn(
                address,
                WarningCode.INSTANCE_AT_RISK,
                f"{instance_id} is locked ({instance.lock_mode}): nothing is planned for it, "
                "but RDS rejects changes to it and it may be unavailable. "
                + _lock_advice(ctx, instance),
            )
        return
    if locked:
        ctx.refuse(
            address,
            RefusalCode.INSTANCE_LOCKED,
            f"{instance_id} is locked ({instance.lock_mode}), so RDS rejects changes to it. "
            + _lock_advice(ctx, instance),
            spec_path,
        )
        return
    problems = _refusals_for_change(ctx, instance, desired)
    for code, message in problems:
        ctx.refuse(address, code, message, (*spec_path, "encryption", "key"))
    if problems:
        return
    _add_change(ctx, instance, current, desired, keys, ram_tail)


def _pending_change(
    ctx: PlanContext,
    instance: ObservedInstance,
    current: str,
    desired: DesiredKey,
    keys: Mapping[str, KeyOutcome],
) -> bool:
    """An encryption change already running or scheduled for the instance (task center). It
    decides the plan even when the instance matches the spec today, since it runs anyway.

    To the value the spec wants: shown (with when it runs) when the instance still differs,
    not planned again. To another value, or to a value the task center does not say: refused,
    since it would undo the spec when it runs, and a second change would race it. True when
    a pending change decided."""
    pending = pending_encryption_task(ctx, instance.instance_id)
    if pending is None:
        return False
    address = f"rds_encryption.{instance.instance_id}"
    if not pending.target_unread and pending.encryption_target == desired.value:
        if desired.value != current:
            ctx.warn(
                address,
                WarningCode.CHANGE_ALREADY_PENDING,
                f"{instance.instance_id} already has the change to "
                f"{_pending_target(pending, keys)} {_task_words(pending)}; it is not planned "
                "again",
            )
        return True
    ctx.refuse(
        address,
        RefusalCode.ENCRYPTION_CHANGE_PENDING,
        _pending_refusal(instance, pending, current, desired, keys),
        ("instances", instance.instance_id, "encryption"),
    )
    return True


def _task_words(task: ObservedTask) -> str:
    when = f" at {task.start_time}" if task.start_time else ""
    return f"{task.status.lower()} (task {task.task_id}{when})"


def _pending_target(task: ObservedTask, keys: Mapping[str, KeyOutcome]) -> str:
    return _describe(task.encryption_target or "", _key_by_id(keys, task))


def _pending_refusal(
    instance: ObservedInstance,
    task: ObservedTask,
    current: str,
    desired: DesiredKey,
    keys: Mapping[str, KeyOutcome],
) -> str:
    wanted = _describe(desired.value, desired.key)
    if task.target_unread:
        return _unknown_target_refusal(instance, task, wanted)
    what = (
        f"{instance.instance_id} has a change to {_pending_target(task, keys)} {_task_words(task)}"
    )
    matches = (
        ", as the instance is now: the task undoes that when it runs"
        if desired.value == current
        else ""
    )
    return f"{what}. The spec wants {wanted}{matches}. {_cancel_advice(task)}"


def _unknown_target_refusal(instance: ObservedInstance, task: ObservedTask, wanted: str) -> str:
    """A pending task whose TaskDetail does not show that it leaves encryption alone: its
    target is unknown, so any change now might race it or be undone by it (docs/real-cloud.md,
    the task center)."""
    kind = f"of type {task.task_type}" if task.task_type else "without a TaskType"
    advice = (
        "wait until it has finished"
        if task.status.lower() == "running"
        else "wait until it has run, or cancel it in the RDS console's Task Center (no RDS API "
        "call cancels it)"
    )
    return (
        f"{instance.instance_id} has a pending task of unknown target: task {task.task_id} "
        f"{kind}, {task.status.lower()}{f' at {task.start_time}' if task.start_time else ''}, "
        "whose TaskDetail does not show that it leaves the disk encryption alone, so it may "
        f"change it to a value the task center does not name. The spec wants {wanted}. To go "
        f"on, {advice}; then plan again"
    )


def _cancel_advice(task: ObservedTask) -> str:
    """What stops a pending change. The RDS API has no call that cancels a change the user
    submitted: ModifyTaskInfo only moves its switch time, CancelActiveOperationTasks cancels
    Alibaba's own O&M events (docs/plan-format.md)."""
    if task.status.lower() == "running":
        return "It is running: wait until it has finished, then plan again"
    return (
        "No RDS API call cancels it (ModifyTaskInfo only moves its time): cancel it in the "
        "RDS console's Task Center before it starts, or it runs then. Then plan again"
    )


def _key_by_id(keys: Mapping[str, KeyOutcome], task: ObservedTask) -> KeyOutcome | None:
    return next((k for k in keys.values() if k.key_id == task.encryption_target), None)


def _add_change(
    ctx: PlanContext,
    instance: ObservedInstance,
    current: str,
    desired: DesiredKey,
    keys: Mapping[str, KeyOutcome],
    ram_tail: str | None,
) -> None:
    instance_id = instance.instance_id
    address = f"rds_encryption.{instance_id}"
    scheduled = ctx.spec.restart_policy(instance_id) is RestartPolicy.MAINTENANCE_WINDOW
    # The window is shown when the list carried it; it need not be read to submit the change.
    window = (
        f"maintenance window {instance.maintain_time}"
        if instance.maintain_time
        else "next maintenance window"
    )
    before = InstanceBefore(encryption=EncryptionView(key=current)).wire()
    after_view = InstanceBefore(encryption=EncryptionView(key=desired.value)).wire()
    current_key = spec_key_in_use(instance, keys)
    reason = (
        f"encryption is {_describe(current, current_key)}; the spec wants "
        f"{_describe(desired.value, desired.key)}"
    )
    reason += f"; submitted for its {window}" if scheduled else "; applied immediately"
    after = InstanceAfter(
        encryption=EncryptionView(key=desired.value),
        instance_id=instance_id,
        config_name="encryptionKey",
        config_value=desired.value,
        key_address=desired.key.address if desired.key else None,
        switch_time_mode="MaintainTime" if scheduled else "Immediate",
        maintenance_window=instance.maintain_time if scheduled else None,
    ).wire()
    ops = [Op.RDS_MODIFY_DB_INSTANCE_CONFIG]
    ctx.add(
        Change(
            address=address,
            action=Action.UPDATE,
            operations=operations(
                ops,
                address,
                before,
                after,
                builders=BUILDERS,
                token_seed=ctx.token_seed,
                tokened=TOKENED,
            ),
            field_changes=diff(before, after_view),
            restart=True,
            scheduled=scheduled,
            region=instance.region,
            target_id=instance_id,
            before=before,
            after=after,
            reason=reason,
        )
    )
    if desired.key is not None and desired.key.forward:
        ctx.edge(desired.key.address, address)
    if desired.is_cmk:
        ctx.edge(ram_tail, address)
    if current_key is not None and current_key.backward:
        ctx.edge(address, current_key.address)  # move off a key before it is disabled
    if current_key is not None and current_key.reenables:
        ctx.edge(current_key.address, address)  # a locked instance waits for its key
    if scheduled:
        ctx.warn(
            address,
            WarningCode.RESTART_REQUIRED,
            f"{instance_id} restarts when the change runs, in its {window} "
            "(SwitchTimeMode=MaintainTime), not at apply time; apply needs --allow-restart all "
            "the same, since Alibaba Cloud does not document that an encryption change waits "
            "for the window",
        )
    else:
        ctx.warn(
            address,
            WarningCode.RESTART_REQUIRED,
            f"{instance_id} restarts as soon as this is applied (a short outage); apply "
            "needs --allow-restart (restart: maintenance-window asks RDS to wait for the "
            "instance's window instead)",
        )


def plan(ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
    """One change (or refusals) per spec instance, after the changes of the keys it moves to
    and of RAM; the instances' moves are what the engine's KeyInUse guard weighs next."""
    plan_instances(ctx, inputs.keys, inputs.ram_tail)
    return inputs


def plan_instances(ctx: PlanContext, keys: Mapping[str, KeyOutcome], ram_tail: str | None) -> None:
    for instance_id in sorted(ctx.spec.instances):
        plan_instance(ctx, instance_id, keys, ram_tail)
    warn_instances_at_risk(ctx)


def warn_instances_at_risk(ctx: PlanContext) -> None:
    """InstanceAtRisk for every instance read (managed or not) whose disks are on a KMS key
    while KMS is InDebt or Suspended. An unmanaged instance's encryption is not read: it is
    reported when the key census (DescribeKmsAssociateResources) names it."""
    if ctx.observed.kms_serving:
        return
    users = {u.instance_id for found in ctx.observed.key_users.values() for u in found}
    for instance_id, instance in sorted(ctx.observed.instances.items()):
        enc = instance.encryption
        if not ((enc is not None and enc.enabled) or instance_id in users):
            continue
        on = ""
        if enc is not None and enc.enabled:
            kinds = {SERVICE_KEY_TYPE: "the service key", CMK_TYPE: "the CMK"}
            kind = kinds.get(enc.key_type or "")
            on = f" with {kind or 'the KMS key'} {enc.key_id}"
        ctx.warn(
            f"rds_encryption.{instance_id}",
            WarningCode.INSTANCE_AT_RISK,
            f"{instance_id} is encrypted{on}, and KMS's account status is "
            f"{ctx.observed.kms_status}: its disks cannot be decrypted while KMS stops "
            "providing services. Settle the account (top up the KMS instance) now",
        )


def after_guards(ctx: PlanContext, inputs: PlanInputs) -> None:
    """The warnings that depend on which key changes survived the engine's KeyInUse guard."""
    warn_old_snapshots(ctx, inputs.keys)


def warn_old_snapshots(ctx: PlanContext, keys: Mapping[str, KeyOutcome]) -> None:
    """SnapshotsKeepOldKey for every planned move off a CMK. Run after the KeyInUse guard, so
    it knows whether the old key's disable or deletion is still in the plan."""
    for change in list(ctx.changes.values()):
        if change.address.partition(".")[0] != _PREFIX or change.before is None:
            continue
        current = InstanceBefore.of(change, "before").encryption.key
        if current in (ENCRYPTION_DISABLED, SERVICE_KEY_CONFIG_VALUE):
            continue
        old_key = next((k for k in keys.values() if k.key_id and k.key_id == current), None)
        retired = old_key is not None and old_key.backward and old_key.address in ctx.changes
        advice = (
            "this plan also disables or deletes that key, after which they cannot be restored "
            "until it is enabled again"
            if retired
            else "do not disable or delete that key while you may restore them"
        )
        ctx.warn(
            change.address,
            WarningCode.SNAPSHOTS_KEEP_OLD_KEY,
            f"existing snapshots and backups of {change.target_id} stay encrypted with "
            f"{_describe(current, old_key)}{_backups_kept(ctx, change.target_id, current)}: "
            f"{advice}",
        )


def _backups_kept(ctx: PlanContext, instance_id: str | None, key_id: str) -> str:
    """`, today 3 backup sets, the last expires ...` when the instance's sets were read."""
    use = backup_use(ctx.observed.backups.get(instance_id or "", []), key_id)
    return "" if use is None else f", today {count(use)}, {until(use)}"
