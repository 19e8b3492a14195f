"""The documented cloud-disk encryption rules of RDS for PostgreSQL, as pure functions.

No state, no HTTP, no clock: callers pass the facts in. Each rule raises :class:`ApiError`
with the code the emulator answers. Where the documentation names no code (reference-details
"Still unknown"), the emulator picks one, listed here; the reconciler must classify errors by
family and never depend on these exact codes.

| rule                                            | status | code (chosen unless noted)        |
|-------------------------------------------------|--------|-----------------------------------|
| engine is not PostgreSQL                        | 400    | IncorrectDBInstanceEngine         |
| edition not Basic / HighAvailability / cluster  | 400    | Unsupported.Category              |
| serverless instance (Category serverless_*)     | 400    | Unsupported.Serverless            |
| storage not ESSD / Premium ESSD                 | 400    | Unsupported.StorageType           |
| CMK on a class not dedicated (``x``, ``s``)     | 400    | IncorrectDBInstanceType (doc'd)   |
| key id unknown in the instance's region         | 404    | Forbidden.KeyNotFound (KMS code)  |
| key Disabled                                    | 409    | Rejected.Disabled (KMS code)      |
| key PendingDeletion                             | 409    | Rejected.PendingDeletion (KMS)    |
| key not tagged / role missing / no trust /      | 403    | ByokNotAuthorizedToRds (doc'd)    |
| policy does not allow the three kms actions     |        |                                   |
| instance not Running                            | 400    | IncorrectDBInstanceState (doc'd;  |
|                                                 |        | 400 chosen over the 500 of one    |
|                                                 |        | page so it is not "retry later")  |
| instance locked by its key                      | 403    | IncorrectDBInstanceLockMode       |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from reconciler.emulator.errors import ApiError

ENGINE = "PostgreSQL"
SERVICE_KEY_ALIAS = "alias/acs/rds"
SERVICE_KEY_WORD = "ServiceKey"
DISABLED_WORD = "disabled"
ENCRYPTION_TAG_KEY = "acs:rds:instance-encryption"
ENCRYPTION_TAG_VALUE = "true"
ROLE_NAME = "AliyunRDSInstanceEncryptionDefaultRole"
RDS_SERVICE = "rds.aliyuncs.com"
KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")

ENCRYPTION_CATEGORIES = frozenset({"Basic", "HighAvailability", "cluster"})
SERVERLESS_CATEGORIES = frozenset({"serverless_basic", "serverless_standard", "serverless_ha"})
ALL_CATEGORIES = ENCRYPTION_CATEGORIES | SERVERLESS_CATEGORIES | {"AlwaysOn", "Finance"}
ESSD_STORAGE = frozenset({"cloud_essd", "cloud_essd2", "cloud_essd3", "general_essd"})
ALL_STORAGE = ESSD_STORAGE | {"cloud_ssd", "local_ssd"}
ENGINES = frozenset({"PostgreSQL", "MySQL", "SQLServer", "MariaDB"})

# LockMode / LockReason for an instance whose CMK cannot be used. The real value is undocumented
# (LockMode's documented enum has nothing for encryption), so the emulator picks these.
LOCK_MODE_BY_KEY = "LockByEncryptionKey"
UNLOCKED = "Unlock"
LOCK_REASONS = {
    "Disabled": "encryption_key_disabled",
    "PendingDeletion": "encryption_key_pending_deletion",
    "Deleted": "encryption_key_deleted",
}


def not_found(instance_id: str) -> ApiError:
    return ApiError(404, "InvalidDBInstanceId.NotFound", "The specified instance is not found.")


def invalid(message: str, code: str = "InvalidParameter") -> ApiError:
    return ApiError(400, code, message)


# --- class codes ------------------------------------------------------------------------------

_CLASS_FAMILY = re.compile(r"^(?:rds\.)?[a-z]+\.([a-z])", re.IGNORECASE)  # pg., pgro., mysql., ...


def class_type(class_code: str) -> str:
    """DBInstanceClassType from a class code (DESIGN section 9, reference-details section 5):
    family ``x*`` is dedicated (``d``: ``pg.x4.large.2c``, ``pg.x8.medium.1``), ``n*``
    general-purpose (``x``: ``pg.n2.2c.1m``, ``pg.n4.*``, Yitian ``pg.n1e.*``/``pg.n2e.*``),
    ``s*`` shared (``s``: ``pg.s2.large``, ``rds.pg.s1.small``). Emulator choice: any other
    family counts as general-purpose, so it never takes a CMK.
    """
    match = _CLASS_FAMILY.match(class_code)
    family = match.group(1).lower() if match else ""
    return {"x": "d", "n": "x", "s": "s"}.get(family, "x")


def is_serverless(category: str, class_code: str = "") -> bool:
    return category in SERVERLESS_CATEGORIES or ".serverless." in class_code


# --- encryption rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceFacts:
    engine: str
    category: str
    storage_type: str
    class_code: str


def check_supports_encryption(facts: InstanceFacts, *, at_creation: bool = False) -> None:
    """Cloud-disk encryption: PostgreSQL, Basic/HA/cluster edition, ESSD, never serverless.

    ``at_creation``: MySQL and SQL Server instances can also be created with an encrypted
    disk (CreateDBInstance EncryptionKey); only switching it later through ModifyDBInstanceConfig
    is the PostgreSQL feature this emulator models. Such instances matter to the reconciler as
    users of a key (a disabled key locks them too)."""
    if facts.engine != ENGINE and not at_creation:
        raise ApiError(
            400,
            "IncorrectDBInstanceEngine",
            "Cloud disk encryption is supported only for PostgreSQL instances.",
        )
    if is_serverless(facts.category, facts.class_code):
        raise ApiError(
            400, "Unsupported.Serverless", "Cloud disk encryption is not available on serverless."
        )
    if facts.category not in ENCRYPTION_CATEGORIES:
        raise ApiError(
            400,
            "Unsupported.Category",
            "Cloud disk encryption needs the Basic, High-availability or Cluster edition.",
        )
    if facts.storage_type not in ESSD_STORAGE:
        raise ApiError(
            400,
            "Unsupported.StorageType",
            "Cloud disk encryption needs ESSD or Premium ESSD storage.",
        )


def check_cmk_allowed_for_class(facts: InstanceFacts) -> None:
    """Dedicated instances (class type ``d``) take a CMK; general-purpose (``x``) and shared
    (``s``) ones the service key only."""
    kind = class_type(facts.class_code)
    if kind != "d":
        name = {"x": "general-purpose", "s": "shared"}.get(kind, kind)
        raise ApiError(
            400,
            "IncorrectDBInstanceType",
            f"A customer master key needs a dedicated instance class; {facts.class_code} is "
            f"{name} (class type {kind}) and can use only the service key.",
        )


class KeyLike(Protocol):
    """What RDS reads of a customer master key (KMS's KeyRecord has these)."""

    key_id: str
    arn: str
    state: str  # Enabled | Disabled | PendingDeletion | PendingImport
    tags: dict[str, str]


def check_key_state(key: KeyLike) -> None:
    if key.state == "Disabled":
        raise ApiError(409, "Rejected.Disabled", "The key is disabled.")
    if key.state == "PendingDeletion":
        raise ApiError(409, "Rejected.PendingDeletion", "The key is pending deletion.")
    if key.state != "Enabled":
        raise ApiError(409, "Rejected.StateModifiedFailed", f"The key is {key.state}.")


def byok_not_authorized(reason: str) -> ApiError:
    return ApiError(
        403,
        "ByokNotAuthorizedToRds",
        f"RDS is not authorized to use the customer master key: {reason}",
    )


def check_key_tagged(key: KeyLike) -> None:
    """The key must carry ``acs:rds:instance-encryption=true`` (value compared ignoring case,
    like the system policy's StringEqualsIgnoreCase)."""
    if key.tags.get(ENCRYPTION_TAG_KEY, "").lower() != ENCRYPTION_TAG_VALUE:
        raise byok_not_authorized(f"the key lacks the tag {ENCRYPTION_TAG_KEY}=true")


# --- maintenance windows ----------------------------------------------------------------------

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)Z-([01]\d|2[0-3]):([0-5]\d)Z$")
DAY = 86400


def parse_window(text: str) -> tuple[int, int]:
    """``HH:mmZ-HH:mmZ`` (UTC) -> (start, end) in seconds after midnight; end may wrap."""
    match = _WINDOW.match(text or "")
    if not match:
        raise invalid(
            "The specified MaintainTime is not valid (expected HH:mmZ-HH:mmZ).",
            "InvalidMaintainTime.Format",
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if start == end:
        raise invalid("The MaintainTime window is empty.", "InvalidMaintainTime.Format")
    return start, end


def in_window(epoch: float, window: str) -> bool:
    start, end = parse_window(window)
    second = int(epoch) % DAY
    return start <= second < end if start < end else second >= start or second < end


def window_start_at_or_after(epoch: float, window: str) -> float:
    """When a MaintainTime change starts: now if inside the window, else its next opening."""
    if in_window(epoch, window):
        return epoch
    start, _ = parse_window(window)
    midnight = int(epoch) - int(epoch) % DAY
    candidate = midnight + start
    return float(candidate if candidate > epoch else candidate + DAY)


# --- locks ------------------------------------------------------------------------------------


def lock_for_key_state(key_state: str | None) -> tuple[str, str]:
    """(LockMode, LockReason) of an instance whose CMK is in ``key_state``; ``None`` = deleted.

    Chosen values (undocumented): LockMode ``LockByEncryptionKey`` with a reason naming the
    key state; an Enabled key leaves the instance ``Unlock`` with an empty reason.
    """
    if key_state is None:
        return LOCK_MODE_BY_KEY, LOCK_REASONS["Deleted"]
    if key_state in LOCK_REASONS:
        return LOCK_MODE_BY_KEY, LOCK_REASONS[key_state]
    return UNLOCKED, ""


def check_not_locked(lock_mode: str) -> None:
    if lock_mode != UNLOCKED:
        raise ApiError(
            403,
            "IncorrectDBInstanceLockMode",
            "The operation is not permitted due to lock of instance.",
        )


def check_running(status: str) -> None:
    if status != "Running":
        raise ApiError(
            400,
            "IncorrectDBInstanceState",
            "The operation is not permitted due to status of instance.",
        )
