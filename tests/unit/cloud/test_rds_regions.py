"""rds_regions(): the account's regions from RDS DescribeRegions, through the real SDK against
the emulator, and every malformed answer stops the read instead of covering fewer regions."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.rds_regions import _region_ids, rds_regions
from reconciler.emulator.regions import REGIONS
from reconciler.emulator.server import Emulator

EMULATOR_KEYS = StaticCredentials("emulator", "emulator-secret")


def test_every_region_of_the_emulator_once_each() -> None:
    with Emulator(":memory:") as emulator:
        clients = CloudClients(CloudSettings(endpoint=emulator.endpoint, credentials=EMULATOR_KEYS))
        assert rds_regions(clients, "cn-hangzhou") == tuple(sorted(REGIONS))


@pytest.mark.parametrize(
    "body",
    [
        {"Regions": {"RDSRegion": []}},
        {"Regions": None},
        {"Regions": {"RDSRegion": [{"ZoneId": "cn-hangzhou-a"}]}},
        {"Regions": {"RDSRegion": [{"RegionId": "Hangzhou"}]}},
        {"Regions": {"RDSRegion": [{"RegionId": 7}]}},
        {"Regions": {"RDSRegion": "cn-hangzhou"}},
        {"Regions": {"RDSRegion": ["cn-hangzhou"]}},
    ],
)
def test_an_answer_that_lists_no_readable_region_is_an_error(body: dict[str, Any]) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        _region_ids(body)


def test_a_well_formed_region_this_tool_does_not_know_yet_is_kept() -> None:
    body = {"Regions": {"RDSRegion": [{"RegionId": "xx-newregion-1"}, {"RegionId": "cn-hangzhou"}]}}
    assert _region_ids(body) == ("cn-hangzhou", "xx-newregion-1")
