"""The rules the planner, apply, drift, observe and the cloud adapters must agree on, each
defined once: which key is the RDS service key, KMS key-state names, the tags a spec manages,
the account of an ARN, rotation intervals, and what the spec alone makes a key unusable for.

Pure: no I/O, no imports from the rest of the package. The emulator keeps its own copies on
purpose (it models the cloud independently of the client)."""

from __future__ import annotations

SERVICE_KEY_TYPE = "ServiceKey"
"""The API's word for the RDS service key: DescribeDBInstanceEncryptionKey's KeyType, and the
ConfigValue of ModifyDBInstanceConfig that moves an instance onto it."""

CMK_TYPE = "CMK"
"""DescribeDBInstanceEncryptionKey's KeyType of a customer master key."""

ENCRYPTION_DISABLED = "disabled"
"""The ConfigValue that turns disk encryption off."""

SERVICE_KEY_ALIAS = "alias/acs/rds"
"""The alias of the RDS-managed service key in each region."""

RDS_ENCRYPTION_TAG = ("acs:rds:instance-encryption", "true")
"""Every CMK used by RDS must carry this tag: the fixed RAM policy only allows tagged keys."""

KEY_STATE_NAMES = {
    "Enabled": "enabled",
    "Disabled": "disabled",
    "PendingDeletion": "pending-deletion",
    "PendingImport": "pending-import",
}
"""KMS KeyState -> the plan's and the spec's vocabulary."""

KEY_ENABLED = "enabled"
KEY_PENDING_DELETION = "pending-deletion"

SECONDS_PER_DAY = 86_400


def is_service_key(key_id: str | None, key_type: str | None, service_key_id: str | None) -> bool:
    """True when disk encryption with `key_id` is on the RDS service key: the answer says so
    (KeyType ServiceKey), names no key, or names the id alias/acs/rds has in the region.
    Only meaningful for encryption that is on."""
    return key_type == SERVICE_KEY_TYPE or not key_id or key_id == service_key_id


def key_type_of(key_id: str | None, service_key_id: str | None) -> str:
    """KeyType for an answer that did not say it: ServiceKey or CMK, by the service key's id."""
    return SERVICE_KEY_TYPE if is_service_key(key_id, None, service_key_id) else CMK_TYPE


def key_state_name(api_state: str) -> str:
    """A KMS KeyState (`PendingDeletion`) as the plan writes it (`pending-deletion`); an
    unknown state is kept as it is, so it shows as a difference rather than vanishing."""
    return KEY_STATE_NAMES.get(api_state, api_state)


def _alibabas(tag: str) -> bool:
    """Tags under `acs:` (any case) belong to Alibaba Cloud."""
    return tag.lower().startswith("acs:")


def user_tags(tags: dict[str, str]) -> dict[str, str]:
    """The tags a user sets: every tag not under `acs:`."""
    return {k: v for k, v in tags.items() if not _alibabas(k)}


def managed_tags(tags: dict[str, str]) -> dict[str, str]:
    """The tags a spec manages: the user's, plus acs:rds:instance-encryption."""
    rds_tag = RDS_ENCRYPTION_TAG[0]
    return {k: v for k, v in tags.items() if k == rds_tag or not _alibabas(k)}


def carries_rds_tag(tags: dict[str, str]) -> bool:
    """Whether a key carries acs:rds:instance-encryption=true, the tag RDS needs before it may
    use the key. The fixed RAM policy compares the value with StringEqualsIgnoreCase, so
    `True` counts too (docs/real-cloud.md, RAM)."""
    tag, value = RDS_ENCRYPTION_TAG
    return tags.get(tag, "").lower() == value


def account_of_arn(arn: str) -> str | None:
    """The account of an ARN `acs:<service>:<region>:<account>:<resource>`; None when the ARN
    has fewer parts or an empty account (never an IndexError: the caller decides)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[3] else None


def rotation_days(interval: object) -> int | None:
    """KMS RotationInterval (seconds with an `s` suffix, e.g. "31536000s") in whole days;
    None when absent. A value that is not a number raises ValueError."""
    if interval is None or interval == "":
        return None
    return int(str(interval).rstrip("s")) // SECONDS_PER_DAY


def rotation_interval(days: int) -> str:
    """Whole days as the RotationInterval KMS takes, e.g. 365 -> "31536000s"."""
    return f"{int(days) * SECONDS_PER_DAY}s"


def usable_by_rds(spec_state: str) -> bool:
    """RDS can encrypt with a spec key only when the spec keeps it enabled (else KeyNotUsable)."""
    return spec_state == KEY_ENABLED


def deletion_protected_conflict(spec_state: str, deletion_protection: bool) -> bool:
    """The spec asks to delete a key it also protects from deletion: KMS refuses
    (KeyDeletionProtected)."""
    return spec_state == KEY_PENDING_DELETION and deletion_protection


# --- what a key is used for (issue 18: TDE-aware reads) -----------------------------------------

DISK_USE = "DiskEncryption"
TDE_USE = "TDE"
KEY_USES = (DISK_USE, TDE_USE)
"""The documented values of DescribeDBInstanceEncryptionKey's `EncryptionKeyList[].UsedBy` and
DescribeKmsAssociateResources' `KeyUsedBy` (docs/real-cloud.md, "TDE and the key list"). Only
the `DiskEncryption` entry is the disk's key; TDE cannot be turned off once on."""


def key_use_notes(uses: set[str]) -> list[str]:
    """What a refusal says of a key user's uses beyond the disk (the census's `KeyUsedBy`): a
    TDE user keeps the key for good, whatever happens to its disk encryption."""
    return [
        "a TDE user: TDE cannot be turned off, so the key stays in use"
        if use == TDE_USE
        else f"used by {use or 'an unnamed use'}"
        for use in sorted(uses - {DISK_USE})
    ]
