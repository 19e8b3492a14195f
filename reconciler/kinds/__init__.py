"""The registry of resource kinds, in apply order (RAM, then keys, then instances' disks, then
their TDE): the only place that maps an address prefix to its kind (docs/architecture.md, "How
to add a kind")."""

from __future__ import annotations

from reconciler.errors import ReconcilerError
from reconciler.kinds.base import ResourceKind
from reconciler.kinds.kms_key import KIND as KMS_KEY
from reconciler.kinds.ram import KIND as RAM
from reconciler.kinds.rds_encryption import KIND as RDS_ENCRYPTION
from reconciler.kinds.rds_tde import KIND as RDS_TDE

KINDS: tuple[ResourceKind, ...] = (RAM, KMS_KEY, RDS_ENCRYPTION, RDS_TDE)
"""Every kind, in apply order."""

PREFIXES: tuple[str, ...] = tuple(p for kind in KINDS for p in kind.prefixes)
"""Every address prefix, in apply order."""

_BY_PREFIX = {prefix: kind for kind in KINDS for prefix in kind.prefixes}


class UnknownKindError(ReconcilerError, ValueError):
    """An address whose prefix no kind owns."""


def prefix_of(address: str) -> str:
    """The part of `address` before its first `.` (the resource type), past an account's
    `<account>/` (docs/plan-format.md, "Addresses with an account"; account names hold no `.`
    and no address's type holds a `/`)."""
    account, slash, rest = address.partition("/")
    if slash and "." not in account:
        address = rest
    return address.partition(".")[0]


def find_kind(address: str) -> ResourceKind | None:
    """The kind that owns `address`; None when no kind does."""
    return _BY_PREFIX.get(prefix_of(address))


def kind_of(address: str) -> ResourceKind:
    """The kind that owns `address`. Raises UnknownKindError when no kind does."""
    kind = find_kind(address)
    if kind is None:
        raise UnknownKindError(f"no resource kind owns address {address!r}")
    return kind


def apply_rank(address: str) -> int:
    """The position of the address's prefix in apply order; after every kind when unknown."""
    prefix = prefix_of(address)
    return PREFIXES.index(prefix) if prefix in PREFIXES else len(PREFIXES)
