"""The reads of the fleets (issue 21; README, "Fleets (selectors)"): every PostgreSQL instance
a fleet may select, with its tags, before observe reads what the plan needs.

Per region of a fleet, DescribeDBInstances (paged, 100 a page) with the fleet's tags as its
`Tags` filter, which keeps an instance carrying ANY of them, so it only narrows the listing
(fleets of one region with the same tags share one listing; a fleet without tags lists the
region unfiltered); then ListTagResources by ResourceId (50 ids a call) of every instance a
fleet with tags may select, so that ALL its tags are confirmed by
kinds/rds_encryption/fleets.py. Fail closed: a failed or unreadable answer raises ObserveError,
never "no instance" or "no tag".
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

from reconciler.cloud import rds, rds_tags
from reconciler.cloud.clients import CloudClients
from reconciler.errors import CloudCallError, ObserveError
from reconciler.kinds.rds_encryption.fleets import Candidate, Expansion, expand
from reconciler.spec.models import Spec

Listing = tuple[str, tuple[tuple[str, str], ...]]
"""(region, the Tags filter: sorted (key, value) pairs, () for none)."""

__all__ = ["Expansion", "expand_fleets", "fleet_candidates"]


def listings(spec: Spec) -> list[Listing]:
    found: set[Listing] = set()
    for fleet in spec.fleets.values():
        for region in fleet.select.region_list(spec.defaults.region):
            found.add((region, tuple(sorted(fleet.select.tags.items()))))
    return sorted(found)


def fleet_candidates(
    spec: Spec, clients: CloudClients, *, parallelism: int = 16
) -> list[Candidate]:
    """Every instance the fleets' listings show, with every tag it carries."""
    try:
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            pages = list(pool.map(lambda one: _list(clients, one), listings(spec)))
            items = {
                item["DBInstanceId"]: (region, item) for region, page in pages for item in page
            }
            by_region: dict[str, list[str]] = {}
            for instance_id, (region, _item) in items.items():
                by_region.setdefault(region, []).append(instance_id)
            tags: dict[str, dict[str, str]] = {}
            if any(f.select.tags for f in spec.fleets.values()):
                for part in pool.map(
                    lambda r: rds_tags.instance_tags(clients, r, by_region[r]), sorted(by_region)
                ):
                    tags.update(part)
    except CloudCallError as error:
        raise ObserveError(f"reading the fleets' instances failed: {error}") from error
    return [
        Candidate(rds.instance_from_item(item, region, managed=False), tags.get(instance_id, {}))
        for instance_id, (region, item) in sorted(items.items())
    ]


def _list(clients: CloudClients, listing: Listing) -> tuple[str, list[dict]]:
    region, pairs = listing
    any_tag = dict(pairs) or None
    first = rds.list_instances(clients, region, 1, any_tag=any_tag)
    items = list(first.items)
    for number in range(2, max(1, math.ceil(first.total / rds.PAGE_SIZE)) + 1):
        items += rds.list_instances(clients, region, number, any_tag=any_tag).items
    return region, items


def expand_fleets(spec: Spec, clients: CloudClients, *, parallelism: int = 16) -> Expansion:
    """The fleets' reads, then the pure expansion (kinds/rds_encryption/fleets.py)."""
    return expand(spec, fleet_candidates(spec, clients, parallelism=parallelism))
