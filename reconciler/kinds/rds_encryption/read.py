"""The reads of the kind `rds_encryption` (state/observe.py runs them):

- per region: DescribeDBInstances, paged 100 at a time: at once as many pages as the spec
  declares instances there (the list holds at least those), the rest in parallel once page 1
  gives the total (a spec naming instances that do not exist may cost an empty page); a declared
  instance absent from the PostgreSQL list is looked up by id (it may run another engine);
- per managed instance (per PostgreSQL instance listed, with `all_instances`):
  DescribeDBInstanceEncryptionKey; DescribeDBInstanceAttribute only where a CMK is wanted and
  the class code does not state the class type (the list carries none);
- per region with managed instances: DescribeHistoryTasks (unfinished tasks, paged, once per
  region: state/task_center.py), so a change running or scheduled for a maintenance window is
  seen and not planned again.

A listed page submits that page's instance reads at once, so the pool stays full.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from reconciler.cloud import rds
from reconciler.core.facts import ObservedInstance, class_type_from_code
from reconciler.spec.models import SERVICE_KEY, KeyRef
from reconciler.state import task_center
from reconciler.state.reads import Reader, ReadScope


class InstanceReads:
    """The instance lists, each instance's encryption (and attribute), and the task center."""

    def __init__(self, reader: Reader, scope: ReadScope) -> None:
        self.reader = reader
        self.facts = reader.facts
        self.scope = scope
        self.managed = scope.managed()
        self.cmk_wanted = {
            i
            for i, s in scope.spec.instances.items()
            if isinstance(s.encryption, KeyRef) and s.encryption.key != SERVICE_KEY
        }

    def start(self) -> None:
        for region in sorted(set(self.managed.values())):
            task_center.read_tasks(self.reader, region)
        for region in self.scope.listed_regions(set(self.managed.values())):
            # The region lists at least the spec's instances there, so that many pages exist:
            # ask for them all at once instead of waiting a round trip for page 1's total.
            declared = sum(1 for r in self.managed.values() if r == region)
            self.facts.pages_asked[region] = max(1, math.ceil(declared / rds.PAGE_SIZE))
            self.facts.pages_left[region] = self.facts.pages_asked[region]
            for number in range(1, self.facts.pages_asked[region] + 1):
                self._list_page(region, number)

    def _list_page(self, region: str, number: int) -> None:
        self.reader.submit(
            lambda page, r=region, n=number: self._on_page(r, n, page),
            functools.partial(rds.list_instances, all_engines=self.scope.all_engines),
            self.reader.clients,
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
                self._read_encryption(region, instance_id)
            return
        self._read_encryption(region, instance_id)
        item = self.facts.items[instance_id][1]
        listed_type = item.get("DBInstanceClassType") or class_type_from_code(
            str(item.get("DBInstanceClass") or "")
        )
        if instance_id in self.cmk_wanted and listed_type is None:
            self.reader.submit(
                lambda a, i=instance_id: self.facts.attributes.__setitem__(i, a),
                rds.attribute,
                self.reader.clients,
                region,
                instance_id,
            )

    def _read_encryption(self, region: str, instance_id: str) -> None:
        self.reader.submit(
            lambda e, i=instance_id: self.facts.encryption.__setitem__(i, e),
            rds.encryption,
            self.reader.clients,
            region,
            instance_id,
            None,
        )

    def _look_up_missing(self, region: str) -> None:
        """A declared instance absent from the PostgreSQL list may run another engine."""
        for instance_id, r in sorted(self.managed.items()):
            if r == region and instance_id not in self.facts.items:
                self.reader.submit(
                    lambda item, i=instance_id, rg=region: self._on_found(rg, i, item),
                    rds.find_instance,
                    self.reader.clients,
                    region,
                    instance_id,
                )

    def _on_found(self, region: str, instance_id: str, item: dict[str, Any] | None) -> None:
        if item is not None:
            self.facts.items[instance_id] = (region, item)
            self._read_instance(region, instance_id)


def start_reads(reader: Reader, scope: ReadScope) -> None:
    InstanceReads(reader, scope).start()


def observed_fields(reader: Reader, scope: ReadScope) -> dict[str, Any]:
    """The instances read (their key type settled against the service keys) and the regions
    whose lists and task centers were read in full."""
    facts, managed = reader.facts, scope.managed()
    instances: dict[str, ObservedInstance] = {}
    for instance_id, (region, item) in sorted(facts.items.items()):
        instances[instance_id] = rds.instance_from_item(
            item,
            region,
            managed=managed.get(instance_id) == region,
            attributes=facts.attributes.get(instance_id),
            encryption=facts.settled_encryption(instance_id),
            extra=facts.instance_extras.get(instance_id),
        )
    return {
        "instances": instances,
        "regions_listed": sorted(facts.regions_listed),
        "tasks": sorted(facts.tasks.values(), key=lambda t: (t.instance_id, t.task_id)),
        "task_regions": sorted(facts.task_regions),
    }
