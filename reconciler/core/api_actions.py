"""An API action the tool may call, as a kind (reconciler/kinds/<kind>/actions.py) or the
account (reconciler/permissions.py) declares it; permissions.py derives the policy documents
and docs/permissions.md from every declaration. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover - types only (core imports nothing of the package)
    from reconciler.core.ops import Op

Kind = Literal["read", "write"]

SERVICES = ("rds", "kms", "ram")
"""The order of the statements in a document."""

READERS = frozenset({"plan", "drift", "import", "apply"})
"""Every command that reads the cloud."""
OBSERVERS = frozenset({"plan", "drift", "apply"})
"""Reads every observing command makes (import reads no task center and no key census)."""
APPLY = frozenset({"apply"})


@dataclass(frozen=True)
class ApiAction:
    """One API action the tool may call."""

    name: str
    """`<service>:<Action>`: the RAM action, also what the emulator's call counts name. A
    write apply makes is named by its `Op` member (the same string)."""
    kind: Kind
    commands: frozenset[str]
    """The commands that may call it (not all of them do on every run)."""
    why: str
    """When the tool calls it; shown in docs/permissions.md."""
    resource: str
    """The resource RAM checks, in Alibaba's ARN format (Markdown, for the docs); `*` where the
    action has no resource-level permission or where the documentation does not say which."""
    rank: int
    """Its place among the actions of its service and kind (reads, then writes): the
    documents and docs/permissions.md list them by (kind, service, rank)."""
    implied: bool = False
    """Never called by the tool itself, but perhaps checked by RAM on its behalf (the reason is
    in `why`); listed so a run cannot fail halfway for want of it."""

    @property
    def service(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def order(self) -> tuple[int, int, int]:
        """Reads before writes, then by service (SERVICES), then by rank."""
        return (0 if self.kind == "read" else 1, SERVICES.index(self.service), self.rank)


def write(op: Op, why: str, resource: str, rank: int) -> ApiAction:
    """The write of a plan's operation `op`: only apply makes it."""
    return ApiAction(op, "write", APPLY, why, resource, rank)
