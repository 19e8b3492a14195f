"""A drift finding: one difference or risk at one address, with its kind and severity. Kept
apart from drift/findings.py so that each resource kind's drift rules (reconciler/kinds) build
findings without importing the engine that asks them."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.drift.model import Kind, Severity
from reconciler.plan.model import FieldChange


@dataclass(frozen=True)
class Finding:
    address: str
    kind: Kind
    severity: Severity
    message: str
    field_changes: tuple[FieldChange, ...] = field(default=())
    region: str | None = None


FIX = "Run `reconciler plan` to see the fix, or add the address to defaults.ignore."
