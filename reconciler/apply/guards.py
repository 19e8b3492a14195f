"""Every guard again at its write (docs/plan-format.md, "Apply"): right before the first write of
a change, apply reads again the facts the plan's guards rested on, not only the change's own
target (compare.py), and refuses the write when a guard refuses now.

- `kms:DisableKey`, `kms:ScheduleKeyDeletion`: the key's users, from the cloud's census
  (DescribeKmsAssociateResources) and the task center (DescribeHistoryTasks): an instance that
  uses the key, or is switching or scheduled to switch to it, would be locked (KeyInUse).
- `rds:ModifyDBInstanceConfig`: the instance's engine, edition, storage and lock mode
  (DescribeDBInstanceAttribute), and for a customer master key its class type, the key's state
  and tag (DescribeKey, ListResourceTags), and, once per run, the RDS role's trust and the
  policies attached to it (GetRole, ListPoliciesForRole, GetPolicy), evaluated for that key
  (RamNotReady).

The rules are the planner's own (kinds/rds_encryption/guards.py, plan/ram_eval.py: pure
functions of facts); what is read here is read afresh, never taken from the plan. A guard that
cannot read its facts refuses too: an unread fact is never a pass.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.cloud import kms, ram, rds
from reconciler.cloud.clients import CloudClients
from reconciler.core.facts import ObservedPolicy, ObservedRole
from reconciler.core.ops import Op
from reconciler.core.rules import (
    ENCRYPTION_DISABLED,
    RDS_ENCRYPTION_TAG,
    SERVICE_KEY_TYPE,
    account_of_arn,
    carries_rds_tag,
)
from reconciler.kinds.rds_encryption.guards import (
    check_cmk_class,
    check_engine,
    check_supports_encryption,
)
from reconciler.plan.actions import RefusalCode
from reconciler.plan.model import Change
from reconciler.plan.ram_eval import (
    KEY_USE_ACTIONS,
    RDS_SERVICE,
    Verdict,
    evaluate,
    key_use_request,
    trust_lets_service_assume,
)

RDS_ROLE = "AliyunRDSInstanceEncryptionDefaultRole"
"""The role RDS assumes to use a customer master key; RDS fixes its name (docs/permissions.md)."""
RDS_TAG = RDS_ENCRYPTION_TAG
"""The tag a key must carry before RDS may use it (docs/plan-format.md, KeyNotUsable)."""
RETIRING: frozenset[Op] = frozenset({Op.KMS_DISABLE_KEY, Op.KMS_SCHEDULE_KEY_DELETION})
NOT_A_CMK = frozenset({SERVICE_KEY_TYPE, ENCRYPTION_DISABLED})
_NAMED = 5
"""How many users a KeyInUse refusal names before it says `and N more`."""


@dataclass(frozen=True)
class WriteRefusal:
    """A guard that refuses a write now: its code (the plan's refusal codes) and why."""

    code: RefusalCode
    message: str

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


class WriteGuards:
    """The guards of one apply run (thread-safe; the RAM facts are read once per run)."""

    def __init__(self, clients: CloudClients, ram_region: str) -> None:
        self._clients = clients
        self._ram_region = ram_region
        self._lock = threading.Lock()
        self._ram: tuple[ObservedRole | None, list[ObservedPolicy]] | None = None

    def check(self, change: Change, params: list[dict[str, Any] | None]) -> WriteRefusal | None:
        """The first refusal of the guards of `change`'s writes (`params`: each operation's
        parameters, references resolved; None for an operation on what the change itself
        creates first, e.g. a new key, which nothing uses yet), or None. Raises
        CloudCallError when a read fails."""
        region = str(change.region)
        for op, values in zip(change.op_names, params, strict=True):
            found: WriteRefusal | None = None
            if values is None:
                continue
            if op in RETIRING:
                found = self._key_users(region, str(values["KeyId"]))
            elif op == Op.RDS_MODIFY_DB_INSTANCE_CONFIG:
                found = self._instance(region, values)
            if found is not None:
                return found
        return None

    # --- KeyInUse ------------------------------------------------------------------------

    def _key_users(self, region: str, key_id: str) -> WriteRefusal | None:
        metadata = kms.describe_key(self._clients, region, key_id)
        if metadata is None:
            return None  # gone: nothing to lock (compare.py reports the key moved)
        arn = str(metadata.get("Arn") or "")
        account = account_of_arn(arn)
        users = [u.instance_id for u in rds.key_users(self._clients, region, key_id, account)]
        switching = [
            f"{t.instance_id} (task {t.task_id}, {t.status.lower()}"
            + (", its target could not be read)" if t.target_unread else ")")
            for t in self._tasks(region)
            if (t.encryption_target == key_id or t.target_unread) and t.instance_id not in users
        ]
        named = [*users, *switching]
        if not named:
            return None
        shown = ", ".join(named[:_NAMED]) + (
            f" and {len(named) - _NAMED} more" if len(named) > _NAMED else ""
        )
        return WriteRefusal(
            RefusalCode.KEY_IN_USE,
            f"key {key_id} is in use now by {shown}: disabling or deleting it would lock "
            "them. Move them off the key, then plan again",
        )

    def _tasks(self, region: str) -> list[Any]:
        now = datetime.now(UTC)
        first = rds.pending_tasks(self._clients, region, 1, now)
        tasks = list(first.tasks)
        pages = -(-first.total // rds.TASK_PAGE_SIZE)
        for number in range(2, pages + 1):
            tasks.extend(rds.pending_tasks(self._clients, region, number, now).tasks)
        return tasks

    # --- the instance --------------------------------------------------------------------

    def _instance(self, region: str, params: dict[str, Any]) -> WriteRefusal | None:
        instance_id, target = str(params["DBInstanceId"]), str(params["ConfigValue"])
        item = rds.attribute(self._clients, region, instance_id)
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
        if target != "disabled":
            findings.extend(check_supports_encryption(instance))
        if target not in NOT_A_CMK:
            findings.append(check_cmk_class(instance))
        first = next((f for f in findings if f is not None), None)
        if first is not None:
            return WriteRefusal(first[0], f"now: {first[1]}")
        if target in NOT_A_CMK:
            return None
        return self._cmk(region, target)

    def _cmk(self, region: str, key_id: str) -> WriteRefusal | None:
        metadata = kms.describe_key(self._clients, region, key_id)
        if metadata is None or metadata.get("KeyState") != "Enabled":
            state = "gone" if metadata is None else str(metadata.get("KeyState"))
            return WriteRefusal(
                RefusalCode.KEY_NOT_USABLE,
                f"key {key_id} is {state} in {region} now; RDS cannot use it. Plan again",
            )
        tags = kms.list_tags(self._clients, region, key_id)
        if not carries_rds_tag(tags):
            return WriteRefusal(
                RefusalCode.KEY_NOT_USABLE,
                f"key {key_id} no longer carries the tag {RDS_TAG[0]}={RDS_TAG[1]} that RDS "
                "needs. Plan again",
            )
        return self._role(str(metadata.get("Arn") or ""), tags)

    # --- RamNotReady ---------------------------------------------------------------------

    def _role(self, key_arn: str, tags: dict[str, str]) -> WriteRefusal | None:
        role, attached = self._ram_facts()
        if role is None:
            return _ram_refusal(f"role {RDS_ROLE} does not exist now")
        trust = trust_lets_service_assume(role.trust_document).verdict
        if trust is not Verdict.ALLOWED:
            return _ram_refusal(f"the trust policy of role {RDS_ROLE} is {trust} for {RDS_SERVICE}")
        documents = [(p.name, p.document) for p in attached]
        for action in KEY_USE_ACTIONS:
            verdict = evaluate(documents, key_use_request(action, key_arn, tags)).verdict
            if verdict is not Verdict.ALLOWED:
                return _ram_refusal(
                    f"the policies attached to role {RDS_ROLE} now leave {action} on the key "
                    f"{verdict}"
                )
        return None

    def _ram_facts(self) -> tuple[ObservedRole | None, list[ObservedPolicy]]:
        with self._lock:
            if self._ram is None:
                self._ram = self._read_ram()
            return self._ram

    def _read_ram(self) -> tuple[ObservedRole | None, list[ObservedPolicy]]:
        region = self._ram_region
        role = ram.get_role(self._clients, region, RDS_ROLE)
        if role is None:
            return None, []
        attached = [
            ram.get_policy(self._clients, region, name, kind, may_be_absent=False)
            for name, kind in ram.attached_policies(self._clients, region, RDS_ROLE)
        ]
        return role, [p for p in attached if p is not None]


def _ram_refusal(problem: str) -> WriteRefusal:
    return WriteRefusal(
        RefusalCode.RAM_NOT_READY,
        f"{problem}, so RDS could not use the customer master key. Plan again",
    )
