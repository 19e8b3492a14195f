"""The guards of the kind `rds_tde`'s write (ModifyDBInstanceTDE), checked again right before
it (docs/plan-format.md, "Every guard again at its write"): the instance's lock mode, engine,
minor engine version and storage, and those of each of its read-only instances
(DescribeDBInstanceAttribute); for a customer master key its class type, the key's state and
tag and the RDS role, as disk encryption's guard checks them (kinds/rds_encryption/
write_guards.py). The rules are the planner's own (kinds/rds_tde/guards.py)."""

from __future__ import annotations

from reconciler.cloud import rds, rds_tde
from reconciler.core.facts import ObservedInstance
from reconciler.kinds.rds_encryption.guards import check_cmk_class
from reconciler.kinds.rds_encryption.write_guards import cmk_usable
from reconciler.kinds.rds_tde.guards import instance_problems
from reconciler.kinds.write_rule import GuardReads, Params, WriteRefusal
from reconciler.plan.actions import RefusalCode


def _instance(reads: GuardReads, region: str, instance_id: str) -> ObservedInstance:
    """An instance as DescribeDBInstanceAttribute answers now, with its minor engine version
    (CurrentKernelVersion) and read-only instances."""
    item = rds.attribute(reads.clients, region, instance_id)
    if not item.get("LockMode"):
        raise ValueError("no LockMode")  # not assumed unlocked (caller refuses)
    return rds.instance_from_item(item, region, managed=True).model_copy(
        update={
            "kernel_version": rds_tde.kernel_version_of(item),
            "read_only_ids": rds_tde.read_only_ids_of(item),
        }
    )


def instance_may_take_tde(reads: GuardReads, region: str, params: Params) -> WriteRefusal | None:
    instance_id = str(params["DBInstanceId"])
    try:
        instance = _instance(reads, region, instance_id)
        read_only = {i: _instance(reads, region, i) for i in instance.read_only_ids}
    except (KeyError, TypeError, ValueError) as error:
        return WriteRefusal(
            RefusalCode.TDE_NOT_READ,
            f"the answer about {instance_id} or its read-only instances lacks what TDE needs "
            f"to be checked ({type(error).__name__}: {error}), so nothing is assumed. Plan again",
        )
    if instance.lock_mode.lower() != "unlock":
        return WriteRefusal(
            RefusalCode.INSTANCE_LOCKED,
            f"{instance_id} is locked now ({instance.lock_mode}), so RDS rejects changes to it. "
            "Plan again to see what lifts the lock",
        )
    key_id = params.get("EncryptionKey")
    # A rotation (IsRotate) moves the key of TDE that is on: the prerequisites held when it was
    # enabled, and only enabling is documented as needing them ("Configure TDE").
    rotating = str(params.get("IsRotate", "")).lower() == "true"
    found = [] if rotating else instance_problems(instance, read_only)
    if key_id:
        found.append(check_cmk_class(instance, "tde"))
    first = next((f for f in found if f is not None), None)
    if first is not None:
        return WriteRefusal(first[0], f"now: {first[1]}")
    return cmk_usable(reads, region, str(key_id)) if key_id else None
