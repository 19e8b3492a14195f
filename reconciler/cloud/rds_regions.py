"""The regions of the account: RDS DescribeRegions (2014-08-15), for the reads that cover
"every region" (drift's coverage, import) unless --region narrows them. docs/drift-format.md
says which regions a report read."""

from __future__ import annotations

from typing import Any

from reconciler.cloud.answers import reading
from reconciler.cloud.clients import CloudClients
from reconciler.cloud.rds_wire import answer, models
from reconciler.core.region_ids import is_region_id


def rds_regions(clients: CloudClients, region: str) -> tuple[str, ...]:
    """Every region RDS serves the account in, sorted, asked of `region`'s endpoint.

    The answer lists one entry per zone; the region ids are taken once each. An answer with no
    region, an entry without a RegionId or a RegionId that is not a region id stops the read
    (fail closed: a coverage "of every region" must not silently cover fewer). A well-formed id
    the product's own list lacks is kept: the cloud opens regions before this tool knows them."""
    with reading("rds:DescribeRegions", region):
        body = answer(
            clients,
            region,
            "DescribeRegions",
            "describe_regions",
            models().DescribeRegionsRequest(),
        )
        return _region_ids(body)


def _region_ids(body: dict[str, Any]) -> tuple[str, ...]:
    entries = (body["Regions"] or {})["RDSRegion"]
    if not isinstance(entries, list) or not entries:
        raise ValueError("DescribeRegions listed no region")
    ids = set()
    for entry in entries:
        region_id = entry.get("RegionId") if isinstance(entry, dict) else None
        if not is_region_id(region_id):
            raise ValueError(f"DescribeRegions listed {region_id!r}, not a region id")
        ids.add(region_id)
    return tuple(sorted(ids))
