"""Whether KMS is activated in the emulated account (default: activated).

Kept in the store's ``meta`` table, so it survives a restart of a file-backed emulator. Set by a
seed (top-level ``kms: {activated: false}``) or the admin API:

    POST /_emulator/kms {"activated": false}   -> {"activated": false}
    GET  /_emulator/kms                        -> {"activated": true}

What a non-activated account answers (reference: KMS error table, 403
``Forbidden.KmsServiceNotEnabled``):

- ``DescribeAccountKmsStatus`` answers ``{"AccountStatus": "Disabled"}``. The cloud documents
  only ``Enabled``; the exact value for an account without KMS is undocumented, so
  ``Disabled`` is the emulator's choice (clients must treat anything but ``Enabled`` as off).
- ``DescribeRegions`` still answers: it lists where KMS is offered, not the account's keys
  (the emulator's choice; undocumented).
- Every other KMS action answers 403 ``Forbidden.KmsServiceNotEnabled``
  "The KMS service is not enabled."
- RDS ``CreateDBInstance``/``ModifyDBInstanceConfig`` asking for disk encryption (service key
  or CMK) answer the same 403 ``Forbidden.KmsServiceNotEnabled``: RDS passes KMS's answer
  through, as it does ``Forbidden.KeyNotFound``. The real RDS code is undocumented (reference
  "Still unknown"); the emulator's choice. Turning encryption off still works.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.admin import AdminError, register_admin_route
from reconciler.emulator.errors import ApiError
from reconciler.emulator.runtime import EmulatorState
from reconciler.emulator.store import Transaction

_META_KEY = "kms_activated"
NOT_ACTIVATED_STATUS = "Disabled"
ALWAYS_ANSWERED = frozenset({"DescribeAccountKmsStatus", "DescribeRegions"})


def is_activated(tx: Transaction) -> bool:
    return tx.get_meta(_META_KEY, "1") != "0"


def set_activated(tx: Transaction, activated: bool) -> None:
    tx.set_meta(_META_KEY, "1" if activated else "0")


def not_enabled() -> ApiError:
    return ApiError(403, "Forbidden.KmsServiceNotEnabled", "The KMS service is not enabled.")


def require_activated(tx: Transaction) -> None:
    """Raise the cloud's answer to a KMS use in an account where KMS is not activated."""
    if not is_activated(tx):
        raise not_enabled()


def _get(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    with state.store.transaction() as tx:
        return {"activated": is_activated(tx)}


def _post(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    activated = body.get("activated")
    if not isinstance(activated, bool):
        raise AdminError(400, "activated is a required boolean")
    with state.store.transaction() as tx:
        set_activated(tx, activated)
    return {"activated": activated}


register_admin_route("GET", "kms", _get)
register_admin_route("POST", "kms", _post)
