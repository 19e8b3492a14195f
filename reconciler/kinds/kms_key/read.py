"""The reads of the kind `kms_key` (state/observe.py runs them):

- per region: DescribeKey('alias/acs/rds') for the service key id and the account id;
- once: DescribeAccountKmsStatus;
- per key: DescribeKey(alias) + ListResourceTags; keys named by id or found in use also get
  ListAliasesByKeyId (keys in use: a second round, once the instances' encryption is read);
- per region where a spec key's alias is absent (the plan would create the key), once, in the
  second round: ListKeys + ListAliases (100 a page) and ListResourceTags per Enabled user key
  without an alias, then DescribeKey + ListResourceTags of a match: a key carrying exactly the
  spec key's tags (and its description, when the spec sets one) but no alias is the key of a
  CreateKey whose answer was lost, and is adopted rather than created again. A region whose
  spec aliases all exist costs nothing more;
- per KMS instance a spec key names (kms_instance, or defaults.kms_instance), once, in the
  first round: GetKmsInstance + GetKmsInstanceQuotaInfos (the key quota), in the region of the
  first key naming it. An instance that does not exist is None; any other failure stops;
- per key the spec disables or deletes: DescribeKmsAssociateResources, the cloud's census of
  its users (every engine, disk encryption and TDE, switching or scheduled to switch); and
  its region's task center, once per region (state/task_center.py; free when the region has
  managed instances, whose reads ask for it too).
- per region of a key the spec disables or deletes, and per managed instance moving off a
  CMK: the backup sets (kinds/kms_key/backups.py says which calls, and their bound).

KMS not activated: a not-enabled answer (Forbidden.KmsServiceNotEnabled) on any KMS read, or a
DescribeAccountKmsStatus other than Enabled, is a fact, not an error: no key is observed and
`kms_activated` is False (the account id is then unknown), so the plan refuses KmsNotActivated.
"""

from __future__ import annotations

import functools
from datetime import UTC
from typing import Any

from reconciler.cloud import kms, rds
from reconciler.core.facts import ObservedKey
from reconciler.core.rules import account_of_arn, managed_tags
from reconciler.errors import PermanentError
from reconciler.kinds.kms_key import backups
from reconciler.spec.models import KeyRef, KeyState, is_literal_key
from reconciler.state import task_center
from reconciler.state.reads import Reader, ReadScope

_ADOPTABLE = frozenset({KeyState.ENABLED, KeyState.DISABLED})
"""Spec key states for which a lost CreateKey's key is adopted (pending-deletion creates
nothing)."""


class KeyReads:
    """The service keys, the account's KMS status, the keys the spec names or instances use,
    their users where the spec retires them, and the keys of lost CreateKey answers."""

    def __init__(self, reader: Reader, scope: ReadScope) -> None:
        self.reader = reader
        self.facts = reader.facts
        self.scope = scope
        self.spec = scope.spec
        # Keys the spec disables or deletes: their users are counted by the cloud's census.
        keys = self.spec.kms_keys
        self.retiring = {n for n, k in keys.items() if k.state is not KeyState.ENABLED}

    def start(self) -> None:
        spec, clients = self.spec, self.reader.clients
        for region in sorted(set(spec.regions()) | set(self.scope.regions)):
            self.reader.submit(
                lambda found, r=region: self.facts.service_keys.__setitem__(r, found),
                kms.service_key,
                clients,
                region,
            )
        for name, key in spec.kms_keys.items():
            self._read_key(self.facts.keys, name, spec.key_region(name), key.alias, by_alias=True)
        for key_id, region in sorted(self._literal_key_ids().items()):
            self._read_key(self.facts.keys_by_id, key_id, region, key_id)
        if self.scope.account_reads:  # else another process's unit reads it (state/units.py)
            self.reader.submit(
                self._on_kms_status, kms.account_status, clients, spec.defaults.region
            )
        for instance_id, region in sorted(spec.kms_instances().items()):
            self.reader.submit(
                functools.partial(self._on_kms_instance, instance_id),
                _read_kms_instance,
                clients,
                region,
                instance_id,
            )

    def _on_kms_instance(self, instance_id: str, read: tuple[bool, Any]) -> None:
        activated, found = read
        if not activated:
            self.facts.kms_status = False
            return
        self.facts.kms_instances[instance_id] = found

    def follow_up(self) -> None:
        """Second round, once the first answers are in: keys found in use that the spec does
        not name (their state tells whether an instance is locked on them); with `keys_in_use`,
        those of every instance read. Then the keys of lost CreateKey answers."""
        facts = self.facts
        known = {k.key_id for k in facts.keys.values() if k is not None}
        known |= set(facts.keys_by_id)
        users = self.scope.managed()
        if self.scope.keys_in_use:
            users.update({i: facts.items[i][0] for i in facts.encryption})
        for instance_id, region in sorted(users.items()):
            if instance_id not in facts.items:
                continue
            enc = facts.settled_encryption(instance_id)
            in_use = enc.key_id if enc is not None and enc.key_type == "CMK" else None
            if in_use and in_use not in known:
                known.add(in_use)
                self._read_key(facts.keys_by_id, in_use, region, in_use)
        self._read_backups_of_switches()
        for region, names in sorted(facts.absent_keys.items()):
            wanted = [n for n in sorted(names) if self.spec.kms_keys[n].state in _ADOPTABLE]
            if wanted and facts.kms_status:
                self.reader.submit(self._on_adopted, self._adopt, region, wanted)

    def _read_backups_of_switches(self) -> None:
        """The backup sets of each managed instance on a CMK the spec does not name for it:
        they keep that key (kinds/kms_key/backups.py; the SnapshotsKeepOldKey warning)."""
        facts = self.facts
        for instance_id, region in sorted(self.scope.managed().items()):
            enc = facts.settled_encryption(instance_id) if instance_id in facts.items else None
            if enc is None or enc.key_type != "CMK" or enc.key_id is None:
                continue
            wanted = self.spec.instances[instance_id].encryption
            name = wanted.key if isinstance(wanted, KeyRef) else None
            spec_key = facts.keys.get(name or "")
            if enc.key_id not in (name, spec_key.key_id if spec_key else None):
                backups.read_instance(self.reader, region, instance_id)

    def _literal_key_ids(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for instance_id, s in self.spec.instances.items():
            if isinstance(s.encryption, KeyRef) and is_literal_key(s.encryption.key):
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
                backups.read_region(self.reader, region)
                task_center.read_tasks(self.reader, region)
            if by_alias and read.key is None and read.kms_activated:
                self.facts.absent_keys.setdefault(region, []).append(name)

        known_alias = key_ref if by_alias else None
        self.reader.submit(
            keep,
            functools.partial(kms.read_key, known_alias=known_alias),
            self.reader.clients,
            region,
            key_ref,
        )

    def _count_users(self, region: str, key_id: str, arn: str = "") -> None:
        account = account_of_arn(arn)  # acs:kms:<r>:<uid>:key/<id>
        self.reader.submit(
            lambda users, k=key_id: self.facts.key_users.__setitem__(k, users),
            rds.key_users,
            self.reader.clients,
            region,
            key_id,
            account,
        )

    def _adopt(self, region: str, names: list[str]) -> dict[str, ObservedKey]:
        """Spec keys (alias absent) -> the alias-less key each one adopts, if any. One key is
        adopted by at most one name (names in order). Runs on a worker: reads only."""
        clients = self.reader.clients
        tagged = kms.aliasless_keys(clients, region)
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
            key = kms.adopt_key(clients, region, matches) if matches else None
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
                backups.read_region(self.reader, key.region)
                task_center.read_tasks(self.reader, key.region)


def _read_kms_instance(clients: Any, region: str, instance_id: str) -> tuple[bool, Any]:
    """(KMS activated, the instance or None); Forbidden.KmsServiceNotEnabled is a fact."""
    try:
        return True, kms.kms_instance(clients, region, instance_id)
    except PermanentError as error:
        if kms.kms_not_enabled(error):
            return False, None
        raise


def start_reads(reader: Reader, scope: ReadScope) -> None:
    KeyReads(reader, scope).start()


def follow_up_reads(reader: Reader, scope: ReadScope) -> None:
    KeyReads(reader, scope).follow_up()


def observed_fields(reader: Reader, scope: ReadScope) -> dict[str, Any]:
    """The account, whether KMS serves, the keys, the service keys and the retired keys'
    users."""
    facts = reader.facts
    activated = facts.kms_status and all(f.kms_activated for f in facts.service_keys.values())
    return {
        "account_id": _account_id(reader, scope),
        "kms_activated": activated,
        "kms_status": facts.kms_account_status if activated else "NotEnabled",
        "keys": dict(sorted(facts.keys.items())),
        "keys_by_id": dict(sorted(facts.keys_by_id.items())),
        "service_keys": facts.service_key_ids(),
        "key_users": dict(sorted(facts.key_users.items())),
        "backups": dict(sorted(facts.backups.items())),
        "backup_regions": sorted(facts.backup_regions),
        **_kms_instance_fields(reader, scope),
    }


def _kms_instance_fields(reader: Reader, scope: ReadScope) -> dict[str, Any]:
    """The KMS instances read, and when (the planner's "now" for their EndDate); nothing when
    the spec names none, so states without instances stay as they were."""
    if not scope.spec.kms_instances():
        return {}
    return {
        "kms_instances": dict(sorted(reader.facts.kms_instances.items())),
        "read_at": reader.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _account_id(reader: Reader, scope: ReadScope) -> str | None:
    """From the service key of the spec's default region, else of any region read."""
    service_keys = reader.facts.service_keys
    preferred = service_keys.get(scope.spec.defaults.region)
    if preferred is not None and preferred.account_id:
        return preferred.account_id
    return next((f.account_id for f in service_keys.values() if f.account_id), None)
