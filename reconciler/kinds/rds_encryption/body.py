"""The body of an instance change (kinds/body.py): its `before` (the encryption as read) and
its `after` (the encryption wanted, with every parameter ModifyDBInstanceConfig needs), as
kinds/rds_encryption/plan.py writes them (docs/plan-format.md)."""

from __future__ import annotations

from typing import Literal

from reconciler.kinds.body import ChangeBody


class EncryptionView(ChangeBody):
    key: str
    """`disabled`, `ServiceKey`, a key id, or `(known after apply)` for a key this plan makes."""


class InstanceBefore(ChangeBody):
    encryption: EncryptionView


class InstanceAfter(ChangeBody):
    encryption: EncryptionView
    instance_id: str
    config_name: Literal["encryptionKey"]
    config_value: str
    """What ModifyDBInstanceConfig sets; `(known after apply)` when `key_address` is created
    by this plan (its id is then a reference in the operation's parameters)."""
    key_address: str | None
    """`kms_key.<name>` when the spec names the key; None for off, the service key, or a key
    id written in the spec."""
    switch_time_mode: Literal["MaintainTime", "Immediate"]
    maintenance_window: str | None
    """The instance's window as listed, for a scheduled change; None otherwise."""

    @property
    def key_name(self) -> str | None:
        """The spec key's logical name (`kms_key.<name>`'s name); None when not a spec key."""
        return self.key_address.partition(".")[2] if self.key_address else None
