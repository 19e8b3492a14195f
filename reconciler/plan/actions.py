"""The plan's vocabulary: actions, operation names, refusal and warning codes.

One enum per concept so the planner, the renderers and apply agree on spelling. Operation
names (`Op`) are defined once in reconciler/core/ops.py, which apply, the permissions list and
the rate limits share; the planner takes them from here.
"""

from __future__ import annotations

from enum import StrEnum

from reconciler.core.ops import Op as Op
from reconciler.core.rules import ENCRYPTION_DISABLED as ENCRYPTION_DISABLED
from reconciler.core.rules import SERVICE_KEY_TYPE


class Action(StrEnum):
    """What a change does to its resource. `restart` and `scheduled` are display marks on a
    Change, not actions: apply decides nothing from them."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    """A KMS key (ScheduleKeyDeletion; guarded by KeyInUse), or a policy attached to the RDS
    role that the spec does not list (DetachPolicyFromRole)."""


class RefusalCode(StrEnum):
    """Why a change cannot be made (README, "Refusals"). Any refusal fails the plan (exit 1)."""

    ENCRYPTION_UNSUPPORTED_SERVERLESS = "EncryptionUnsupportedServerless"
    ENCRYPTION_UNSUPPORTED_STORAGE = "EncryptionUnsupportedStorage"
    ENCRYPTION_UNSUPPORTED_EDITION = "EncryptionUnsupportedEdition"
    ENCRYPTION_UNSUPPORTED_ENGINE = "EncryptionUnsupportedEngine"
    CMK_REQUIRES_DEDICATED_INSTANCE = "CmkRequiresDedicatedInstance"
    KMS_NOT_ACTIVATED = "KmsNotActivated"
    KMS_IN_DEBT = "KmsInDebt"
    """KMS is activated but DescribeAccountKmsStatus is
    InDebt (the account is overdue: "KMS stops providing services") or Suspended. No new key
    use and no key change is planned; distinct from KmsNotActivated."""
    KEY_IN_USE = "KeyInUse"
    KEY_NOT_USABLE = "KeyNotUsable"
    INSTANCE_NOT_FOUND = "InstanceNotFound"
    KEY_REGION_MISMATCH = "KeyRegionMismatch"
    RAM_NOT_READY = "RamNotReady"
    ACCOUNT_MISMATCH = "AccountMismatch"
    INSTANCE_LOCKED = "InstanceLocked"
    KEY_DELETION_PROTECTED = "KeyDeletionProtected"
    """The spec asks for pending-deletion while also
    asking for deletion protection, which KMS would refuse at apply time."""
    KEY_DECLARED_TWICE = "KeyDeclaredTwice"
    """Two kms_keys entries find the same KMS key (one
    key may carry several aliases), so the spec would ask two states or tag sets of one key."""
    ENCRYPTION_CHANGE_PENDING = "EncryptionChangePending"
    """An encryption change to another value is already
    running or scheduled for the instance (task center); a second one would race it."""
    ENCRYPTION_NOT_READ = "EncryptionNotRead"
    """The observed state lacks a managed instance's
    encryption. Observe never produces this (it fails instead); the planner refuses rather
    than take "not read" as "off"."""
    TDE_CANNOT_BE_DISABLED = "TdeCannotBeDisabled"
    """The spec sets `tde: disabled` on an instance whose TDE is on: RDS cannot turn TDE off
    ("Configure TDE"), so the spec cannot be met."""
    TDE_UNSUPPORTED_ENGINE_VERSION = "TdeUnsupportedEngineVersion"
    """TDE needs PostgreSQL 10 or later on minor engine version 20221030 or later; the
    message names the version to upgrade to (UpgradeDBInstanceKernelVersion)."""
    TDE_UNSUPPORTED_STORAGE = "TdeUnsupportedStorage"
    """TDE needs cloud disks; the instance uses another storage type."""
    TDE_READ_ONLY_NOT_READY = "TdeReadOnlyNotReady"
    """A read-only instance of the instance does not meet TDE's prerequisites (version,
    storage), or its facts were not read: each is named."""
    TDE_NOT_READ = "TdeNotRead"
    """The observed state lacks a managed instance's TDE (DescribeDBInstanceTDE) or its minor
    engine version: nothing is assumed about it (fail closed)."""
    KMS_INSTANCE_NOT_FOUND = "KmsInstanceNotFound"
    """A key's kms_instance does not exist in its region (or was not read)."""
    KMS_INSTANCE_NOT_READY = "KmsInstanceNotReady"
    """A key's KMS instance is not Connected, so CreateKey in it would fail."""
    KMS_INSTANCE_KEY_QUOTA = "KmsInstanceKeyQuota"
    """The KMS instance has no room (KeyNum) for the keys the plan creates in it."""
    KMS_INSTANCE_MISMATCH = "KmsInstanceMismatch"
    """An existing key lives in another KMS instance (or is a default key) than the spec says:
    a key never moves between instances."""
    DEFAULT_KEY_LIMIT = "DefaultKeyLimit"
    """A second key without kms_instance in a region: KMS keeps one default key per account
    and region."""
    FLEET_CONFLICT = "FleetConflict"
    """Two fleets select one instance with different wants (encryption, TDE, restart); the
    message names both (README, "Fleets (selectors)")."""
    DEFAULT_KEY_ROTATION_NOT_PURCHASED = "DefaultKeyRotationNotPurchased"
    """Rotation of a default key is a paid feature the spec does not say is purchased
    (kms_keys.<name>.default_key_rotation_purchased)."""


class WarningCode(StrEnum):
    """Things the operator must know that do not stop the plan (docs/plan-format.md, Refusal and
    Warning)."""

    RESTART_REQUIRED = "RestartRequired"
    """An encryption change restarts the instance (now, or in its maintenance window)."""
    SNAPSHOTS_KEEP_OLD_KEY = "SnapshotsKeepOldKey"
    """Moving an instance off a CMK leaves its existing snapshots and backups on that CMK."""
    RAM_PROPAGATION_DELAY = "RamPropagationDelay"
    """A RAM change may take a while to be visible to RDS."""
    INSTANCE_AT_RISK = "InstanceAtRisk"
    """KMS is InDebt or Suspended and the instance's disks are encrypted with a KMS key (the
    service key or a CMK): the disk-encryption document warns they cannot be decrypted while
    the KMS instance is overdue. One per instance read, managed or not. Also a managed
    instance that is locked (LockMode not Unlock) while nothing is planned for it: the plan
    has nothing to refuse, but the lock is said (drift: critical)."""
    CHANGE_ALREADY_PENDING = "ChangeAlreadyPending"
    """The change the spec wants is already running or scheduled (task center): not planned
    again; the message says when it runs."""
    KMS_INSTANCE_EXPIRING = "KmsInstanceExpiring"
    """A spec key's KMS instance expires (EndDate) within 30 days of the reads, or has
    expired: its keys, and the instances encrypted with them, are at risk (drift: high, or
    critical once expired)."""
    FLEET_MEMBERS_UNENCRYPTABLE = "FleetMembersUnencryptable"
    """Instances a fleet selects that cannot be encrypted (serverless, storage, edition), named
    in one warning at `fleets.<name>` and left alone; `strict: true` refuses them instead."""
    IGNORED_BY_LIFECYCLE = "IgnoredByLifecycle"
    """A setting differs and is left alone: lifecycle.ignore (or defaults.ignore) names it, so
    no write is planned for it (README, "Ignoring a difference")."""


KNOWN_AFTER_APPLY = "(known after apply)"
"""Stands for a value the cloud assigns during apply, e.g. the id of a key being created."""

SERVICE_KEY_CONFIG_VALUE = SERVICE_KEY_TYPE
"""ModifyDBInstanceConfig ConfigValue (and our field value) for the RDS service key."""

DEFAULT_PENDING_WINDOW_DAYS = 30
"""ScheduleKeyDeletion's PendingWindowInDays (7-366): the spec has no field for it; 30 is the
KMS console default and leaves a month to CancelKeyDeletion."""
