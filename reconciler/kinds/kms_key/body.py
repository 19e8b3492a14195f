"""The body of a key change (kinds/body.py): the managed settings as read (`before`) and as
the spec wants them (`after`, with the ids the operations refer to), as kinds/kms_key/plan.py
writes them (docs/plan-format.md). A key on its way to deletion carries only its alias, state
and protection; description and rotation appear only when the spec manages them."""

from __future__ import annotations

from typing import Literal

from reconciler.kinds.body import ChangeBody

KeyStateName = Literal["enabled", "disabled", "pending-deletion"]


class Rotation(ChangeBody):
    enabled: bool
    interval_days: int | None = None
    """Only with `enabled` (an observed key may not have read one: None)."""


class KeyBefore(ChangeBody):
    alias: str | None
    """None for an adopted key with no alias yet."""
    state: str
    """The observed state's name (an unexpected one stays as read)."""
    deletion_protection: bool
    tags: dict[str, str] | None = None
    description: str | None = None
    rotation: Rotation | None = None
    key_id: str


class KeyAfter(ChangeBody):
    alias: str
    state: KeyStateName
    deletion_protection: bool
    tags: dict[str, str] | None = None
    description: str | None = None
    rotation: Rotation | None = None
    key_id: str | None = None
    """Absent for a create: the id is known after apply."""
    key_arn: str | None = None
    pending_window_days: int | None = None
    """Only for a scheduled deletion."""
    kms_instance: str | None = None
    """Only for a create in a KMS instance: CreateKey's DKMSInstanceId."""
