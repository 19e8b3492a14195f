"""What the cloud looked like when we read it. The cloud adapters return these models and
`state.observe` assembles them; they live in core, below both, so cloud/ never imports state/.
Only facts live here, in our own vocabulary, never SDK objects; every model is frozen and
JSON-serialisable so the fingerprint of a plan is a hash of this document."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from reconciler.core.rules import account_of_arn, is_service_key
from reconciler.core.unset import omitted_while


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ObservedRole(_Fact):
    name: str
    arn: str
    trust_document: dict
    """AssumeRolePolicyDocument, parsed."""


PolicyTypeName = Literal["Custom", "System"]
"""RAM's PolicyType: system (Alibaba's, read-only) and custom policies are separate namespaces."""


class ObservedPolicy(_Fact):
    name: str
    policy_type: PolicyTypeName
    """The namespace it was read in (GetPolicy's PolicyType)."""
    default_version: str
    document: dict
    """The default version's PolicyDocument, parsed."""
    version_count: int = 1


class ObservedRam(_Fact):
    role: ObservedRole | None = None
    """GetRole; None when the role does not exist."""
    policy: ObservedPolicy | None = None
    """The spec's policy, read in the spec's namespace (ram.policy_type); None when it does not
    exist there."""
    attached_policies: list[ObservedPolicy] = Field(default_factory=list)
    """Every policy attached to the role, of either type (ListPoliciesForRole), each with its
    default document (GetPolicy), sorted by (policy_type, name); empty when the role does not
    exist. The planner evaluates these to tell what the role may do."""

    @field_validator("attached_policies")
    @classmethod
    def _sorted(cls, value: list[ObservedPolicy]) -> list[ObservedPolicy]:
        # A set whose order the API chooses: sorted, so the fingerprint does not depend on it.
        return sorted(value, key=lambda p: (p.policy_type, p.name))

    def attached(self, name: str, policy_type: PolicyTypeName) -> bool:
        """Whether the role has the policy of that name and type attached."""
        return any(p.name == name and p.policy_type == policy_type for p in self.attached_policies)


KeyStateName = Literal["Enabled", "Disabled", "PendingDeletion", "PendingImport"]


class ObservedKey(_Fact):
    key_id: str
    arn: str
    region: str
    state: KeyStateName
    description: str = ""
    deletion_protection: bool = False
    rotation_enabled: bool = False
    rotation_interval_days: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    delete_date: str | None = None
    creator: str | None = None
    dkms_instance_id: str = omitted_while("")
    """DescribeKey's DKMSInstanceId: the KMS instance the key lives in; empty for the region's
    default key (docs/real-cloud.md, "KMS instances and default keys")."""

    @property
    def account_id(self) -> str:
        """The owning account, read from the ARN `acs:kms:<region>:<account>:key/<id>`.
        Raises ValueError when the ARN names none (an account is never guessed)."""
        account = account_of_arn(self.arn)
        if account is None:
            raise ValueError(f"the key's ARN {self.arn!r} names no account")
        return account


class ObservedKmsInstance(_Fact):
    """A KMS instance a spec key names: GetKmsInstance + GetKmsInstanceQuotaInfos (key)."""

    instance_id: str
    region: str
    status: str
    """Uninitialized, Connecting, Connected, Disconnected or Error: only Connected takes keys."""
    end_date: str | None = None
    """When the subscription expires (ISO 8601); None for pay-as-you-go with no end."""
    start_date: str | None = None
    charge_type: str = ""
    key_num: int
    """The most keys the instance holds (KeyNum; the key quota's ResourceQuota)."""
    keys_used: int
    """Keys in the instance now (the key quota's UsedQuantity)."""


class ObservedEncryption(_Fact):
    enabled: bool
    key_id: str | None = None
    """The KMS key id in use; for the service key, the id of alias/acs/rds."""
    key_type: Literal["ServiceKey", "CMK"] | None = None


class ObservedKeyUser(_Fact):
    """One entry of a key's census (DescribeKmsAssociateResources)."""

    instance_id: str
    engine: str = ""
    used_by: str = ""
    """DiskEncryption or TDE."""
    status: str = ""


class ObservedBackup(_Fact):
    """One backup set not expired (DescribeBackups): the disk key it was taken with."""

    backup_id: str
    instance_id: str
    key_id: str | None
    """The KMS key the set is encrypted with (its `Encryption`); None: not encrypted."""
    expires: str | None = None
    """ExpectExpireTime (UTC, ISO 8601); None: kept until deleted by hand."""


class ObservedTask(_Fact):
    """A task-center entry not finished yet (DescribeHistoryTasks): Scheduled, Running or
    Waiting."""

    task_id: str
    instance_id: str
    status: str
    task_type: str = ""
    start_time: str | None = None
    progress: float | None = None
    encryption_target: str | None = None
    """The ConfigValue an encryption change sets (ServiceKey, a key id, disabled); None when
    the task is not an encryption change, or when `target_unread`."""
    target_unread: bool = False
    """The task may be an encryption change, but the task center does not say to which value
    (TaskDetail absent, garbled, or an encryptionKey change without its ConfigValue). The
    planner refuses the instance rather than guess (fail closed)."""


DEDICATED = "d"


def class_type_from_code(class_code: str) -> str | None:
    """DBInstanceClassType as the class code's family states it, or None when the family is
    not one we know: `x...` (pg.x4.large.2c) dedicated `d`, `n...` (pg.n2.2c.1m, Yitian
    pg.n2e.*) general-purpose `x`, `s...` (pg.s2.large, rds.pg.s1.small) shared `s`. The
    family is the part after the engine prefix (`pg.` or `rds.pg.`)."""
    parts = class_code.lower().split(".")
    if parts[:1] == ["rds"]:
        parts = parts[1:]
    family = parts[1] if len(parts) > 2 else ""
    if family.startswith("x"):
        return DEDICATED
    if family.startswith("n"):
        return "x"
    if family.startswith("s"):
        return "s"
    return None


class ObservedTde(_Fact):
    """DescribeDBInstanceTDE as read (docs/real-cloud.md, "TDE and the key list")."""

    enabled: bool
    mode: str | None = None
    """TDEMode: Aliyun_Generate_Key (RDS's key) or Customer_Provided_Key (a KMS key)."""
    key_id: str | None = None
    """EncryptionKey: the KMS key TDE uses, when the answer names one."""


class ObservedInstance(_Fact):
    instance_id: str
    region: str
    engine: str
    engine_version: str = ""
    category: str
    class_code: str
    class_type: str | None = None
    """DBInstanceClassType (d dedicated, x general-purpose, s shared) as read, else as the
    class code states it (class_type_from_code); None when neither says."""
    storage_type: str
    status: str
    lock_mode: str = "Unlock"
    maintain_time: str | None = None
    managed: bool
    """True when the spec names this instance."""
    encryption: ObservedEncryption | None = None
    """None when not read (unmanaged instances). Observe reads it for every managed instance,
    or fails; the planner refuses a managed instance without it rather than guess."""
    tde: ObservedTde | None = omitted_while(None)
    """None when not read: observe reads it only for instances whose spec sets `tde`."""
    kernel_version: str = omitted_while("")
    """CurrentKernelVersion (the minor engine version, e.g. rds_postgres_1400_20221030), where
    DescribeDBInstanceAttribute was read; "" when not read."""
    read_only_ids: list[str] = omitted_while(default_factory=list)
    """The read-only instances attached to this one (DescribeDBInstanceAttribute's
    ReadOnlyDBInstanceIds), where the attribute was read."""


KMS_NOT_SERVING = frozenset({"InDebt", "Suspended"})
"""DescribeAccountKmsStatus values of an account whose KMS is activated but not serving."""


class ObservedState(_Fact):
    account_id: str | None = None
    """Account of the credentials, from the service key's ARN; None when unknown."""
    kms_activated: bool = True
    """False when KMS is not activated in the account: every KMS write and every encryption
    change that needs a key is refused (KmsNotActivated)."""
    kms_status: str = "Enabled"
    """DescribeAccountKmsStatus as documented: Enabled, NotEnabled, InDebt (the account is
    overdue and KMS stops providing services: disks on a KMS key cannot be decrypted) or
    Suspended. InDebt and Suspended refuse every change that needs KMS (KmsInDebt, distinct
    from KmsNotActivated) and report the instances at risk (a plan warning, a critical drift
    item); see `kms_serving`."""

    @property
    def kms_serving(self) -> bool:
        """False while KMS is activated but stops providing services (InDebt, Suspended)."""
        return self.kms_status not in KMS_NOT_SERVING

    ram: ObservedRam | None = None
    """None when the spec leaves RAM alone, so it was not read. If spec.effective_ram() is set
    and this is None, the planner takes the role, policy and attachment as missing."""
    keys: dict[str, ObservedKey | None] = Field(default_factory=dict)
    """Spec keys by logical name; None when the alias does not exist."""
    keys_by_id: dict[str, ObservedKey | None] = Field(default_factory=dict)
    """Keys the spec names by literal key id, and keys instances use; None when not found. The
    planner needs a literal key here (state, region, the RDS tag) or refuses it as KeyNotUsable."""
    service_keys: dict[str, str] = Field(default_factory=dict)
    """Region -> key id of alias/acs/rds, so an instance on it is recognised."""

    def on_service_key(self, instance: ObservedInstance) -> bool:
        """True when the instance's disks are encrypted with its region's RDS service key."""
        enc = instance.encryption
        if enc is None or not enc.enabled:
            return False
        return is_service_key(enc.key_id, enc.key_type, self.service_keys.get(instance.region))

    instances: dict[str, ObservedInstance] = Field(default_factory=dict)
    """Every instance read, managed or not, by id. A declared one missing here does not exist."""
    regions_listed: list[str] = Field(default_factory=list)
    """Regions whose instance list was read in full (so absence there means not found)."""
    key_users: dict[str, list[ObservedKeyUser]] = Field(default_factory=dict)
    """Key id -> its census, for every key the spec disables or schedules for deletion. A key
    missing here was not counted, so the planner may not take it as unused."""
    tasks: list[ObservedTask] = Field(default_factory=list)
    """Unfinished task-center entries of the regions in `task_regions`, sorted."""
    task_regions: list[str] = Field(default_factory=list)
    """Regions whose pending tasks were read in full."""
    backups: dict[str, list[ObservedBackup]] = Field(default_factory=dict)
    """Instance id -> its backup sets not expired (DescribeBackups, every page), for every
    instance of `backup_regions` (any engine, managed or not) and every managed instance moving
    off a CMK. An instance missing here was not read."""
    backup_regions: list[str] = Field(default_factory=list)
    """Regions whose every instance's backup sets were read (those of a key the spec disables
    or deletes): only there may a key be taken as needed by no backup set."""
    kms_instances: dict[str, ObservedKmsInstance | None] = Field(default_factory=dict)
    """The KMS instances the spec's keys name, by id; None when GetKmsInstance says there is
    none. An instance missing here was not read (the planner refuses rather than assume)."""
    read_at: str | None = None
    """When the reads ran (UTC, 2026-01-02T03:04:05Z): the planner's "now" for dates (a KMS
    instance's EndDate). Not part of the fingerprint: a time is not a fact of the cloud."""

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of every fact the plan read.

        Canonical: mapping keys sorted, and every list of strings (aliases, attached policies,
        listed regions, a policy's Action list) sorted, because those are sets whose order
        depends on the API or on which concurrent read finished first: the same cloud must
        give the same fingerprint, or a saved plan would look stale for nothing."""
        # kms_status adds a fact only when KMS is activated but not serving: otherwise it says
        # what kms_activated says, and fingerprints stay those of states read before it existed.
        redundant = {"kms_status"} if self.kms_serving else set()
        # Backups add facts only where they were read (a key retired, an instance moving off a
        # CMK): other fingerprints stay those of states read before backups were.
        redundant |= {f for f in ("backups", "backup_regions") if not getattr(self, f)}
        redundant |= {"read_at"} | (set() if self.kms_instances else {"kms_instances"})
        return canonical_sha256(self.model_dump(mode="json", exclude=redundant), fresh=True)


def canonical_sha256(document: Any, *, fresh: bool = False) -> str:
    """`sha256:` + the sha256 of the canonical JSON of `document` (keys sorted, lists of
    strings sorted). `fresh`: the document is a new dump nobody else holds (model_dump makes
    new dicts and lists), so its lists are sorted where they lie instead of in a copy."""
    document = canonical_in_place(document) if fresh else canonical(document)
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


_CONTAINERS = (dict, list)


def canonical(value: Any) -> Any:
    """A copy of `value` with its lists of strings sorted (they are sets whose order depends on
    the API), recursively; `value` is left as it was."""
    if isinstance(value, dict):
        return {k: canonical(v) if isinstance(v, _CONTAINERS) else v for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical(v) if isinstance(v, _CONTAINERS) else v for v in value]
        return sorted(items) if all(isinstance(v, str) for v in items) else items
    return value


def canonical_in_place(value: Any) -> Any:
    """canonical(value) without the copy: every list of strings in `value` sorted where it
    lies. Only for a document nobody else holds (a fresh model_dump); a digest of a fingerprint
    of 10,000 instances spends most of its time copying otherwise."""
    if isinstance(value, dict):
        for item in value.values():
            if isinstance(item, _CONTAINERS):
                canonical_in_place(item)
    elif isinstance(value, list):
        strings = True
        for item in value:
            if isinstance(item, _CONTAINERS):
                canonical_in_place(item)
                strings = False
            elif not isinstance(item, str):
                strings = False
        if strings:
            value.sort()
    return value
