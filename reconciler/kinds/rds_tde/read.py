"""The reads of the kind `rds_tde` (state/observe.py runs them; README "Measured" has the bound):

- first round: the KMS keys the spec names for TDE by literal id (DescribeKey, ListResourceTags,
  ListAliasesByKeyId), unless the spec names the same id for a disk (kinds/kms_key reads those);
- second round, once the instance lists are in, for each listed instance whose spec sets `tde`
  (with `tde_of_every_instance`, import: each PostgreSQL instance whose encryption is read):
  DescribeDBInstanceTDE, one call;
- for each of those whose spec wants TDE on and whose TDE is read off (the prerequisites of
  enabling it; an instance with TDE on enables nothing, so its `kernel_version` stays ""):
  DescribeDBInstanceAttribute (CurrentKernelVersion, ReadOnlyDBInstanceIds, the engine version
  and storage), unless kinds/rds_encryption already read it (`facts.attributes`), and then the
  attribute of each read-only instance it names (their own kernel version and storage);
- for a TDE found on a KMS key no other read follows (of a managed instance, or any with
  `keys_in_use`): that key, so drift can tell when it is disabled or pending deletion.

So an instance costs at most one DescribeDBInstanceTDE and at most one
DescribeDBInstanceAttribute. Every failed or unreadable answer stops the reading (fail
closed: cloud/rds_tde.py, `tde_from_body` and `read_only_ids_of`).
"""

from __future__ import annotations

from typing import Any

from reconciler.cloud import kms, rds, rds_tde
from reconciler.cloud.answers import reading
from reconciler.core.facts import ObservedTde
from reconciler.spec.models import KeyRef, is_literal_key
from reconciler.state.reads import Reader, ReadScope

ATTRIBUTE = "rds:DescribeDBInstanceAttribute"


class TdeReads:
    """TDE, the kernel version and read-only instances of the instances whose spec sets tde."""

    def __init__(self, reader: Reader, scope: ReadScope) -> None:
        self.reader = reader
        self.facts = reader.facts
        self.scope = scope
        spec = scope.spec
        self.tde_wanted = {i: r for i, r in scope.managed().items() if spec.tde_of(i) is not None}
        self.enabling = {i for i in self.tde_wanted if isinstance(spec.tde_of(i), KeyRef)}
        self.read_only_asked: set[str] = set()

    # --- first round ------------------------------------------------------------------------

    def start(self) -> None:
        for key_id, region in sorted(self._literal_tde_keys().items()):
            self._read_key(key_id, region)

    def _literal_tde_keys(self) -> dict[str, str]:
        """Key ids the spec gives TDE literally and no instance's disk (kms_key reads those)."""
        spec, found = self.scope.spec, {}
        disk = {
            s.encryption.key for s in spec.instances.values() if isinstance(s.encryption, KeyRef)
        }
        for instance_id in self.tde_wanted:
            wanted = spec.tde_of(instance_id)
            if isinstance(wanted, KeyRef) and is_literal_key(wanted.key) and wanted.key not in disk:
                found.setdefault(wanted.key, spec.instance_region(instance_id))
        return found

    # --- second round -----------------------------------------------------------------------

    def follow_up(self) -> None:
        for instance_id, region in sorted(self._tde_targets().items()):
            self.reader.submit(
                lambda tde, i=instance_id, r=region: self._on_tde(i, r, tde),
                rds_tde.tde,
                self.reader.clients,
                region,
                instance_id,
            )

    def _tde_targets(self) -> dict[str, str]:
        """Listed instances whose spec sets tde (an instance not found is the plan's refusal,
        not a read), or with `tde_of_every_instance` every one whose encryption is read."""
        items = self.facts.items
        found = {i: r for i, r in self.tde_wanted.items() if items.get(i, ("",))[0] == r}
        if self.scope.tde_of_every_instance:
            found.update({i: items[i][0] for i in self.facts.encryption if i in items})
        return found

    def _on_tde(self, instance_id: str, region: str, tde: ObservedTde) -> None:
        self.facts.instance_extras.setdefault(instance_id, {})["tde"] = tde
        if instance_id in self.enabling and not tde.enabled:
            self._read_attribute(instance_id, region, self._on_primary)
        follow = instance_id in self.tde_wanted or self.scope.keys_in_use
        custom = tde.enabled and tde.mode == rds_tde.TDE_CUSTOM_MODE and tde.key_id
        if custom and follow and tde.key_id not in self._known_key_ids():
            self._read_key(str(tde.key_id), region)

    def _read_attribute(self, instance_id: str, region: str, then: Any) -> None:
        """`then(instance_id, region, attribute)`, reusing an attribute already read."""
        known = self.facts.attributes.get(instance_id)
        if known is not None:
            then(instance_id, region, known)
            return
        self.reader.submit(
            lambda a, i=instance_id, r=region: then(i, r, a),
            rds.attribute,
            self.reader.clients,
            region,
            instance_id,
        )

    def _on_primary(self, instance_id: str, region: str, attribute: dict[str, Any]) -> None:
        self.facts.attributes[instance_id] = attribute
        listed = self.facts.items[instance_id][1]
        with reading(ATTRIBUTE, instance_id):  # an unreadable answer stops, labelled
            found = {
                "kernel_version": rds_tde.kernel_version_of(attribute),
                "read_only_ids": rds_tde.read_only_ids_of(attribute, listed),
            }
        self.facts.instance_extras.setdefault(instance_id, {}).update(found)
        for read_only in found["read_only_ids"]:
            if read_only not in self.read_only_asked:
                self.read_only_asked.add(read_only)
                self._read_attribute(read_only, region, self._on_read_only)

    def _on_read_only(self, instance_id: str, region: str, attribute: dict[str, Any]) -> None:
        """A read-only instance's own facts (kernel version, storage): an ObservedInstance of
        its own, unmanaged unless the spec names it; listed or not."""
        self.facts.attributes[instance_id] = attribute
        self.facts.items.setdefault(instance_id, (region, attribute))
        with reading(ATTRIBUTE, instance_id):
            version = rds_tde.kernel_version_of(attribute)
        self.facts.instance_extras.setdefault(instance_id, {})["kernel_version"] = version

    # --- keys -------------------------------------------------------------------------------

    def _known_key_ids(self) -> set[str]:
        """Keys read, or being read by kinds/kms_key (the spec's, literal ones, the disk CMKs of
        the instances it follows), or by this kind already."""
        facts = self.facts
        known = {k.key_id for k in facts.keys.values() if k is not None}
        known |= set(facts.keys_by_id) | set(facts.service_key_ids().values())
        followed = set(self.scope.managed())
        if self.scope.keys_in_use:
            followed |= set(facts.encryption)
        for instance_id in sorted(followed & set(facts.encryption)):
            enc = facts.settled_encryption(instance_id) if instance_id in facts.items else None
            if enc is not None and enc.key_id:
                known.add(enc.key_id)
        return known

    def _read_key(self, key_id: str, region: str) -> None:
        facts = self.facts
        facts.keys_by_id.setdefault(key_id, None)  # being read: asked once

        def keep(read: kms.KeyRead) -> None:
            facts.keys_by_id[key_id] = read.key
            if not read.kms_activated:
                facts.kms_status = False

        self.reader.submit(keep, kms.read_key, self.reader.clients, region, key_id)


def start_reads(reader: Reader, scope: ReadScope) -> None:
    TdeReads(reader, scope).start()


def follow_up_reads(reader: Reader, scope: ReadScope) -> None:
    TdeReads(reader, scope).follow_up()
