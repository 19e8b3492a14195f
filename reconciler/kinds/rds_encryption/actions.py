"""The API actions an instance's encryption needs: the reads that observe instances and
their tasks, and the one write (reconciler/permissions.py derives the documents from them)."""

from __future__ import annotations

from reconciler.core.api_actions import OBSERVERS, READERS, ApiAction, write
from reconciler.core.ops import Op

_INSTANCE = "`acs:rds:<region>:<account>:dbinstance/<id>`"
_INSTANCES = "`acs:rds:<region>:<account>:dbinstance/*`"

ACTIONS: tuple[ApiAction, ...] = (
    ApiAction(
        "rds:DescribeDBInstances",
        "read",
        READERS,
        "list the instances of each region (paged, 100 a page); look up an instance the list "
        "did not show",
        f"{_INSTANCES} (a listing), {_INSTANCE} (one id)",
        1,
    ),
    ApiAction(
        "rds:DescribeDBInstanceAttribute",
        "read",
        OBSERVERS,
        "class type (dedicated or not) and maintenance window where a change needs them; the "
        "instance's status while apply waits for it; the minor engine version and read-only "
        "instances of an instance whose spec wants TDE on, and each read-only instance's",
        _INSTANCE,
        2,
    ),
    ApiAction(
        "rds:DescribeDBInstanceEncryptionKey",
        "read",
        READERS,
        "the disk encryption of each instance read",
        _INSTANCE,
        3,
    ),
    ApiAction(
        "rds:DescribeHistoryTasks",
        "read",
        OBSERVERS,
        "encryption changes running or scheduled for a maintenance window; their progress "
        "while apply waits",
        f"{_INSTANCES}, {_INSTANCE} (one instance's tasks)",
        5,
    ),
    ApiAction(
        "rds:ListTagResources",
        "read",
        READERS,
        "the tags of the instances a fleet with `select.tags` may select (DescribeDBInstances' "
        "`Tags` filter keeps an instance carrying ANY tag; every tag is confirmed here); "
        "`import --as-fleet`: of every instance it reads",
        _INSTANCE,
        9,
    ),
    write(
        Op.RDS_MODIFY_DB_INSTANCE_CONFIG,
        "an instance's encryption differs from the spec (`ConfigName=encryptionKey`)",
        _INSTANCE,
        1,
    ),
)
