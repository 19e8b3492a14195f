"""The API actions a key needs: the reads that find keys and their users (the census of
`KeyInUse`), and every write a key change may make (reconciler/permissions.py derives the
documents from them). `kms:DescribeKey` also reads `alias/acs/rds` (the service key and the
account id): one action, listed once, here."""

from __future__ import annotations

from reconciler.core.api_actions import OBSERVERS, READERS, ApiAction, write
from reconciler.core.ops import Op

_KEY = "`acs:kms:<region>:<account>:key/<key-id>`"

ACTIONS: tuple[ApiAction, ...] = (
    ApiAction(
        "rds:DescribeBackups",
        "read",
        OBSERVERS,
        "the backup sets of every instance in the region of a key the spec disables or deletes, "
        "and of an instance moving off a CMK: an unexpired set still needs its key (`KeyInUse`, "
        "`SnapshotsKeepOldKey`)",
        "`acs:rds:<region>:<account>:dbinstance/<id>`",
        6,
    ),
    ApiAction(
        "rds:DescribeKmsAssociateResources",
        "read",
        OBSERVERS,
        "every instance of any engine using a key the spec disables or deletes (`KeyInUse`)",
        "`*` (the documentation names no resource type)",
        4,
    ),
    ApiAction(
        "kms:DescribeKey",
        "read",
        READERS,
        "find each key by alias or id; `alias/acs/rds` gives the service key and the account id",
        f"{_KEY} (an alias is resolved to its key)",
        1,
    ),
    ApiAction(
        "kms:ListResourceTags",
        "read",
        READERS,
        "the key's tags (RDS needs `acs:rds:instance-encryption=true` on a CMK)",
        _KEY,
        2,
    ),
    ApiAction(
        "kms:ListAliasesByKeyId",
        "read",
        READERS,
        "the aliases of a key named by id or found in use",
        _KEY,
        3,
    ),
    ApiAction(
        "kms:ListKeys",
        "read",
        READERS,
        "only where a spec key's alias is absent: the region's keys, to find one a CreateKey "
        "whose answer was lost made (no alias, the spec's tags) and adopt it",
        "`acs:kms:<region>:<account>:key`",
        4,
    ),
    ApiAction(
        "kms:ListAliases",
        "read",
        READERS,
        "with ListKeys: which of the region's keys have no alias",
        "`acs:kms:<region>:<account>:alias`",
        5,
    ),
    ApiAction(
        "kms:GetKmsInstance",
        "read",
        READERS,
        "each KMS instance a spec key names (`kms_instance`): its status and `EndDate` "
        "(`KmsInstanceNotFound`, `KmsInstanceNotReady`, `KmsInstanceExpiring`); apply reads it "
        "again right before CreateKey",
        "`*` (the documentation names no resource type for a KMS instance)",
        7,
    ),
    ApiAction(
        "kms:GetKmsInstanceQuotaInfos",
        "read",
        READERS,
        "with GetKmsInstance: the instance's key quota and keys used (`KmsInstanceKeyQuota`)",
        "`*` (the documentation names no resource type for a KMS instance)",
        8,
    ),
    write(
        Op.KMS_CREATE_KEY,
        "a key of the spec does not exist (found by alias); it is created with its tags",
        "`acs:kms:<region>:<account>:key` (the key container)",
        1,
    ),
    write(
        Op.KMS_CREATE_ALIAS,
        "the spec's alias of a new key",
        f"{_KEY} and `acs:kms:<region>:<account>:alias/<alias-name>` (both)",
        2,
    ),
    write(
        Op.KMS_TAG_RESOURCE,
        "the key lacks a tag of the spec (`acs:rds:instance-encryption=true` is always added)",
        _KEY,
        3,
    ),
    write(Op.KMS_UNTAG_RESOURCE, "the key has a tag the spec removes", _KEY, 4),
    write(Op.KMS_ENABLE_KEY, "the spec wants a disabled key enabled", _KEY, 5),
    write(
        Op.KMS_DISABLE_KEY,
        "the spec disables a key (refused while it is in use: `KeyInUse`)",
        _KEY,
        6,
    ),
    write(Op.KMS_CANCEL_KEY_DELETION, "the spec keeps a key that is pending deletion", _KEY, 7),
    write(
        Op.KMS_SCHEDULE_KEY_DELETION,
        "the spec deletes a key (refused while it is in use: `KeyInUse`)",
        _KEY,
        8,
    ),
    write(
        Op.KMS_UPDATE_ROTATION_POLICY, "the key's automatic rotation differs from the spec", _KEY, 9
    ),
    write(
        Op.KMS_SET_DELETION_PROTECTION,
        "the key's deletion protection differs from the spec",
        _KEY,
        10,
    ),
    write(Op.KMS_UPDATE_KEY_DESCRIPTION, "the key's description differs from the spec", _KEY, 11),
)
