"""rds_tde.<instance id>: the TDE the spec wants (`tde`) vs DescribeDBInstanceTDE, one
ModifyDBInstanceTDE per instance that differs (docs/plan-format.md, "TDE").

- TDE off, the spec wants it: enable it. One-way (RDS cannot turn TDE off, "Configure TDE"), so
  the change is `irreversible`; it restarts the instance with a switchover, and the API has no
  maintenance-window option, so it runs at apply time whatever the restart policy.
- TDE on with another key: move it with IsRotate=true (documented for PostgreSQL by the SDK).
  Whether that restarts the instance is not documented (the emulator does not restart,
  docs/emulator.md "RDS: TDE"), so it is marked `restart` and needs --allow-restart all the same.
- `tde: disabled`: nothing while TDE is off; refused (TdeCannotBeDisabled) while it is on.

Refusals are raised only where a change is needed, except TdeNotRead and TdeCannotBeDisabled.
The key rules are disk encryption's (kinds/rds_encryption/desired.py, guards.py): the dedicated
class, the key's state, tag and region; KMS activated and serving.
"""

from __future__ import annotations

from typing import Literal

from reconciler.core.facts import ObservedInstance
from reconciler.kinds.rds_encryption import guards as disk_guards
from reconciler.kinds.rds_encryption.desired import DesiredKey, describe_value, desired_key
from reconciler.kinds.rds_tde import guards
from reconciler.kinds.rds_tde.body import TdeAfter, TdeBefore, TdeView, tde_value
from reconciler.kinds.rds_tde.params import BUILDERS
from reconciler.plan.actions import (
    ENCRYPTION_DISABLED,
    Action,
    Op,
    RefusalCode,
    WarningCode,
)
from reconciler.plan.context import PlanContext
from reconciler.plan.diff import diff
from reconciler.plan.inputs import PlanInputs
from reconciler.plan.model import Change
from reconciler.plan.operations import operations
from reconciler.spec.models import DEFAULT_ROLE, KeyRef, RestartPolicy


def plan(ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
    """A change (or refusals) per spec instance whose spec sets `tde`, after RAM, the keys and
    the same instance's disk encryption change."""
    for instance_id in sorted(ctx.spec.instances):
        wanted = ctx.spec.tde_of(instance_id)
        if wanted is not None:
            plan_instance(ctx, instance_id, wanted, inputs)
    return inputs


def plan_instance(
    ctx: PlanContext,
    instance_id: str,
    wanted: KeyRef | Literal["disabled"],
    inputs: PlanInputs,
) -> None:
    address = f"rds_tde.{instance_id}"
    spec_path = ("instances", instance_id, "tde")
    region = ctx.spec.instance_region(instance_id)
    instance = ctx.observed.instances.get(instance_id)
    if instance is None or instance.region != region:
        return  # rds_encryption.<id> refuses it (InstanceNotFound)
    tde = instance.tde
    if tde is None:
        ctx.refuse(
            address,
            RefusalCode.TDE_NOT_READ,
            f"the TDE of {instance_id} was not read (DescribeDBInstanceTDE), so nothing is "
            "assumed about it. Plan again; if it persists, check that the credentials may call "
            "rds:DescribeDBInstanceTDE",
            spec_path,
        )
        return
    current = tde_value(tde.enabled, tde.mode, tde.key_id, ctx.observed.service_keys.get(region))
    if wanted == ENCRYPTION_DISABLED:
        if tde.enabled:
            ctx.refuse(
                address,
                RefusalCode.TDE_CANNOT_BE_DISABLED,
                f"the spec sets tde: disabled, but TDE of {instance_id} is on "
                f"({describe_value(current)}), and RDS cannot turn TDE off once enabled. Remove "
                "`tde` from the instance (TDE is then not managed) or name the key it uses",
                spec_path,
            )
        return
    desired = desired_key(ctx, wanted, region, inputs.keys)
    if desired.value == current:
        return
    problems = _problems(ctx, instance, desired, enabling=not tde.enabled)
    for code, message in problems:
        ctx.refuse(address, code, message, spec_path)
    if not problems:
        _add_change(ctx, instance, current, desired, inputs.ram_tail)


def _problems(
    ctx: PlanContext, instance: ObservedInstance, desired: DesiredKey, *, enabling: bool
) -> list[disk_guards.Finding]:
    """What stops the change. The engine, storage and read-only prerequisites are checked only
    when enabling: TDE that is on met them, and a rotation is not documented as needing them
    (observe reads the minor version and read-only instances only where TDE is to be enabled)."""
    if instance.lock_mode.lower() != "unlock":
        return [
            (
                RefusalCode.INSTANCE_LOCKED,
                f"{instance.instance_id} is locked ({instance.lock_mode}), so RDS rejects "
                "changes to it. Resolve the lock first (the plan of its disk encryption says "
                "what lifts it), then plan again",
            )
        ]
    read_only = {i: ctx.observed.instances.get(i) for i in instance.read_only_ids}
    found = guards.instance_problems(instance, read_only) if enabling else []
    kms = disk_guards.check_kms(ctx.observed, "TDE", "no instance's TDE")
    if kms:
        found.append(kms)
    if desired.is_cmk:
        cmk = disk_guards.check_cmk_class(instance, "tde")
        if cmk:
            found.append(cmk)
    return [*found, *desired.problems]


def _role_arn(ctx: PlanContext) -> str | None:
    """The RDS role's ARN for RoleArn: as read, else built from the account; None when the
    account is not known (RDS then uses the same fixed role, docs/real-cloud.md)."""
    ram = ctx.observed.ram
    if ram is not None and ram.role is not None and ram.role.arn:
        return ram.role.arn
    account = ctx.observed.account_id or ctx.spec.defaults.account
    return f"acs:ram::{account}:role/{DEFAULT_ROLE}" if account else None


def _add_change(
    ctx: PlanContext,
    instance: ObservedInstance,
    current: str,
    desired: DesiredKey,
    ram_tail: str | None,
) -> None:
    instance_id = instance.instance_id
    address = f"rds_tde.{instance_id}"
    enabling = current == ENCRYPTION_DISABLED
    before = TdeBefore(tde=TdeView(key=current)).wire()
    after = TdeAfter(
        tde=TdeView(key=desired.value),
        instance_id=instance_id,
        tde_status="Enabled",
        encryption_key=desired.value if desired.is_cmk else None,
        key_address=desired.key.address if desired.key else None,
        role_arn=_role_arn(ctx) if desired.is_cmk else None,
        is_rotate=not enabling,
    ).wire()
    key_name = desired.key.name if desired.key else None
    wanted = describe_value(desired.value, key_name)
    reason = (
        f"TDE is off; the spec wants it on with {wanted}. One-way: once enabled, RDS cannot "
        "turn TDE off; applied immediately (ModifyDBInstanceTDE has no maintenance-window "
        "option)"
        if enabling
        else f"TDE is on with {describe_value(current)}; the spec wants {wanted}: the key is "
        "changed with IsRotate=true (TDE stays on)"
    )
    ctx.add(
        Change(
            address=address,
            action=Action.UPDATE,
            operations=operations(
                [Op.RDS_MODIFY_DB_INSTANCE_TDE],
                address,
                before,
                after,
                builders=BUILDERS,
                token_seed=ctx.token_seed,
            ),
            field_changes=diff(before, TdeBefore(tde=TdeView(key=desired.value)).wire()),
            restart=True,
            irreversible=enabling,
            region=instance.region,
            target_id=instance_id,
            before=before,
            after=after,
            reason=reason,
        )
    )
    ctx.edge(f"rds_encryption.{instance_id}", address)  # after the same instance's disk
    if desired.key is not None and desired.key.forward:
        ctx.edge(desired.key.address, address)
    if desired.is_cmk:
        ctx.edge(ram_tail, address)
    ctx.warn(address, WarningCode.RESTART_REQUIRED, _restart_warning(ctx, instance_id, enabling))


def _restart_warning(ctx: PlanContext, instance_id: str, enabling: bool) -> str:
    if not enabling:
        return (
            f"{instance_id}'s TDE key is changed when this is applied; whether that restarts "
            "the instance is not documented, so apply needs --allow-restart all the same"
        )
    scheduled = ctx.spec.restart_policy(instance_id) is RestartPolicy.MAINTENANCE_WINDOW
    window = (
        " although its restart policy is maintenance-window: ModifyDBInstanceTDE has no "
        "maintenance-window option"
        if scheduled
        else ""
    )
    return (
        f"{instance_id} restarts (with a switchover) as soon as TDE is enabled, at apply "
        f"time{window}; apply needs --allow-restart and, since TDE cannot be turned off, "
        "--allow-irreversible"
    )
