"""The spec language, version 1 (README, "The spec language"), as frozen pydantic models.

Field descriptions feed the JSON Schema (`reconciler schema`) and editor completion.
Cross-field rules that need the whole document (dangling key references, one resource in two
files) live in the loader, which knows where every node came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from reconciler.core.rules import RDS_ENCRYPTION_TAG as RDS_ENCRYPTION_TAG
from reconciler.core.rules import SERVICE_KEY_ALIAS as SERVICE_KEY_ALIAS
from reconciler.core.unset import omitted_while
from reconciler.spec.regions import REGIONS, region_problem

SERVICE_KEY = "service"
"""The key reference that means the RDS-managed service key `alias/acs/rds`."""


SERVICE_KEY_SPELLINGS = frozenset({SERVICE_KEY, "ServiceKey", SERVICE_KEY_ALIAS})
"""What means the service key in a key reference: ours, and Terraform's (alicloud_db_instance's
`encryption_key`) and RDS's ConfigValue `ServiceKey` and the key's own alias (docs/spec-format:
naming a key)."""

KEY_ARN_SHAPE = "acs:kms:<region>:<account>:key/<id>"


DEFAULT_ROLE = "AliyunRDSInstanceEncryptionDefaultRole"
DEFAULT_POLICY = "AliyunRDSInstanceEncryptionRolePolicy"

REGION_PATTERN = r"^[a-z]{2,3}(-[a-z0-9]+){1,3}$"
INSTANCE_ID_PATTERN = r"^pgm-[a-z0-9]{4,40}$"
ALIAS_PATTERN = r"^alias/[A-Za-z0-9_/-]{1,255}$"
KEY_ID_PATTERN = (
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|key-[a-z0-9]{8,})$"
)
ACCOUNT_PATTERN = r"^[0-9]{16}$"
ACCOUNT_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
"""An `accounts:` entry's name (README, "Several accounts"): it starts with a letter, so it is
never a 16-digit account id, and `defaults.account` can take either without ambiguity."""
ROLE_ARN_PATTERN = r"^acs:ram::[0-9]{16}:role/[A-Za-z0-9.@_-]{1,64}$"
ROLE_ARN_SHAPE = "acs:ram::<16-digit account>:role/<role name>"
ACCOUNT_OR_NAME_PATTERN = r"^([0-9]{16}|[a-z][a-z0-9_-]{0,31})$"
AccountName = Annotated[str, StringConstraints(pattern=ACCOUNT_NAME_PATTERN)]

KEY_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


def _known_region(region: str) -> str:
    problem = region_problem(region)
    if problem:
        raise ValueError(problem)
    return region


RegionId = Annotated[
    str,
    StringConstraints(pattern=REGION_PATTERN),
    AfterValidator(_known_region),
    WithJsonSchema({"type": "string", "enum": list(REGIONS)}),
]
"""A region id of reconciler/spec/regions.py. The pattern comes first so that a value of the
wrong shape (`Hangzhou`) is told what a region id looks like."""
InstanceId = Annotated[str, StringConstraints(pattern=INSTANCE_ID_PATTERN)]
KeyName = Annotated[str, StringConstraints(pattern=KEY_NAME_PATTERN)]
KMS_INSTANCE_ID_PATTERN = r"^kst-[A-Za-z0-9]{4,64}$"
KmsInstanceId = Annotated[str, StringConstraints(pattern=KMS_INSTANCE_ID_PATTERN)]
"""A KMS 3.0 instance id, e.g. kst-hzz62f5ba3dnpb6v8xxxx (docs/spec-format: kms_instance)."""

# Booleans and integers are strict so that pydantic accepts exactly what the JSON Schema accepts
# (lax mode would take "yes" or "365" as strings, which the schema, and editors, reject).


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class RestartPolicy(StrEnum):
    """How a change that restarts an instance is applied."""

    IMMEDIATE = "immediate"
    MAINTENANCE_WINDOW = "maintenance-window"


class KeyState(StrEnum):
    """The desired lifecycle state of a KMS key."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    PENDING_DELETION = "pending-deletion"


class KeyRef(_Model):
    key: Annotated[str, StringConstraints(min_length=1)]
    """`service` (the RDS service key; Terraform's `ServiceKey` and `alias/acs/rds` mean the
    same), a name under kms_keys, a KMS key id, its ARN `acs:kms:<region>:<account>:key/<id>`,
    or an alias `alias/...`."""

    @field_validator("key")
    @classmethod
    def _service_key_spellings(cls, key: str) -> str:
        return SERVICE_KEY if key in SERVICE_KEY_SPELLINGS else key


def _encryption_kind(value: Any) -> str:
    """Route a mapping to KeyRef and anything else to the `disabled` literal, so an error names
    one alternative instead of both."""
    return "reference" if isinstance(value, dict | KeyRef) else "disabled"


Encryption = Annotated[
    Annotated[KeyRef, Tag("reference")] | Annotated[Literal["disabled"], Tag("disabled")],
    Discriminator(_encryption_kind),
]


Tde = Annotated[
    Annotated[KeyRef, Tag("reference")] | Annotated[Literal["disabled"], Tag("disabled")],
    Discriminator(_encryption_kind),
]
"""Transparent data encryption (TDE) of an instance: {key: service | <kms_keys name> | <KMS key
id>}. One-way: once on, RDS cannot turn it off, so `disabled` is accepted only to be refused by
the plan where TDE is on (TdeCannotBeDisabled), never silently ignored."""


DriftSeverity = Literal["critical", "high", "medium", "low", "info"]
"""The severities of a drift item (docs/drift-format.md), as the spec may name them."""


class DriftDefaults(_Model):
    """How `reconciler drift` ranks what the spec does not claim (docs/drift-format.md)."""

    unmanaged_unencrypted: DriftSeverity = "medium"
    """Severity of a PostgreSQL instance the spec does not name whose disks are not encrypted
    (an encrypted one stays `info`)."""


class Defaults(_Model):
    region: RegionId = "cn-hangzhou"
    """Region of every key and instance that does not name its own, e.g. cn-hangzhou."""
    account: Annotated[str, StringConstraints(pattern=ACCOUNT_OR_NAME_PATTERN)] | None = None
    """Optional guard: the 16-digit Alibaba Cloud account id the credentials must belong to.
    With `accounts:`, the name of the account of every key and instance that names none."""
    restart: RestartPolicy = RestartPolicy.MAINTENANCE_WINDOW
    """How a restarting change is applied: immediate, or in the instance's maintenance window."""
    tde: Tde | None = omitted_while(None)
    """TDE of every instance that does not set its own; absent: TDE is not managed."""

    ignore: tuple[Annotated[str, StringConstraints(min_length=1, max_length=256)], ...] = Field(
        default=(), exclude=True
    )
    """Address globs (`*`, `?`, `[...]`, e.g. `kms_key.legacy-*` or `rds_encryption.*`) whose
    differences `reconciler drift` does not report; the report says how many it silenced. A
    known, accepted difference belongs here. plan honours it too, for the settings a
    lifecycle.ignore may name (a key's tags, description, rotation): a glob never switches a
    guard off, so a guarded difference is still planned."""
    # exclude=True: left out of the spec's canonical dump, so the plan's spec digest does not
    # move when only the ignore list does (a saved plan stays valid).
    kms_instance: KmsInstanceId | None = omitted_while(None)
    """The KMS instance (kst-...) of every key that does not name its own. Omitted: such a key
    is its region's default key, of which KMS keeps one per account and region."""
    drift: DriftDefaults = Field(default_factory=DriftDefaults, exclude=True)
    """How `reconciler drift` ranks findings the spec makes no claim about. Read by drift only
    (excluded from the canonical dump, like `ignore`: a saved plan stays valid)."""


class PolicyType(StrEnum):
    """Which RAM namespace the policy lives in: RAM keeps system and custom policies apart,
    so a custom policy may share the name of Alibaba's built-in one."""

    CUSTOM = "custom"
    SYSTEM = "system"


class ExtraPolicy(_Model):
    """A policy other than `ram.policy` that may stay attached to the role."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,128}$")]
    """The policy's name, e.g. AliyunKMSReadOnlyAccess."""
    type: PolicyType
    """custom or system: RAM keeps the two namespaces apart."""


def _the_rds_role(role: str) -> str:
    # "Authorize RDS to access KMS" names the one role RDS assumes (docs/real-cloud.md): a
    # role of another name would be created and never used, and every CMK change would fail.
    if role != DEFAULT_ROLE:
        raise ValueError(
            f"RDS only assumes {DEFAULT_ROLE} to use a customer master key, so the role "
            f"cannot be renamed: write role: {DEFAULT_ROLE} or leave ram.role out (a custom "
            "ram.policy name is allowed)"
        )
    return role


class RamSpec(_Model):
    manage: StrictBool = True
    """true: create and repair the role, policy and attachment. false: only verify them."""
    role: Annotated[
        str,
        AfterValidator(_the_rds_role),
        WithJsonSchema({"type": "string", "const": DEFAULT_ROLE}),
    ] = DEFAULT_ROLE
    """The RAM role RDS assumes to use KMS: always AliyunRDSInstanceEncryptionDefaultRole, the
    only role RDS assumes (any other name is a validation error)."""
    policy: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,128}$")] = DEFAULT_POLICY
    """The RAM policy attached to the role. Its name is free (the documented one by default):
    what counts is its document."""
    policy_type: PolicyType = PolicyType.CUSTOM
    """custom: the documented manual steps (the tool creates the policy and keeps its document).
    system: attach Alibaba Cloud's built-in system policy of that name, which the tool cannot
    change."""
    extra_policies: tuple[ExtraPolicy, ...] = omitted_while(())
    """Other policies allowed on the role. The role's attachments are exclusive: RDS assumes it
    for every CMK instance, so any other attached policy is planned for detach (manage: true)
    or refused as RamNotReady (manage: false)."""

    lifecycle: RamLifecycle | None = omitted_while(None)
    """Nothing of ram can be ignored (trust, policy and attachments are guarded)."""

    def keeps(self, name: str, policy_type: str) -> bool:
        """Whether ram.extra_policies allows the policy (`policy_type` in either spelling)."""
        wanted = (name, policy_type.lower())
        return any((p.name, p.type.value) == wanted for p in self.extra_policies)


class TagsMode(StrEnum):
    """Who owns a key's tags (README, "Tags on a key")."""

    EXACT = "exact"
    MERGE = "merge"


KEY_IGNORABLE = ("tags", "description", "rotation")
"""What `kms_keys.<name>.lifecycle.ignore` may name: settings whose ignoring cannot make a
guard unsafe. Never the alias, state, deletion protection or KMS instance, nor the RDS tag
(it stays enforced when `tags` is ignored)."""


def _ignorable(allowed: tuple[str, ...], guarded: str) -> Any:
    """An AfterValidator refusing, by name, every field `allowed` does not list."""

    def check(ignore: tuple[str, ...]) -> tuple[str, ...]:
        for field in ignore:
            if field not in allowed:
                can = f"what can be ignored here: {', '.join(allowed)}" if allowed else guarded
                raise ValueError(f"`{field}` cannot be ignored ({can})")
        return ignore

    return AfterValidator(check)


IgnoreList = tuple[Annotated[str, StringConstraints(min_length=1, max_length=64)], ...]


class KeyLifecycle(_Model):
    ignore: Annotated[
        IgnoreList,
        _ignorable(KEY_IGNORABLE, ""),
        WithJsonSchema({"type": "array", "items": {"enum": list(KEY_IGNORABLE)}}),
    ] = ()
    """Settings whose differences plan and drift leave alone: tags, description, rotation
    (the RDS tag stays enforced). An accepted difference belongs here."""


class InstanceLifecycle(_Model):
    ignore: Annotated[
        IgnoreList,
        _ignorable((), "nothing of an instance can be ignored: its encryption and TDE are guarded"),
        WithJsonSchema({"type": "array", "maxItems": 0}),
    ] = ()
    """Nothing of an instance can be ignored: its encryption and TDE are what the tool
    guards (the field exists so that trying says why)."""


class RamLifecycle(_Model):
    ignore: Annotated[
        IgnoreList,
        _ignorable(
            (),
            "nothing of ram can be ignored: the role's trust, its policy and its attachments "
            "are what RDS's use of a CMK rests on",
        ),
        WithJsonSchema({"type": "array", "maxItems": 0}),
    ] = ()
    """Nothing of ram can be ignored (the field exists so that trying says why)."""


class Rotation(_Model):
    enabled: StrictBool = True
    """Whether KMS rotates the key material automatically."""
    interval_days: Annotated[StrictInt, Field(ge=7, le=730)] = 365
    """Days between automatic rotations; KMS accepts 7 to 730."""


class KmsKeySpec(_Model):
    alias: Annotated[str, StringConstraints(pattern=ALIAS_PATTERN)]
    """How the key is found, e.g. alias/rds-prod. Created with CreateAlias. alias/acs/ is
    reserved for Alibaba Cloud services."""
    region: RegionId | None = None
    """Region of the key (KMS keys are regional). Defaults to defaults.region."""
    description: Annotated[str, StringConstraints(max_length=8192)] = ""
    """The key's description in KMS."""
    rotation: Rotation | None = None
    """Automatic rotation. Omitted: rotation is left as it is."""
    deletion_protection: StrictBool = False
    """Refuse ScheduleKeyDeletion while on."""
    state: KeyState = KeyState.ENABLED
    """enabled, disabled or pending-deletion. Disabling or deleting a key in use is refused."""
    tags: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=128)],
        Annotated[str, StringConstraints(max_length=256)],
    ] = Field(default_factory=dict)
    """Tags on the key. acs:rds:instance-encryption=true is always added."""
    tags_mode: TagsMode = omitted_while(TagsMode.EXACT)
    """exact (the default): the key ends up with exactly these tags, so another user tag is
    planned for removal (UntagResource). merge: these tags are added or updated, others are
    left alone. acs:rds:instance-encryption=true is enforced either way; acs: tags are never
    touched."""
    lifecycle: KeyLifecycle | None = omitted_while(None)
    """{ignore: [tags | description | rotation]}: differences plan and drift leave alone."""
    kms_instance: KmsInstanceId | None = omitted_while(None)
    """The KMS instance the key is created in (CreateKey's DKMSInstanceId), e.g.
    kst-hzz62f5ba3dnpb6v8xxxx. Omitted: defaults.kms_instance, else the region's default key
    (one per account and region). A key never moves between instances."""
    account: AccountName | None = omitted_while(None)
    """The `accounts:` entry the key lives in. Omitted: defaults.account."""
    default_key_rotation_purchased: StrictBool = omitted_while(False)
    """Only for a default key (no kms_instance): true says the paid rotation of the default key
    is purchased, so `rotation: {enabled: true}` may be planned. Without it, rotation of a
    default key is refused (DefaultKeyRotationNotPurchased)."""

    @field_validator("alias")
    @classmethod
    def _alias_not_reserved(cls, alias: str) -> str:
        if alias.lower().startswith("alias/acs/"):
            raise ValueError("aliases under alias/acs/ are reserved for Alibaba Cloud services")
        return alias

    def desired_tags(self) -> dict[str, str]:
        """The tags the key must carry: the user's plus the one RDS needs."""
        key, value = RDS_ENCRYPTION_TAG
        return {**self.tags, key: value}


class InstanceSpec(_Model):
    region: RegionId | None = None
    """Region of the instance. Defaults to defaults.region."""
    encryption: Encryption
    """{key: service | <kms_keys name> | <KMS key id>}, or `disabled` to turn encryption off."""
    restart: RestartPolicy | None = None
    """Override of defaults.restart for this instance."""
    tde: Tde | None = omitted_while(None)
    """TDE (one-way: it cannot be turned off once on). Absent: defaults.tde; both absent: TDE
    is not managed for this instance."""
    lifecycle: InstanceLifecycle | None = omitted_while(None)
    """Nothing of an instance can be ignored (its encryption and TDE are guarded)."""
    account: AccountName | None = omitted_while(None)
    """The `accounts:` entry the instance lives in. Omitted: defaults.account."""


class AccountSpec(_Model):
    """One Alibaba Cloud account the spec manages (README, "Several accounts"): reached by
    assuming `role_arn` with the base credentials, or with the credentials of `profile`."""

    role_arn: Annotated[str, StringConstraints(pattern=ROLE_ARN_PATTERN)] | None = None
    """The RAM role to assume (STS AssumeRole), acs:ram::<account id>:role/<name>; its trust
    policy must allow the base credentials (`reconciler permissions --account NAME`)."""
    profile: Annotated[str, StringConstraints(min_length=1)] | None = None
    """Instead of role_arn: the credentials profile (alibabacloud-credentials) of the account."""
    regions: tuple[RegionId, ...] = ()
    """The regions of the account drift and import read; its keys and instances too."""
    account_id: Annotated[str, StringConstraints(pattern=ACCOUNT_PATTERN)] | None = None
    """Optional guard: the 16-digit id the credentials must land in (checked before any read)."""

    @model_validator(mode="after")
    def _one_way_in(self) -> AccountSpec:
        if (self.role_arn is None) == (self.profile is None):
            raise ValueError("give exactly one of role_arn (assumed with STS) and profile")
        return self


FLEET_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
FleetName = Annotated[str, StringConstraints(pattern=FLEET_NAME_PATTERN)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
TagValue = Annotated[str, StringConstraints(max_length=128)]
MAX_SELECT_TAGS = 5
"""DescribeDBInstances' `Tags` filter takes at most 5 tags (docs/emulator.md, "RDS: tags")."""


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"not a regular expression: {error}") from error
    return pattern


class FleetSelect(_Model):
    """Which PostgreSQL instances a fleet manages: every condition given must hold (README,
    "Fleets (selectors)")."""

    regions: Annotated[tuple[RegionId, ...], Field(min_length=1)] | None = None
    """Regions whose instances are listed. Omitted: defaults.region."""
    tags: Annotated[dict[TagKey, TagValue], Field(min_length=1, max_length=MAX_SELECT_TAGS)] = (
        omitted_while({})
    )
    """Tags an instance must ALL carry (key: value), at most 5."""
    engine_versions: Annotated[
        tuple[Annotated[str, StringConstraints(pattern=r"^[0-9]{1,2}(\.[0-9]{1,2})?$")], ...],
        Field(min_length=1),
    ] = omitted_while(())
    """PostgreSQL major versions (EngineVersion, e.g. "16"); omitted: any."""
    id_pattern: (
        Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(_compiles)]
        | None
    ) = omitted_while(None)
    """A regular expression the whole DBInstanceId must match, e.g. `pgm-bp1ded.*`."""
    categories: Annotated[
        tuple[Annotated[str, StringConstraints(min_length=1, max_length=64)], ...],
        Field(min_length=1),
    ] = omitted_while(())
    """RDS editions (Category, e.g. Basic, HighAvailability; compared ignoring case)."""

    def region_list(self, default: str) -> tuple[str, ...]:
        return self.regions or (default,)


class FleetSpec(_Model):
    """Instances chosen by a selector instead of by id, each managed as if listed under
    `instances:` with these wants (README, "Fleets (selectors)")."""

    select: FleetSelect
    """Which instances: regions, tags, engine_versions, id_pattern, categories."""
    encryption: Encryption
    """{key: service | <kms_keys name> | <KMS key id>}, or `disabled`, for every instance."""
    restart: RestartPolicy | None = None
    """Override of defaults.restart for the fleet's instances."""
    tde: Tde | None = omitted_while(None)
    """TDE of the fleet's instances (one-way). Absent: defaults.tde."""
    strict: StrictBool = False
    """true: a matched instance that cannot be encrypted (serverless, storage, edition) is a
    refusal. false: the fleet reports them in one warning and leaves them alone."""
    account: AccountName | None = omitted_while(None)
    """The `accounts:` entry whose instances the fleet selects. Omitted: defaults.account."""

    @field_validator("select")
    @classmethod
    def _select_not_empty(cls, select: FleetSelect) -> FleetSelect:
        if not select.model_fields_set:
            raise ValueError(
                "an empty select matches every instance: name at least one of regions, tags, "
                "engine_versions, id_pattern, categories"
            )
        return select

    def wants(self) -> InstanceSpec:
        """The `instances:` entry each matched instance gets (its region set by the caller)."""
        return InstanceSpec(encryption=self.encryption, restart=self.restart, tde=self.tde)


_CLOSED: dict[str, Any] = {"additionalProperties": False}
"""For dicts with patterned keys: the schema then rejects a bad name, as pydantic does."""


class Spec(_Model):
    version: Literal[1] = 1
    """Version of the spec language. Only 1 exists."""
    defaults: Defaults = Field(default_factory=Defaults)
    """Values used where a key or instance does not set its own."""
    ram: RamSpec | None = None
    """The RAM role and policy RDS needs for a CMK. Omitted: managed with the defaults when any
    CMK is used, untouched otherwise."""
    kms_keys: dict[KeyName, KmsKeySpec] = Field(default_factory=dict, json_schema_extra=_CLOSED)
    """Customer master keys, by logical name."""
    instances: dict[InstanceId, InstanceSpec] = Field(
        default_factory=dict, json_schema_extra=_CLOSED
    )
    """Managed instances, by DBInstanceId. Instances not named here are never changed."""
    fleets: dict[FleetName, FleetSpec] = omitted_while(
        default_factory=dict, json_schema_extra=_CLOSED
    )
    """Instances chosen by selectors (tags, regions, versions, id pattern, editions), by fleet
    name; an `instances:` entry wins over a fleet."""
    accounts: dict[AccountName, AccountSpec] = omitted_while(
        default_factory=dict, json_schema_extra=_CLOSED
    )
    """Several accounts, by name (README, "Several accounts"). Omitted: the one account of the
    credentials."""

    @field_validator("version", mode="before")
    @classmethod
    def _version_not_bool(cls, version: Any) -> Any:
        if isinstance(version, bool):  # True == 1 in Python; `version: yes` is not version 1
            raise ValueError("must be the number 1, not a boolean")
        return version

    # --- derived views; pure helpers the planner and observer share -----------------------

    def key_region(self, name: str) -> str:
        return self.kms_keys[name].region or self.defaults.region

    def key_kms_instance(self, name: str) -> str | None:
        """The KMS instance a spec key lives in; None: the region's default key."""
        return self.kms_keys[name].kms_instance or self.defaults.kms_instance

    def kms_instances(self) -> dict[str, str]:
        """Every KMS instance a spec key names -> the region it is read in (the key's)."""
        found: dict[str, str] = {}
        for name in sorted(self.kms_keys):
            instance = self.key_kms_instance(name)
            if instance is not None:
                found.setdefault(instance, self.key_region(name))
        return found

    def key_ignores(self, name: str) -> frozenset[str]:
        """The settings of a spec key whose differences plan and drift leave alone: its
        lifecycle.ignore, and every ignorable one where defaults.ignore matches its address
        (a glob never reaches a guarded setting)."""
        lifecycle = self.kms_keys[name].lifecycle
        own = set(lifecycle.ignore) if lifecycle else set()
        if any(fnmatchcase(f"kms_key.{name}", glob) for glob in self.defaults.ignore):
            own.update(KEY_IGNORABLE)
        return frozenset(own)

    def instance_region(self, instance_id: str) -> str:
        return self.instances[instance_id].region or self.defaults.region

    def restart_policy(self, instance_id: str) -> RestartPolicy:
        return self.instances[instance_id].restart or self.defaults.restart

    def tde_of(self, instance_id: str) -> KeyRef | Literal["disabled"] | None:
        """The TDE the spec wants for the instance; None when TDE is not managed there."""
        own = self.instances[instance_id].tde
        return own if own is not None else self.defaults.tde

    def uses_cmk(self) -> bool:
        """True when any instance names a key other than the service key, for its disk or its
        TDE (both need the RAM role RDS assumes)."""
        wanted = [i.encryption for i in self.instances.values()]
        wanted += [self.tde_of(i) for i in self.instances]
        return any(isinstance(w, KeyRef) and w.key != SERVICE_KEY for w in wanted)

    def effective_ram(self) -> RamSpec | None:
        """The RAM block in force: as written, or the managed defaults when a CMK is used."""
        if self.ram is not None:
            return self.ram
        return RamSpec() if self.uses_cmk() else None

    def regions(self) -> list[str]:
        """Every region the spec touches, sorted."""
        found = {self.defaults.region}
        found.update(self.key_region(n) for n in self.kms_keys)
        found.update(self.instance_region(i) for i in self.instances)
        for fleet in self.fleets.values():
            found.update(fleet.select.region_list(self.defaults.region))
        return sorted(found)


def is_key_id(ref: str) -> bool:
    """True when a key reference is a literal KMS key id rather than a logical name."""
    return re.fullmatch(KEY_ID_PATTERN, ref) is not None


@dataclass(frozen=True)
class KeyArn:
    """A key reference written as the key's ARN, `acs:kms:<region>:<account>:key/<id>`."""

    region: str
    account: str
    key_id: str


_KEY_ARN = re.compile(r"acs:kms:(?P<region>[^:]*):(?P<account>[^:]*):key/(?P<key_id>.*)")


def is_arn(ref: str) -> bool:
    """True when a key reference is written as an ARN (well formed or not)."""
    return ref[:4] == "acs:"  # a key ARN, not an Alibaba-owned tag (core.rules)


def key_arn(ref: str) -> KeyArn | None:
    """The parts of a well-formed key ARN; None for anything else (a malformed ARN too)."""
    found = _KEY_ARN.fullmatch(ref)
    if found is None:
        return None
    arn = KeyArn(found["region"], found["account"], found["key_id"])
    well_formed = (
        re.fullmatch(REGION_PATTERN, arn.region)
        and re.fullmatch(ACCOUNT_PATTERN, arn.account)
        and is_key_id(arn.key_id)
    )
    return arn if well_formed else None


def is_alias(ref: str) -> bool:
    return re.fullmatch(ALIAS_PATTERN, ref) is not None


def is_literal_key(ref: str) -> bool:
    """True when a key reference names a KMS key directly (id, ARN or alias) rather than a
    kms_keys name; such a key is read from KMS (DescribeKey takes all three)."""
    return is_key_id(ref) or key_arn(ref) is not None or is_alias(ref)


def literal_key_id(ref: str) -> str | None:
    """The key id a reference spells out (an id, or the id in an ARN); None for an alias."""
    arn = key_arn(ref)
    return arn.key_id if arn else (ref if is_key_id(ref) else None)
