"""What one kind's plan decides that a later kind's plan (or the engine's cross-kind guards)
reads. The engine passes it from kind to kind in apply order (plan/planner.py), so no kind
imports another: RAM sets `ram_tail`, keys set `keys`, instances read both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.spec.models import KeyState


@dataclass(frozen=True)
class KeyOutcome:
    """What the planner decided for one spec key; read when planning instances."""

    name: str
    address: str
    region: str
    key_id: str | None
    """The observed key id; None when the key does not exist yet."""
    desired_state: KeyState
    forward: bool = False
    """A change exists that instances using the key must wait for (create, tag, enable...)."""
    backward: bool = False
    """The change disables or schedules deletion: it waits for instances moving off the key."""
    reenables: bool = False
    """The change makes a disabled or pending-deletion key Enabled again."""
    refused: bool = False
    """The key itself is refused (no change planned), so no instance may move to it."""


@dataclass(frozen=True)
class PlanInputs:
    """The cross-kind outcomes so far; each kind's plan returns it, updated with its own."""

    ram_tail: str | None = None
    """The address of the last RAM change in the chain, which every key and CMK instance
    change depends on; None when there is none."""
    keys: Mapping[str, KeyOutcome] = field(default_factory=dict)
    """Every spec key's outcome, by spec name."""
