"""observe(scope, clients) -> ObservedState: read only what the scope needs, concurrently.

The scope is a spec (what plan and apply read), or a ReadScope: a spec plus what drift and
import read beyond it (every PostgreSQL instance's encryption for the coverage, regions the
spec does not name, every engine, the keys instances use, the RAM role by its default name).

Reads (at most N + ceil(N/100) + K + 10 for N instances and K keys: README, "Measured"):
- per region: DescribeDBInstances, paged 100 at a time: at once as many pages as the spec
  declares instances there (the list holds at least those), the rest in parallel once page 1
  gives the total (a spec naming instances that do not exist may cost an empty page); and
  DescribeKey('alias/acs/rds') for the service key id and the account id;
- per managed instance (per PostgreSQL instance listed, with `all_instances`):
  DescribeDBInstanceEncryptionKey; DescribeDBInstanceAttribute only where
  a CMK is wanted and the class code does not state the class type (the list carries none);
- per region with managed instances: DescribeHistoryTasks (unfinished tasks, paged), so a change
  running or scheduled for a maintenance window is seen and not planned again;
- per key: DescribeKey(alias) + ListResourceTags; keys named by id or found in use also get
  ListAliasesByKeyId;
- per region where a spec key's alias is absent (the plan would create the key), once:
  ListKeys + ListAliases (100 a page) and ListResourceTags per Enabled user key without an
  alias, then DescribeKey + ListResourceTags of a match: a key carrying exactly the spec key's
  tags (and its description, when the spec sets one) but no alias is the key of a CreateKey
  whose answer was lost, and is adopted rather than created again. A region whose spec
  aliases all exist costs nothing more;
- per key the spec disables or deletes: DescribeKmsAssociateResources, the cloud's census of
  its users (every engine, disk encryption and TDE, switching or scheduled to switch);
- once: DescribeAccountKmsStatus; RAM (GetPolicy, GetRole, ListPoliciesForRole) when the spec
  manages or verifies it.

Fail closed: only answers known to state a fact are facts (cloud/answers.py); any other error
stops observation with an ObserveError naming the action, the resource, the code and the
request id.

KMS not activated: a not-enabled answer (Forbidden.KmsServiceNotEnabled) on any KMS read, or a
DescribeAccountKmsStatus other than Enabled, is a fact, not an error: no key is observed and
`kms_activated` is False (the account id is then unknown), so the plan refuses KmsNotActivated.

The work runs on a thread pool; a small event loop on the calling thread reacts to each answer
(e.g. a listed page submits that page's instance reads at once), so no worker ever waits on
another and the pool stays full.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.cloud import kms, ram, rds
from reconciler.cloud.clients import CloudClients
from reconciler.core.rules import account_of_arn, key_type_of, managed_tags
from reconciler.errors import CloudCallError, NetworkError, ObserveError
from reconciler.spec.models import (
    SERVICE_KEY,
    KeyRef,
    KeyState,
    RamSpec,
    Spec,
    is_key_id,
)
from reconciler.state.models import (
    ObservedEncryption,
    ObservedInstance,
    ObservedKey,
    ObservedKeyUser,
    ObservedRam,
    ObservedState,
    ObservedTask,
    class_type_from_code,
)

Progress = Callable[[int, int], None]
_ADOPTABLE = frozenset({KeyState.ENABLED, KeyState.DISABLED})
"""Spec key states for which a lost CreateKey's key is adopted (pending-deletion creates
nothing)."""


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

    @classmethod
    def of(cls, scope: Spec | ReadScope) -> ReadScope:
        return scope if isinstance(scope, ReadScope) else cls(spec=scope)

    def listed_regions(self, managed_regions: set[str]) -> list[str]:
        found = set(managed_regions) | set(self.regions)
        if self.all_instances:
            found |= set(self.spec.regions())
        return sorted(found)

    def effective_ram(self) -> RamSpec | None:
        return self.spec.effective_ram() or self.ram


@dataclass
class _Facts:
    """Mutable scratch space, only touched by the event loop thread."""

    items: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    encryption: dict[str, ObservedEncryption | None] = field(default_factory=dict)
    service_keys: dict[str, kms.ServiceKeyFacts] = field(default_factory=dict)
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


class _Loop:
    """Submit tasks with a continuation; a continuation runs, under one lock, on the worker
    that finished the task, and may submit more tasks.

    Running continuations on the workers (rather than handing every answer back to the calling
    thread) saves a thread wake-up and a GIL hand-over per call, which is most of our own cost
    per call at a thousand instances. The continuations only record facts and submit reads."""

    def __init__(self, pool: ThreadPoolExecutor, progress: Progress | None) -> None:
        self._pool = pool
        self.lock = threading.Lock()
        """Held while continuations run; hold it to submit from outside one."""
        self._idle = threading.Condition(self.lock)
        self._progress = progress
        self._outstanding = 0
        self._error: BaseException | None = None
        self.submitted = 0
        self.finished = 0

    def submit(self, then: Callable[[Any], None], fn: Callable[..., Any], *args: Any) -> None:
        """Call from a continuation, or with `lock` held."""
        self._outstanding += 1
        self.submitted += 1
        self._pool.submit(self._task, then, fn, args)

    def _task(self, then: Callable[[Any], None], fn: Callable[..., Any], args: tuple) -> None:
        try:
            result = fn(*args)
        except BaseException as error:  # handed to the waiting thread, raised there
            result, failed = None, error
        else:
            failed = None
        with self._idle:
            try:
                if failed is None and self._error is None:
                    then(result)
            except BaseException as error:
                failed = error
            if failed is not None and self._error is None:
                self._error = failed
            self._outstanding -= 1
            self.finished += 1
            if self._outstanding == 0 or self._error is not None:
                self._idle.notify_all()

    def run(self) -> None:
        """Wait until every task and continuation is done; raise the first failure."""
        with self._idle:
            while self._outstanding and self._error is None:
                self._idle.wait(timeout=0.1)
                if self._progress is not None:
                    self._progress(self.finished, self.submitted)
            if self._error is not None:
                raise self._error
        if self._progress is not None:
            self._progress(self.finished, self.submitted)


def observe(
    scope: Spec | ReadScope,
    clients: CloudClients,
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ObservedState:
    """Read the facts the plan (a Spec) or drift and import (a ReadScope) need. Documented
    not-found answers become None/absent; every other failure raises ObserveError. `now` bounds
    the task-center query (default: the clock)."""
    moment = now or datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="observe") as pool:
        try:
            return _Observer(ReadScope.of(scope), clients, _Loop(pool, progress), moment).run()
        except CloudCallError as error:
            pool.shutdown(wait=True, cancel_futures=True)
            raise ObserveError(f"reading the cloud failed: {error}{_advice(error)}") from error


def _advice(error: CloudCallError) -> str:
    """What to do next, where the error's own message does not say it already."""
    from reconciler.cloud.retry import Family, family_of

    if isinstance(error, NetworkError):
        return ""  # names the endpoint, the cause and the fix itself
    family = family_of(error)
    if family is Family.NOT_AUTHORIZED:
        return (
            f" (check the credentials: the identity they give may not call {error.action}; "
            "`reconciler permissions --mode plan|drift|apply` prints the policy each command "
            "needs)"
        )
    if error.code.startswith(
        ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurityToken")
    ):
        return " (check the credentials and that they may read RDS, KMS and RAM)"
    if family is Family.THROTTLING:
        return " (gave up after retries; try again later or lower --parallelism)"
    if family is Family.UNAVAILABLE:
        return " (gave up after retries; try again later)"
    return ""


class _Observer:
    def __init__(self, scope: ReadScope, clients: CloudClients, loop: _Loop, now: datetime) -> None:
        self.scope = scope
        spec = self.spec = scope.spec
        self.clients = clients
        self.loop = loop
        self.now = now
        self.facts = _Facts()
        self.managed = {i: spec.instance_region(i) for i in spec.instances}
        self.cmk_wanted = {
            i
            for i, s in spec.instances.items()
            if isinstance(s.encryption, KeyRef) and s.encryption.key != SERVICE_KEY
        }
        # Keys the spec disables or deletes: their users are counted by the cloud's census.
        self.retiring = {n for n, k in spec.kms_keys.items() if k.state is not KeyState.ENABLED}

    # --- phases ------------------------------------------------------------------------

    def run(self) -> ObservedState:
        with self.loop.lock:  # workers run continuations under it: start them consistently
            self._start()
        self.loop.run()
        with self.loop.lock:
            self._follow_up()
        self.loop.run()
        return self._state()

    def _start(self) -> None:
        spec, c, loop = self.spec, self.clients, self.loop
        for region in sorted(set(spec.regions()) | set(self.scope.regions)):
            loop.submit(
                lambda facts, r=region: self.facts.service_keys.__setitem__(r, facts),
                kms.service_key,
                c,
                region,
            )
        for region in sorted(set(self.managed.values())):
            self.facts.task_pages_left[region] = 1
            self._task_page(region, 1)
        for region in self.scope.listed_regions(set(self.managed.values())):
            # The region lists at least the spec's instances there, so that many pages exist:
            # ask for them all at once instead of waiting a round trip for page 1's total.
            declared = sum(1 for r in self.managed.values() if r == region)
            self.facts.pages_asked[region] = max(1, math.ceil(declared / rds.PAGE_SIZE))
            self.facts.pages_left[region] = self.facts.pages_asked[region]
            for number in range(1, self.facts.pages_asked[region] + 1):
                self._list_page(region, number)
        for name, key in spec.kms_keys.items():
            self._read_key(self.facts.keys, name, spec.key_region(name), key.alias, by_alias=True)
        for key_id, region in sorted(self._literal_key_ids().items()):
            self._read_key(self.facts.keys_by_id, key_id, region, key_id)
        loop.submit(self._on_kms_status, kms.account_status, c, spec.defaults.region)
        ram_spec = self.scope.effective_ram()
        if ram_spec is not None:
            loop.submit(
                self._on_ram,
                ram.observe_ram,
                c,
                spec.defaults.region,
                ram_spec.role,
                ram_spec.policy,
                ram_spec.policy_type,
            )

    def _literal_key_ids(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for instance_id, s in self.spec.instances.items():
            if isinstance(s.encryption, KeyRef) and is_key_id(s.encryption.key):
                found.setdefault(s.encryption.key, self.spec.instance_region(instance_id))
        return found

    def _on_kms_status(self, status: str) -> None:
        """InDebt and Suspended are KMS activated but not serving (kept apart from NotEnabled)."""
        self.facts.kms_account_status = status
        self.facts.kms_status = self.facts.kms_status and status != "NotEnabled"

    def _read_key(
        self,
        into: dict[str, ObservedKey | None],
        name: str,
        region: str,
        key_ref: str,
        *,
        by_alias: bool = False,
    ) -> None:
        """Read a key into `into[name]`; an answer that KMS is not activated records no key
        and marks KMS not activated (the plan then refuses with KmsNotActivated)."""

        def keep(read: kms.KeyRead) -> None:
            into[name] = read.key
            if not read.kms_activated:
                self.facts.kms_status = False
            if by_alias and name in self.retiring and read.key is not None:
                self._count_users(region, read.key.key_id, read.key.arn)
            if by_alias and read.key is None and read.kms_activated:
                self.facts.absent_keys.setdefault(region, []).append(name)

        known_alias = key_ref if by_alias else None
        self.loop.submit(
            keep,
            functools.partial(kms.read_key, known_alias=known_alias),
            self.clients,
            region,
            key_ref,
        )

    def _count_users(self, region: str, key_id: str, arn: str = "") -> None:
        account = account_of_arn(arn)  # acs:kms:<r>:<uid>:key/<id>
        self.loop.submit(
            lambda users, k=key_id: self.facts.key_users.__setitem__(k, users),
            rds.key_users,
            self.clients,
            region,
            key_id,
            account,
        )

    def _task_page(self, region: str, number: int) -> None:
        self.loop.submit(
            lambda page, r=region, n=number: self._on_task_page(r, n, page),
            rds.pending_tasks,
            self.clients,
            region,
            number,
            self.now,
        )

    def _on_task_page(self, region: str, number: int, page: rds.TaskPage) -> None:
        if number == 1:
            pages = max(1, math.ceil(page.total / rds.TASK_PAGE_SIZE))
            self.facts.task_pages_left[region] += pages - 1
            for later in range(2, pages + 1):
                self._task_page(region, later)
        for task in page.tasks:
            self.facts.tasks[task.task_id] = task
        self.facts.task_pages_left[region] -= 1
        if self.facts.task_pages_left[region] == 0:
            self.facts.task_regions.add(region)

    def _on_ram(self, observed: ObservedRam) -> None:
        self.facts.ram = observed

    def _list_page(self, region: str, number: int) -> None:
        self.loop.submit(
            lambda page, r=region, n=number: self._on_page(r, n, page),
            functools.partial(rds.list_instances, all_engines=self.scope.all_engines),
            self.clients,
            region,
            number,
        )

    def _on_page(self, region: str, number: int, page: rds.InstancePage) -> None:
        if number == 1:
            pages = max(1, math.ceil(page.total / rds.PAGE_SIZE))
            asked = self.facts.pages_asked[region]
            self.facts.pages_left[region] += max(0, pages - asked)
            for later in range(asked + 1, pages + 1):
                self._list_page(region, later)
        for item in page.items:
            instance_id = item.get("DBInstanceId")
            if not instance_id or instance_id in self.facts.items:
                continue
            self.facts.items[instance_id] = (region, item)
            self._read_instance(region, instance_id)
        self.facts.pages_left[region] -= 1
        if self.facts.pages_left[region] == 0:
            self.facts.regions_listed.add(region)
            self._look_up_missing(region)

    def _read_instance(self, region: str, instance_id: str) -> None:
        """A managed instance's encryption, and its attribute where a CMK is wanted and the
        list does not state the class type (its class code is of an unknown family); with
        `all_instances`, the encryption of an unmanaged PostgreSQL instance too."""
        if self.managed.get(instance_id) != region:
            engine = str(self.facts.items[instance_id][1].get("Engine") or "")
            if self.scope.all_instances and engine.lower() == rds.ENGINE.lower():
                self.loop.submit(
                    lambda e, i=instance_id: self.facts.encryption.__setitem__(i, e),
                    rds.encryption,
                    self.clients,
                    region,
                    instance_id,
                    None,
                )
            return
        self.loop.submit(
            lambda e, i=instance_id: self.facts.encryption.__setitem__(i, e),
            rds.encryption,
            self.clients,
            region,
            instance_id,
            None,
        )
        item = self.facts.items[instance_id][1]
        listed_type = item.get("DBInstanceClassType") or class_type_from_code(
            str(item.get("DBInstanceClass") or "")
        )
        if instance_id in self.cmk_wanted and listed_type is None:
            self.loop.submit(
                lambda a, i=instance_id: self.facts.attributes.__setitem__(i, a),
                rds.attribute,
                self.clients,
                region,
                instance_id,
            )

    def _look_up_missing(self, region: str) -> None:
        """A declared instance absent from the PostgreSQL list may run another engine."""
        for instance_id, r in sorted(self.managed.items()):
            if r == region and instance_id not in self.facts.items:
                self.loop.submit(
                    lambda item, i=instance_id, rg=region: self._on_found(rg, i, item),
                    rds.find_instance,
                    self.clients,
                    region,
                    instance_id,
                )

    def _on_found(self, region: str, instance_id: str, item: dict[str, Any] | None) -> None:
        if item is not None:
            self.facts.items[instance_id] = (region, item)
            self._read_instance(region, instance_id)

    def _follow_up(self) -> None:
        """Second round, once the first answers are in: keys found in use that the spec does
        not name (their state tells whether an instance is locked on them); with `keys_in_use`,
        those of every instance read."""
        known = {k.key_id for k in self.facts.keys.values() if k is not None}
        known |= set(self.facts.keys_by_id)
        users = dict(self.managed)
        if self.scope.keys_in_use:
            users.update({i: self.facts.items[i][0] for i in self.facts.encryption})
        for instance_id, region in sorted(users.items()):
            if instance_id not in self.facts.items:
                continue
            enc = self._encryption(instance_id)
            in_use = enc.key_id if enc is not None and enc.key_type == "CMK" else None
            if in_use and in_use not in known:
                known.add(in_use)
                self._read_key(self.facts.keys_by_id, in_use, region, in_use)
        for region, names in sorted(self.facts.absent_keys.items()):
            wanted = [n for n in sorted(names) if self.spec.kms_keys[n].state in _ADOPTABLE]
            if wanted and self.facts.kms_status:
                self.loop.submit(self._on_adopted, self._adopt, region, wanted)

    def _adopt(self, region: str, names: list[str]) -> dict[str, ObservedKey]:
        """Spec keys (alias absent) -> the alias-less key each one adopts, if any. One key is
        adopted by at most one name (names in order)."""
        tagged = kms.aliasless_keys(self.clients, region)
        adopted: dict[str, ObservedKey] = {}
        for name in names:
            spec_key = self.spec.kms_keys[name]
            tags = spec_key.desired_tags()
            matches = [
                key_id
                for key_id, found in tagged.items()
                if managed_tags(found) == tags
                and key_id not in {k.key_id for k in adopted.values()}
            ]
            key = kms.adopt_key(self.clients, region, matches) if matches else None
            if key is not None and (
                not spec_key.description or key.description == spec_key.description
            ):
                adopted[name] = key
        return adopted

    def _on_adopted(self, adopted: dict[str, ObservedKey]) -> None:
        for name, key in adopted.items():
            self.facts.keys[name] = key
            if name in self.retiring:
                self._count_users(key.region, key.key_id, key.arn)

    # --- assembly ------------------------------------------------------------------------

    def _service_key_ids(self) -> dict[str, str]:
        return {r: f.key_id for r, f in sorted(self.facts.service_keys.items()) if f.key_id}

    def _encryption(self, instance_id: str) -> ObservedEncryption | None:
        """The encryption read, with key_type settled against the region's service key."""
        enc = self.facts.encryption.get(instance_id)
        if enc is None or not enc.enabled or enc.key_type is not None:
            return enc
        region = self.facts.items[instance_id][0]
        service_id = self._service_key_ids().get(region)
        key_type = key_type_of(enc.key_id, service_id)
        return enc.model_copy(update={"key_type": key_type})

    def _state(self) -> ObservedState:
        facts = self.facts
        instances: dict[str, ObservedInstance] = {}
        for instance_id, (region, item) in sorted(facts.items.items()):
            instances[instance_id] = rds.instance_from_item(
                item,
                region,
                managed=self.managed.get(instance_id) == region,
                attributes=facts.attributes.get(instance_id),
                encryption=self._encryption(instance_id),
            )
        account = self._account_id()
        activated = facts.kms_status and all(f.kms_activated for f in facts.service_keys.values())
        return ObservedState(
            account_id=account,
            kms_activated=activated,
            kms_status=facts.kms_account_status if activated else "NotEnabled",
            ram=facts.ram,
            keys=dict(sorted(facts.keys.items())),
            keys_by_id=dict(sorted(facts.keys_by_id.items())),
            service_keys=self._service_key_ids(),
            instances=instances,
            regions_listed=sorted(facts.regions_listed),
            key_users=dict(sorted(facts.key_users.items())),
            tasks=sorted(facts.tasks.values(), key=lambda t: (t.instance_id, t.task_id)),
            task_regions=sorted(facts.task_regions),
        )

    def _account_id(self) -> str | None:
        preferred = self.facts.service_keys.get(self.spec.defaults.region)
        if preferred is not None and preferred.account_id:
            return preferred.account_id
        return next((f.account_id for f in self.facts.service_keys.values() if f.account_id), None)
