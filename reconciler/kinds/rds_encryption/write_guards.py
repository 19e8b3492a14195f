"""The guards of the kind `rds_encryption`'s write (ModifyDBInstanceConfig), checked again right
before it (docs/plan-format.md, "Every guard again at its write"): the instance's lock mode,
engine, edition and storage (DescribeDBInstanceAttribute; a missing LockMode is refused), and
for a customer master key its class type, the key's state and tag (DescribeKey,
ListResourceTags) and, once per run, the RDS role's trust and attached policies evaluated for
that key (kinds/ram/rds_role.py). The rules are the planner's own (kinds/rds_encryption/guards.py,
plan/ram_eval.py)."""

from __future__ import annotations

from reconciler.cloud import kms, rds
from reconciler.core.rules import (
    ENCRYPTION_DISABLED,
    RDS_ENCRYPTION_TAG,
    SERVICE_KEY_TYPE,
    carries_rds_tag,
)
from reconciler.kinds.ram.rds_role import RDS_ROLE, role_lets_rds_use
from reconciler.kinds.rds_encryption.guards import (
    check_cmk_class,
    check_engine,
    check_supports_encryption,
)
from reconciler.kinds.write_rule import GuardReads, Params, WriteRefusal
from reconciler.plan.actions import RefusalCode

NOT_A_CMK = frozenset({SERVICE_KEY_TYPE, ENCRYPTION_DISABLED})


def instance_may_change(reads: GuardReads, region: str, params: Params) -> WriteRefusal | None:
    instance_id, target = str(params["DBInstanceId"]), str(params["ConfigValue"])
    item = rds.attribute(reads.clients, region, instance_id)
    if not item.get("LockMode"):
        return WriteRefusal(
            RefusalCode.INSTANCE_LOCKED,
            f"the lock mode of {instance_id} was not in the answer, so it is not assumed "
            "unlocked. Plan again",
        )
    instance = rds.instance_from_item(item, region, managed=True)
    if instance.lock_mode.lower() != "unlock":
        return WriteRefusal(
            RefusalCode.INSTANCE_LOCKED,
            f"{instance_id} is locked now ({instance.lock_mode}), so RDS rejects changes "
            "to it. Plan again to see what lifts the lock",
        )
    findings = [check_engine(instance)]
    if target != ENCRYPTION_DISABLED:
        findings.extend(check_supports_encryption(instance))
    if target not in NOT_A_CMK:
        findings.append(check_cmk_class(instance))
    first = next((f for f in findings if f is not None), None)
    if first is not None:
        return WriteRefusal(first[0], f"now: {first[1]}")
    if target in NOT_A_CMK:
        return None
    return cmk_usable(reads, region, target)


def cmk_usable(reads: GuardReads, region: str, key_id: str) -> WriteRefusal | None:
    """The key is Enabled and tagged now, and the RDS role lets RDS use it (disk encryption
    and TDE alike); None when so."""
    metadata = kms.describe_key(reads.clients, region, key_id)
    if metadata is None or metadata.get("KeyState") != "Enabled":
        state = "gone" if metadata is None else str(metadata.get("KeyState"))
        return WriteRefusal(
            RefusalCode.KEY_NOT_USABLE,
            f"key {key_id} is {state} in {region} now; RDS cannot use it. Plan again",
        )
    tags = kms.list_tags(reads.clients, region, key_id)
    if not carries_rds_tag(tags):
        tag, value = RDS_ENCRYPTION_TAG
        return WriteRefusal(
            RefusalCode.KEY_NOT_USABLE,
            f"key {key_id} no longer carries the tag {tag}={value} that RDS needs. Plan again",
        )
    problem = role_lets_rds_use(reads, str(metadata.get("Arn") or ""), tags)
    if problem is None:
        return None
    return WriteRefusal(
        RefusalCode.RAM_NOT_READY,
        f"{problem}, so RDS could not use the customer master key. Plan again",
    )


__all__ = ["NOT_A_CMK", "RDS_ROLE", "cmk_usable", "instance_may_change"]
