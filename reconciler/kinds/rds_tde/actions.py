"""The API actions of an instance's TDE (reconciler/permissions.py derives the documents from
them): DescribeDBInstanceTDE (kinds/rds_tde/read.py; apply reads it again right before and after
its write) and the write. DescribeDBInstanceAttribute, which it reads too, is declared once, by
kinds/rds_encryption, and KMS's key reads by kinds/kms_key."""

from __future__ import annotations

from reconciler.core.api_actions import READERS, ApiAction, write
from reconciler.core.ops import Op

_INSTANCE = "`acs:rds:<region>:<account>:dbinstance/<id>`"

ACTIONS: tuple[ApiAction, ...] = (
    ApiAction(
        "rds:DescribeDBInstanceTDE",
        "read",
        READERS,
        "the TDE (on or off, and its key) of each instance whose spec sets `tde`; import: of "
        "each PostgreSQL instance it imports; apply reads it again right before and after its "
        "write",
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
