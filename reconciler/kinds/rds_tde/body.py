"""The body of an instance's TDE change (kinds/body.py): its `before` (TDE as read) and its
`after` (TDE wanted, with every parameter ModifyDBInstanceTDE needs), as kinds/rds_tde/plan.py
writes them (docs/plan-format.md, "`before` and `after` per resource kind")."""

from __future__ import annotations

from typing import Literal

from reconciler.core.rules import ENCRYPTION_DISABLED, SERVICE_KEY_TYPE, is_service_key
from reconciler.kinds.body import ChangeBody


class TdeView(ChangeBody):
    key: str
    """`disabled` (TDE off), `ServiceKey` (RDS's generated key, Aliyun_Generate_Key), a KMS key
    id, or `(known after apply)` for a key this plan makes."""


class TdeBefore(ChangeBody):
    tde: TdeView


class TdeAfter(ChangeBody):
    tde: TdeView
    instance_id: str
    tde_status: Literal["Enabled"]
    """ModifyDBInstanceTDE's TDEStatus: the tool only ever turns TDE on (it cannot be off)."""
    encryption_key: str | None
    """EncryptionKey: a KMS key id, `(known after apply)` when `key_address` is created by
    this plan; None for RDS's generated key (`service`)."""
    key_address: str | None
    """`kms_key.<name>` when the spec names the key; None otherwise."""
    role_arn: str | None
    """RoleArn, the RDS role's ARN, for a customer master key; None otherwise."""
    is_rotate: bool
    """IsRotate: TDE is on already and moves to another key (PostgreSQL)."""


GENERATED_KEY_MODE = "Aliyun_Generate_Key"
"""DescribeDBInstanceTDE's TDEMode for RDS's own key (the region's service key)."""


def tde_value(
    enabled: bool, mode: str | None, key_id: str | None, service_key_id: str | None
) -> str:
    """TDE as read, in the view's words: `disabled`, `ServiceKey` (by TDEMode, or the id of
    alias/acs/rds) or the key id TDE uses. The planner and apply's fresh read share it."""
    if not enabled:
        return ENCRYPTION_DISABLED
    if is_service_key(
        key_id, SERVICE_KEY_TYPE if mode == GENERATED_KEY_MODE else None, service_key_id
    ):
        return SERVICE_KEY_TYPE
    return str(key_id)
