"""Create a new PostgreSQL instance tagged env=prod in the company-fleet world's retail account
(scripts/demo-fleet.sh), as a team would: CreateDBInstance then TagResources, through the
official RDS SDK with that account's own AccessKey (reconciler/emulator/seeds/company-fleet.yaml).

    python scripts/demo-fleet-new-instance.py http://127.0.0.1:PORT   # prints the new id
"""

from __future__ import annotations

import sys

from alibabacloud_rds20140815 import models
from alibabacloud_rds20140815.client import Client
from alibabacloud_tea_openapi.utils_models import Config

REGION = "cn-shanghai"
RETAIL_KEY, RETAIL_SECRET = "retail-root-key", "retail-root-secret"
TAGS = {"env": "prod", "team": "search"}


def retail_rds(endpoint: str) -> Client:
    config = Config(
        access_key_id=RETAIL_KEY,
        access_key_secret=RETAIL_SECRET,
        region_id=REGION,
        endpoint=endpoint,
        protocol="http",
    )
    return Client(config)


def create_tagged_instance(endpoint: str) -> str:
    client = retail_rds(endpoint)
    created = client.create_dbinstance(
        models.CreateDBInstanceRequest(
            region_id=REGION,
            engine="PostgreSQL",
            engine_version="16.0",
            dbinstance_class="pg.n2.2c.2m",
            dbinstance_storage=100,
            dbinstance_storage_type="cloud_essd",
            category="HighAvailability",
            dbinstance_net_type="Intranet",
            pay_type="Postpaid",
            security_iplist="10.0.0.0/8",
        )
    )
    instance_id = created.body.dbinstance_id
    client.tag_resources(
        models.TagResourcesRequest(
            region_id=REGION,
            resource_type="INSTANCE",
            resource_id=[instance_id],
            tag=[models.TagResourcesRequestTag(key=k, value=v) for k, v in TAGS.items()],
        )
    )
    return instance_id


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: demo-fleet-new-instance.py ENDPOINT")
    print(create_tagged_instance(sys.argv[1]))
