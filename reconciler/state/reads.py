"""What the observe engine (state/observe.py) and the kinds' reads (kinds/<kind>/read.py) share:
the scope of a reading, the facts the answers are recorded in, and the `Reader` a kind submits
its reads to. Kept apart from the engine so that a kind's reads do not import the engine that
imports the kinds (no import cycle: tests/unit/test_architecture.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.core.facts import (
    ObservedBackup,
    ObservedEncryption,
    ObservedKey,
    ObservedKeyUser,
    ObservedKmsInstance,
    ObservedRam,
    ObservedTask,
)
from reconciler.core.rules import key_type_of
from reconciler.spec.models import RamSpec, Spec

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.cloud.clients import CloudClients
    from reconciler.cloud.kms import ServiceKeyFacts


@dataclass(frozen=True)
class ReadScope:
    """What observe reads: the spec's needs, plus what drift and import need beyond them.

    Each extra stays within the call bound (README, "Measured") for what it reads: N +
    ceil(N/100) + K + 10 calls, N being the instances whose encryption is read and K the keys."""

    spec: Spec = field(default_factory=Spec)
    regions: tuple[str, ...] = ()
    """Regions listed in full besides the spec's (import reads a region with no spec at all)."""
    all_instances: bool = False
    """Read the encryption of every PostgreSQL instance listed, managed or not (drift's
    coverage, import); the spec's regions are then all listed, not only those with managed
    instances."""
    all_engines: bool = False
    """List every engine, not only PostgreSQL (import names the others in comments)."""
    keys_in_use: bool = False
    """Read the CMK of every instance whose encryption is read, aliases included (import names
    keys by alias); without it, only the keys managed instances use."""
    ram: RamSpec | None = None
    """Read this RAM role and policy even where the spec leaves RAM alone (import)."""
    tde_of_every_instance: bool = False
    """Read the TDE (DescribeDBInstanceTDE) of every PostgreSQL instance whose encryption is
    read, not only of those whose spec sets `tde` (import writes `tde:`): one call more per
    instance (kinds/rds_tde/read.py)."""
    account_reads: bool = True
    """Read what is account-wide (RAM, DescribeAccountKmsStatus). False: one region of several
    read in worker processes, whose account unit reads them (state/units.py)."""

    @classmethod
    def of(cls, scope: Spec | ReadScope) -> ReadScope:
        return scope if isinstance(scope, ReadScope) else cls(spec=scope)

    def listed_regions(self, managed_regions: set[str]) -> list[str]:
        found = set(managed_regions) | set(self.regions)
        if self.all_instances:
            found |= set(self.spec.regions())
        return sorted(found)

    def effective_ram(self) -> RamSpec | None:
        if not self.account_reads:
            return None
        return self.spec.effective_ram() or self.ram

    def managed(self) -> dict[str, str]:
        """Instance id -> region of every instance the spec declares."""
        return {i: self.spec.instance_region(i) for i in self.spec.instances}


@dataclass
class Facts:
    """Mutable scratch space the answers are recorded in, only touched by continuations (which
    run one at a time, under the engine's lock)."""

    items: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    encryption: dict[str, ObservedEncryption | None] = field(default_factory=dict)
    service_keys: dict[str, ServiceKeyFacts] = field(default_factory=dict)
    keys: dict[str, ObservedKey | None] = field(default_factory=dict)
    keys_by_id: dict[str, ObservedKey | None] = field(default_factory=dict)
    regions_listed: set[str] = field(default_factory=set)
    pages_left: dict[str, int] = field(default_factory=dict)
    pages_asked: dict[str, int] = field(default_factory=dict)
    kms_status: bool = True
    kms_account_status: str = "Enabled"
    ram: ObservedRam | None = None
    key_users: dict[str, list[ObservedKeyUser]] = field(default_factory=dict)
    tasks: dict[str, ObservedTask] = field(default_factory=dict)
    task_pages_left: dict[str, int] = field(default_factory=dict)
    task_regions: set[str] = field(default_factory=set)
    absent_keys: dict[str, list[str]] = field(default_factory=dict)
    """Region -> the spec keys whose alias does not exist there (adoption candidates)."""
    backups: dict[str, list[ObservedBackup]] = field(default_factory=dict)
    """Instance id -> its backup sets, once every page is in (kinds/kms_key/backups.py)."""
    backup_regions: set[str] = field(default_factory=set)
    """Regions whose every instance's backup sets are being read."""
    instance_extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Instance id -> fields of its ObservedInstance that another kind's reads found
    (kinds/rds_tde/read.py: `tde`, `kernel_version`, `read_only_ids`)."""
    kms_instances: dict[str, ObservedKmsInstance | None] = field(default_factory=dict)
    """The KMS instances the spec's keys name (None: GetKmsInstance says there is none)."""

    def service_key_ids(self) -> dict[str, str]:
        return {r: f.key_id for r, f in sorted(self.service_keys.items()) if f.key_id}

    def settled_encryption(self, instance_id: str) -> ObservedEncryption | None:
        """The encryption read, with key_type settled against the region's service key."""
        enc = self.encryption.get(instance_id)
        if enc is None or not enc.enabled or enc.key_type is not None:
            return enc
        region = self.items[instance_id][0]
        key_type = key_type_of(enc.key_id, self.service_key_ids().get(region))
        return enc.model_copy(update={"key_type": key_type})


class Reader(Protocol):
    """What a kind's reads get from the engine: where to record answers, whom to call, and
    `submit`, which runs `fn(*args)` on the pool and then `then(answer)` as a continuation (one
    at a time; it may record facts and submit more reads). A failed call stops the reading."""

    facts: Facts
    clients: CloudClients
    now: datetime
    """Bounds the task-center query."""

    def submit(self, then: Callable[[Any], None], fn: Callable[..., Any], *args: Any) -> None: ...
