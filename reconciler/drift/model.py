"""The DriftReport: frozen data, what every drift format renders (docs/drift-format.md).

Built by `drift.report.build_drift(spec, observed)`, pure. Items are sorted most severe first,
then by address, so the same cloud always gives the same report; the only time in it is the
observation's own (`run.read_at`), never the clock's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler.core.unset import omitted_while
from reconciler.plan.model import FieldChange, ShardInfo

FORMAT_VERSION = "2"
"""2 (issue 20): `run` (when, account, regions, tool version, spec digest), `controls` per item,
unmanaged unencrypted instances `medium` by default."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Kind(StrEnum):
    """What sort of difference an item is."""

    CHANGED = "changed"
    """The resource exists but differs from the spec (what `plan` would change)."""
    MISSING = "missing"
    """The spec declares it and the cloud does not have it."""
    UNMANAGED = "unmanaged"
    """A PostgreSQL instance the spec does not name (never changed; listed for coverage)."""
    AT_RISK = "at-risk"
    """Nothing to change in the spec's terms, but RDS is about to fail or already fails: an
    instance locked or on a key it can no longer use, RAM that no longer lets RDS use keys."""


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical ... 4 for info: sort key, most severe first."""
        return list(Severity).index(self)


class Control(_Frozen):
    """A compliance control a finding is evidence for (drift/controls.py)."""

    framework: str
    """Who defines it: `CIS Alibaba Cloud Foundations Benchmark v1.0.0`, `Alibaba Cloud Config`
    (managed rule), `infraguard` (Alibaba's policy-as-code rules)."""
    id: str
    """The item number or rule id, as the framework spells it."""
    title: str


class DriftItem(_Frozen):
    """One address that differs from the spec, or is at risk, or is not in it."""

    address: str
    """The plan's address (`kms_key.<name>`, `rds_encryption.<instance id>`, `ram_role.<name>`,
    `ram_policy.<name>`, `ram_attachment.<role>/<policy>`)."""
    kind: Kind
    severity: Severity
    field_changes: list[FieldChange] = Field(default_factory=list)
    """Sorted by path; `before` is what the cloud has, `after` what the spec wants (as in a
    plan: what apply would make it). Empty for unmanaged and most at-risk items."""
    message: str
    """What is wrong and what to do, for humans. Never parse it."""
    region: str | None = None
    """Region of the resource; null for RAM (global)."""
    location: str | None = None
    """`file:line:col` of the resource in the spec; null when the spec does not name it."""
    controls: list[Control] = Field(default_factory=list)
    """The controls this address's configuration evidences (empty where none is known)."""
    via: str | None = omitted_while(None)
    """`fleets.<name>` when a fleet's selector brought the instance in (README, "Fleets
    (selectors)"); absent otherwise."""


class RegionCoverage(_Frozen):
    """Disk encryption of the PostgreSQL instances of one region, as read."""

    instances: int = 0
    encrypted: int = 0
    """service_key + cmk."""
    service_key: int = 0
    cmk: int = 0
    not_encrypted: int = 0
    not_read: int = 0
    """Instances whose encryption was not read (none, when drift reads every instance)."""
    managed: int = 0
    """Instances the spec names."""
    disk_only: int = 0
    """Disk encrypted, TDE off (both read). TDE is read where the spec sets `tde`."""
    tde_only: int = 0
    """TDE on, disk not encrypted."""
    disk_and_tde: int = 0
    """Disk encrypted and TDE on."""
    neither: int = 0
    """Disk not encrypted and TDE off."""
    tde_not_read: int = 0
    """Instances whose TDE (or disk encryption) was not read: not in the four above."""


class UnencryptedInstance(_Frozen):
    instance_id: str
    region: str
    managed: bool


class Coverage(RegionCoverage):
    """Totals over every region read, per region, and the unencrypted instances by id."""

    regions: dict[str, RegionCoverage] = Field(default_factory=dict)
    unencrypted: list[UnencryptedInstance] = Field(default_factory=list)
    """Sorted by region, then id."""


class Summary(_Frozen):
    items: int = 0
    """Items reported (ignored ones not counted)."""
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0
    changed: int = 0
    missing: int = 0
    unmanaged: int = 0
    at_risk: int = 0
    ignored: int = 0
    """Items silenced by `defaults.ignore`, left out of everything above."""
    drift: bool = False
    """True when any item other than an unmanaged instance is reported (exit 2). With
    `--strict`, unmanaged instances count too: see DriftReport.drifted."""


class IgnoredItem(_Frozen):
    address: str
    kind: Kind
    severity: Severity
    glob: str
    """The first `defaults.ignore` pattern that matched the address."""


class RegionsScope(StrEnum):
    """Which regions the coverage read."""

    ALL = "all"
    """Every region the account has (RDS DescribeRegions)."""
    NARROWED = "narrowed"
    """Those `--region` named, and the spec's own."""
    SPEC = "spec"
    """The spec's regions only: an account's declared `regions:` (README, "Several
    accounts"), or a report built without the account's list (the golden tests)."""


class RunContext(_Frozen):
    """What the caller knows of a run that the observation does not (app/drift.py)."""

    tool_version: str = "unknown"
    spec_digest: str | None = None
    regions_scope: RegionsScope = RegionsScope.SPEC


class RunInfo(RunContext):
    """When, which account, which regions, which tool and which spec: what an auditor asks
    first (docs/drift-format.md, `run`)."""

    read_at: str | None = None
    """When the cloud was read (UTC ISO 8601, the observation's time); null when unknown."""
    account_id: str = "unknown"
    """The account the credentials belong to (from the RDS service key's ARN)."""
    regions_read: list[str] = Field(default_factory=list)
    """Every region whose PostgreSQL instances were all listed, sorted."""


class DriftReport(_Frozen):
    format_version: Literal["2"] = FORMAT_VERSION
    run: RunInfo = Field(default_factory=RunInfo)
    summary: Summary = Field(default_factory=Summary)
    items: list[DriftItem] = Field(default_factory=list)
    """Most severe first, then by address, then kind."""
    coverage: Coverage = Field(default_factory=Coverage)
    checked: list[str] = Field(default_factory=list)
    """Every address the spec declares (in sync or not), sorted: a JUnit test case each."""
    ignored: list[IgnoredItem] = Field(default_factory=list)
    """What `defaults.ignore` silenced, sorted by address."""
    spec_files: list[str] = Field(default_factory=list)
    """The spec files read, in load order (SARIF locates unmanaged instances at the first)."""
    shard: ShardInfo | None = omitted_while(None)
    """Set by `drift --shard I/N`: the report covers only these units (docs/drift-format.md)."""

    def drifted(self, *, strict: bool = False) -> bool:
        """Drift for the exit code: any item but an unmanaged instance; with `strict`, any."""
        return bool(self.items) if strict else self.summary.drift


def drift_to_dict(report: DriftReport) -> dict[str, Any]:
    """The JSON document (docs/drift-format.md) as plain data, keys in a fixed order."""
    return report.model_dump(mode="json")
