"""The account's KMS status, as DescribeAccountKmsStatus documents it (default: Enabled).

Documented values (SDK DescribeAccountKmsStatusResponseBody): ``Enabled``; ``NotEnabled``
(KMS is not activated); ``InDebt`` ("Your account is overdue, and KMS stops providing
services"); ``Suspended``. Kept in the store's ``meta`` table, so it survives a restart of a
file-backed emulator. Set by a seed (top-level ``kms: {activated: false}`` or
``kms: {status: InDebt}``) or the admin API:

    POST /_emulator/kms {"status": "InDebt"}      -> {"activated": true, "status": "InDebt"}
    POST /_emulator/kms {"activated": false}      (the same as {"status": "NotEnabled"})
    GET  /_emulator/kms                           -> {"activated": true, "status": "Enabled"}

What each status answers:

- ``NotEnabled``: every KMS action but DescribeAccountKmsStatus and DescribeRegions answers 403
  ``Forbidden.KmsServiceNotEnabled`` (KMS's documented code); RDS asked to encrypt a disk
  (CreateDBInstance EncryptionKey, ModifyDBInstanceConfig) answers the same (that RDS passes
  KMS's code through is a guess). Turning encryption off still works. DescribeRegions still
  answers (it lists where KMS is offered; chosen).
- ``InDebt`` / ``Suspended``: KMS "stops providing services". The emulator's reading (a
  guess; the answers are undocumented): key-management READS (DescribeKey, ListKeys,
  ListAliases, ListAliasesByKeyId, ListResourceTags) still answer, so a client can see what is
  at risk; every KMS WRITE answers 403 ``Forbidden.KmsInDebt`` / ``Forbidden.KmsSuspended``;
  RDS refuses any new use of a key (service key or CMK) with its documented 400
  ``KmsApiError``. Instances already encrypted keep running in the emulator (the document warns
  that their disks "cannot be decrypted"; the emulator does not model the outage itself).
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.admin import AdminError, register_admin_route
from reconciler.emulator.errors import ApiError
from reconciler.emulator.runtime import EmulatorState
from reconciler.emulator.store import Transaction

_META_KEY = "kms_activated"  # older states hold "1"/"0" here
_STATUS_KEY = "kms_account_status"
ENABLED, NOT_ENABLED, IN_DEBT, SUSPENDED = "Enabled", "NotEnabled", "InDebt", "Suspended"
STATUSES = (ENABLED, NOT_ENABLED, IN_DEBT, SUSPENDED)
NOT_ACTIVATED_STATUS = NOT_ENABLED
ALWAYS_ANSWERED = frozenset({"DescribeAccountKmsStatus", "DescribeRegions"})
READS = frozenset(
    {"DescribeKey", "ListKeys", "ListAliases", "ListAliasesByKeyId", "ListResourceTags"}
    | {"ListKmsInstances", "GetKmsInstance", "GetKmsInstanceQuotaInfos"}
)
_STOPPED_CODES = {IN_DEBT: "Forbidden.KmsInDebt", SUSPENDED: "Forbidden.KmsSuspended"}


def status(tx: Transaction) -> str:
    found = tx.get_meta(_STATUS_KEY, "") or ""
    if found in STATUSES:
        return found
    return ENABLED if tx.get_meta(_META_KEY, "1") != "0" else NOT_ENABLED


def set_status(tx: Transaction, value: str) -> None:
    if value not in STATUSES:
        raise ValueError(f"KMS status must be one of {', '.join(STATUSES)}")
    tx.set_meta(_STATUS_KEY, value)
    tx.set_meta(_META_KEY, "0" if value == NOT_ENABLED else "1")


def is_activated(tx: Transaction) -> bool:
    """KMS is activated in the account (Enabled, InDebt or Suspended)."""
    return status(tx) != NOT_ENABLED


def set_activated(tx: Transaction, activated: bool) -> None:
    set_status(tx, ENABLED if activated else NOT_ENABLED)


def not_enabled() -> ApiError:
    return ApiError(403, "Forbidden.KmsServiceNotEnabled", "The KMS service is not enabled.")


def require_activated(tx: Transaction) -> None:
    """Raise the cloud's answer to a KMS use in an account where KMS is not activated."""
    if not is_activated(tx):
        raise not_enabled()


def check_action(tx: Transaction, action: str) -> None:
    """Raise what a KMS action answers in the account's status (see the module docstring)."""
    current = status(tx)
    if current == ENABLED or action in ALWAYS_ANSWERED:
        return
    if current == NOT_ENABLED:
        raise not_enabled()
    if action not in READS:
        raise ApiError(
            403, _STOPPED_CODES[current], f"KMS stops providing services: the account is {current}."
        )


def require_serving(tx: Transaction) -> None:
    """RDS about to use a key: KMS must be activated (403 Forbidden.KmsServiceNotEnabled) and
    serving (400 KmsApiError when InDebt or Suspended)."""
    current = status(tx)
    if current == NOT_ENABLED:
        raise not_enabled()
    if current != ENABLED:
        raise ApiError(
            400,
            "KmsApiError",
            f"KMS cannot serve the request: the account's KMS status is {current}.",
        )


def _get(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    with state.store.transaction() as tx:
        return {"activated": is_activated(tx), "status": status(tx)}


def _post(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    activated, wanted = body.get("activated"), body.get("status")
    if wanted is not None:
        if wanted not in STATUSES:
            raise AdminError(400, f"status must be one of {', '.join(STATUSES)}")
    elif isinstance(activated, bool):
        wanted = ENABLED if activated else NOT_ENABLED
    else:
        raise AdminError(400, "give status (Enabled|NotEnabled|InDebt|Suspended) or activated")
    with state.store.transaction() as tx:
        set_status(tx, wanted)
        return {"activated": is_activated(tx), "status": status(tx)}


register_admin_route("GET", "kms", _get)
register_admin_route("POST", "kms", _post)
