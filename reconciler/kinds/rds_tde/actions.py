"""The API actions of an instance's TDE: DescribeDBInstanceTDE (apply reads it again before
and after its write; the plan's reads share it) and the write (reconciler/permissions.py
derives the documents from them)."""

from __future__ import annotations

from reconciler.core.api_actions import READERS, ApiAction, write
from reconciler.core.ops import Op

_INSTANCE = "`acs:rds:<region>:<account>:dbinstance/<id>`"

ACTIONS: tuple[ApiAction, ...] = (
    ApiAction(
        "rds:DescribeDBInstanceTDE",
        "read",
        READERS,
        "the TDE of each instance whose spec sets `tde`; apply reads it again right before and "
        "after its write",
        _INSTANCE,
        7,
    ),
    write(
        Op.RDS_MODIFY_DB_INSTANCE_TDE,
        "the spec sets `tde` and the instance's TDE is off (`TDEStatus=Enabled`: one-way) or "
        "on another key (`IsRotate=true`)",
        _INSTANCE,
        2,
    ),
)
