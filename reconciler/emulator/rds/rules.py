"""The documented cloud-disk encryption rules of RDS for PostgreSQL, as pure functions.

No state, no HTTP, no clock: callers pass the facts in. Each rule raises :class:`ApiError`
with the code the emulator answers. Where the documentation names no code (docs/real-cloud.md,
its last table), the emulator picks one, listed here; the reconciler must classify errors by
family and never depend on these exact codes.

| rule                                            | status | code                              |
|-------------------------------------------------|--------|-----------------------------------|
| engine neither PostgreSQL nor SQL Server        | 400    | IncorrectDBInstanceEngine (guess) |
| SQL Server: ``disabled``                        | 400    | InvalidParameter (guess)          |
| SQL Server: serverless or shared class          | 400    | Unsupported.* (guess)             |
| PG edition not Basic / HighAvailability / cluster| 400   | Unsupported.Category (guess)      |
| serverless instance (Category serverless_*)     | 400    | Unsupported.Serverless (guess)    |
| PG storage not ESSD / Premium ESSD              | 400    | Unsupported.StorageType (guess)   |
| PG: CMK on a class not dedicated (``x``, ``s``, | 400    | IncorrectDBInstanceType (code in  |
| ``h``)                                          |        | Terraform for TDE; reused)        |
| key id unknown in the instance's region         | 400    | KmsApiError (RDS's documented     |
|                                                 |        | code for a KMS failure; its use   |
|                                                 |        | for an unknown key is a guess)    |
| key Disabled / PendingDeletion                  | 403    | InvalidKmsKey "Kms key is         |
|                                                 |        | disabled." (documented by RDS)    |
| key not tagged / role missing / no trust /      | 403    | ByokNotAuthorizedToRds (guess: no |
| policy does not allow the three kms actions     |        | RDS source ties it to this call)  |
| instance not Running                            | 403    | IncorrectDBInstanceState (RDS's   |
|                                                 |        | error table)                      |
| instance locked by its key                      | 403    | IncorrectDBInstanceLockMode       |
|                                                 |        | (guess)                           |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from reconciler.emulator.errors import ApiError

ENGINE = "PostgreSQL"
SQLSERVER = "SQLServer"
SERVICE_KEY_ALIAS = "alias/acs/rds"
SERVICE_KEY_WORD = "ServiceKey"
SQLSERVER_SERVICE_KEY_WORD = "serviceKey"  # the SDK's spelling for SQL Server (lower-case s)
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

_CLASS_FAMILY = re.compile(r"^(?:rds\.)?[a-z]+\.([a-z][a-z0-9]*)", re.IGNORECASE)
SECURITY_ENHANCED_FAMILIES = frozenset({"x4t"})


def class_family(class_code: str) -> str:
    """The family part of a class code: ``pg.x4.large.2c`` -> ``x4``, ``pg.x4t.large.2c`` ->
    ``x4t``, ``rds.pg.st.h43`` -> ``st``, ``pg.n2.2c.1m`` -> ``n2``."""
    match = _CLASS_FAMILY.match(class_code)
    return match.group(1).lower() if match else ""


def class_type(class_code: str) -> str:
    """DBInstanceClassType from a class code (docs/emulator.md, RDS: disk encryption rules):
    family ``x*`` is dedicated (``d``: ``pg.x4.large.2c``, ``pg.x8.medium.1``), ``n*``
    general-purpose (``x``: ``pg.n2.2c.1m``, ``pg.n4.*``, Yitian ``pg.n1e.*``/``pg.n2e.*``),
    ``st`` a dedicated host (``h``: ``rds.pg.st.h43``; the ``st`` family is the physical-host
    classes of RDS's class lists, its mapping to ``h`` is inferred), other ``s*`` shared
    (``s``: ``pg.s2.large``, ``rds.pg.s1.small``). The security-enhanced family ``x4t``
    (``pg.x4t.*``) is its own family (:data:`SECURITY_ENHANCED_FAMILIES`), reported as
    dedicated ``d`` (a guess: its class type is undocumented). Emulator choice: any other
    family counts as general-purpose, so it never takes a CMK.
    """
    family = class_family(class_code)
    if family == "st":
        return "h"
    if family in SECURITY_ENHANCED_FAMILIES:
        return "d"
    return {"x": "d", "n": "x", "s": "s"}.get(family[:1], "x")


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
    """Cloud-disk encryption through ModifyDBInstanceConfig ``encryptionKey``: documented for
    PostgreSQL (Basic/HA/cluster edition, ESSD, never serverless) and SQL Server (never
    serverless, never a shared class: SDK ModifyDBInstanceConfigRequest); any other engine is
    refused with IncorrectDBInstanceEngine (a guess: no code is documented).

    ``at_creation``: MySQL instances can also be created with an encrypted disk
    (CreateDBInstance EncryptionKey); only the instance-level rules are checked then. Such
    instances matter to the reconciler as users of a key (a disabled key locks them too)."""
    if facts.engine == SQLSERVER:
        check_sqlserver_supports_encryption(facts)
        return
    if facts.engine != ENGINE and not at_creation:
        raise ApiError(
            400,
            "IncorrectDBInstanceEngine",
            "Cloud disk encryption can be changed only on PostgreSQL and SQL Server instances.",
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


def check_sqlserver_supports_encryption(facts: InstanceFacts) -> None:
    """SQL Server: "Serverless instances and shared instance types do not support this
    feature" (SDK). Codes: guesses, the same as PostgreSQL's serverless refusal."""
    if is_serverless(facts.category, facts.class_code):
        raise ApiError(
            400, "Unsupported.Serverless", "Cloud disk encryption is not available on serverless."
        )
    if class_type(facts.class_code) == "s":
        raise ApiError(
            400,
            "Unsupported.DBInstanceClass",
            "Cloud disk encryption is not available on shared instance types.",
        )


def check_can_disable(facts: InstanceFacts) -> None:
    """``disabled`` is a PostgreSQL value; on SQL Server the feature "cannot be disabled after
    it is enabled" (SDK). Code: a guess."""
    if facts.engine == SQLSERVER:
        raise invalid("Cloud disk encryption cannot be disabled on a SQL Server instance.")
    if facts.engine != ENGINE:
        check_supports_encryption(facts)


def service_key_word(engine: str) -> str:
    """The ConfigValue that names the service key: ``ServiceKey`` for PostgreSQL,
    ``serviceKey`` for SQL Server (the SDK's spellings)."""
    return SQLSERVER_SERVICE_KEY_WORD if engine == SQLSERVER else SERVICE_KEY_WORD


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


def invalid_kms_key(message: str = "Kms key is disabled.") -> ApiError:
    """RDS's own documented answer for a key it cannot use: 403 InvalidKmsKey."""
    return ApiError(403, "InvalidKmsKey", message)


def kms_api_error(message: str) -> ApiError:
    """RDS's documented 400 KmsApiError (a KMS call RDS made failed); used for an unknown key
    id (a guess: which KMS failures RDS reports with it is undocumented)."""
    return ApiError(400, "KmsApiError", message)


def check_key_state(key: KeyLike) -> None:
    """RDS's own codes, not KMS's: Disabled is 403 InvalidKmsKey "Kms key is disabled."
    (documented); PendingDeletion and PendingImport answer the same code (a guess)."""
    if key.state == "Disabled":
        raise invalid_kms_key()
    if key.state == "PendingDeletion":
        raise invalid_kms_key("Kms key is disabled: the key is pending deletion.")
    if key.state != "Enabled":
        raise invalid_kms_key(f"Kms key is disabled: the key is {key.state}.")


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
            403,
            "IncorrectDBInstanceState",
            "The operation is not permitted due to status of instance.",
        )
