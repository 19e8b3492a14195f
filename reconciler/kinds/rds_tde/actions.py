"""The API actions of an instance's TDE (reconciler/permissions.py derives the documents from
them). `READS` are the observing half's (kinds/rds_tde/read.py); DescribeDBInstanceAttribute,
which it reads too, is declared once, by kinds/rds_encryption, and KMS's key reads by
kinds/kms_key."""

from __future__ import annotations

from reconciler.core.api_actions import READERS, ApiAction

_INSTANCE = "`acs:rds:<region>:<account>:dbinstance/<id>`"

READS: tuple[ApiAction, ...] = (
    ApiAction(
        "rds:DescribeDBInstanceTDE",
        "read",
        READERS,
        "the TDE (on or off, and its key) of each instance whose spec sets `tde`; import: of "
        "each PostgreSQL instance it imports",
        _INSTANCE,
        7,
    ),
)
