"""Seeds: `--seed demo` builds the demo fleet of notes/demo-fleet.md; YAML files build worlds;
bad seeds fail whole. The world is checked through the real SDK clients."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as km
from alibabacloud_ram20150501 import models as rm
from alibabacloud_rds20140815 import models as m

from reconciler.emulator.runtime import Settings
from reconciler.emulator.seeds import SeedError, apply_seed, builtin_seeds
from reconciler.emulator.server import Emulator
from reconciler.emulator.store import Store
from tests.emulator.conftest import sdk_client
from tests.emulator.rds_fixtures import RESTART_SECONDS, encryption_key, set_key

HZ, SH, HA, SLS = "cn-hangzhou", "cn-shanghai", "HighAvailability", "serverless_basic"
# id: (region, class, class type, category, storage, encryption at start)
DEMO_FLEET = {
    "pgm-bp1ded0000000001": (HZ, "pg.x4.large.2c", "d", HA, "cloud_essd", "off"),
    "pgm-bp1ro00000000001": (HZ, "pg.x4.large.2c", "d", "Basic", "cloud_essd", "off"),
    "pgm-bp1ded0000000002": (HZ, "pg.x8.medium.1", "d", "Basic", "cloud_essd", "service"),
    "pgm-bp1ded0000000003": (HZ, "pg.x4.large.2c", "d", HA, "cloud_essd3", "alias/rds-legacy"),
    "pgm-bp1gp00000000001": (HZ, "pg.n2.2c.2m", "x", HA, "cloud_essd", "off"),
    "pgm-bp1gp00000000002": (HZ, "pg.n4.2c.2m", "x", HA, "general_essd", "service"),
    "pgm-bp1gp00000000003": (HZ, "pg.n2.2c.1m", "x", "Basic", "cloud_essd", "service"),
    "pgm-bp1sls0000000001": (HZ, "pg.n2.serverless.1c", "x", SLS, "cloud_essd", "off"),
    "pgm-bp1ssd0000000001": (HZ, "pg.n2.2c.2m", "x", HA, "cloud_ssd", "off"),
    "pgm-uf6ded0000000001": (SH, "pg.x4.large.2c", "d", HA, "cloud_essd2", "off"),
}  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> Iterator[Emulator]:
    settings = Settings(restart_seconds=RESTART_SECONDS)
    with Emulator(state_path=":memory:", settings=settings, seed="demo") as emu:
        yield emu


def _clients(emu: Emulator, region: str = "cn-hangzhou") -> tuple[Any, Any, Any]:
    return tuple(sdk_client(s, emu.endpoint, region=region) for s in ("rds", "kms", "ram"))


def test_demo_is_built_in() -> None:
    assert "demo" in builtin_seeds()


@pytest.mark.parametrize("region", ["cn-hangzhou", "cn-shanghai"])
def test_demo_instances_match_the_fleet_table(demo: Emulator, region: str) -> None:
    rds, _, _ = _clients(demo, region)
    body = rds.describe_dbinstances(m.DescribeDBInstancesRequest(region_id=region, page_size=100))
    listed = [i.dbinstance_id for i in body.body.items.dbinstance]
    assert listed == [i for i, row in DEMO_FLEET.items() if row[0] == region]
    for instance_id in listed:
        _, class_code, class_type, category, storage, _ = DEMO_FLEET[instance_id]
        request = m.DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
        item = rds.describe_dbinstance_attribute(request).body.items.dbinstance_attribute[0]
        assert (item.dbinstance_class, item.dbinstance_class_type, item.category) == (
            class_code,
            class_type,
            category,
        )
        assert item.dbinstance_storage_type == storage
        assert item.engine == "PostgreSQL" and item.engine_version.startswith("16")
        assert item.dbinstance_status == "Running" and item.lock_mode == "Unlock"
        assert item.maintain_time == "18:00Z-22:00Z"


def test_demo_encryption_at_start(demo: Emulator) -> None:
    rds, kms, _ = _clients(demo)
    service_key = kms.describe_key(km.DescribeKeyRequest(key_id="alias/acs/rds"))
    legacy = kms.describe_key(km.DescribeKeyRequest(key_id="alias/rds-legacy"))
    expected = {
        "off": "",
        "service": service_key.body.key_metadata.key_id,
        "alias/rds-legacy": legacy.body.key_metadata.key_id,
    }
    for instance_id, row in DEMO_FLEET.items():
        if row[0] != "cn-hangzhou":
            continue
        assert encryption_key(rds, instance_id).encryption_key == expected[row[5]], instance_id


def test_demo_has_one_instance_that_qualifies_for_tde_with_its_read_only_instance(
    demo: Emulator,
) -> None:
    """Issue 19: pgm-bp1ded0000000001 and its read-only instance run the newest minor version;
    every other instance an older one than TDE needs (20221030)."""
    from reconciler.emulator.rds import kernel

    versions: dict[str, str] = {}
    for region in (HZ, SH):
        rds, _, _ = _clients(demo, region)
        for instance_id in (i for i, row in DEMO_FLEET.items() if row[0] == region):
            request = m.DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
            item = rds.describe_dbinstance_attribute(request).body.items.dbinstance_attribute[0]
            versions[instance_id] = item.current_kernel_version
            if instance_id == "pgm-bp1ded0000000001":
                readers = item.read_only_dbinstance_ids.read_only_dbinstance_id
                assert [r.dbinstance_id for r in readers] == ["pgm-bp1ro00000000001"]
            if instance_id == "pgm-bp1ro00000000001":
                assert (item.dbinstance_type, item.master_instance_id) == (
                    "Readonly",
                    "pgm-bp1ded0000000001",
                )
    ready = {i for i, v in versions.items() if (kernel.release_of(v) or "") >= "20221030"}
    assert ready == {"pgm-bp1ded0000000001", "pgm-bp1ro00000000001"}


def test_demo_legacy_key_lost_its_rds_tag(demo: Emulator) -> None:
    _, kms, _ = _clients(demo)
    meta = kms.describe_key(km.DescribeKeyRequest(key_id="alias/rds-legacy")).body.key_metadata
    assert meta.key_state == "Enabled" and meta.description == "legacy RDS key"
    assert meta.automatic_rotation == "Disabled" and meta.deletion_protection == "Disabled"
    tags = kms.list_resource_tags(km.ListResourceTagsRequest(key_id=meta.key_id)).body.tags.tag
    assert {(t.tag_key, t.tag_value) for t in tags} == {("team", "dba")}


def test_demo_lacks_the_keys_and_ram_objects_the_plan_creates(
    demo: Emulator, api_error: Any
) -> None:
    _, kms, ram = _clients(demo)
    _, kms_sh, _ = _clients(demo, "cn-shanghai")
    for client, alias in ((kms, "alias/rds-prod"), (kms_sh, "alias/rds-prod-sh")):
        error = api_error(lambda c=client, a=alias: c.describe_key(km.DescribeKeyRequest(key_id=a)))
        assert error.code in ("Forbidden.AliasNotFound", "Forbidden.KeyNotFound")
    error = api_error(
        lambda: ram.get_role(rm.GetRoleRequest(role_name="AliyunRDSInstanceEncryptionDefaultRole"))
    )
    assert error.code == "EntityNotExist.Role"
    rds, _, _ = _clients(demo)
    request = m.CheckCloudResourceAuthorizedRequest(dbinstance_id="pgm-bp1ded0000000001")
    assert rds.check_cloud_resource_authorized(request).body.authorization_state == 0


def test_demo_refusals_hold(demo: Emulator, api_error: Any) -> None:
    rds, _, _ = _clients(demo)
    assert api_error(lambda: set_key(rds, "pgm-bp1sls0000000001", "ServiceKey")).code == (
        "Unsupported.Serverless"
    )
    assert api_error(lambda: set_key(rds, "pgm-bp1ssd0000000001", "ServiceKey")).code == (
        "Unsupported.StorageType"
    )


WORLD = {
    "regions": ["cn-hangzhou"],
    "kms_instances": [
        {"id": "kst-hzzworld0001", "region": "cn-hangzhou", "end_date": "2099-01-01T00:00:00Z"}
    ],
    "kms_keys": [
        {"region": "cn-hangzhou", "aliases": ["alias/on"], "description": "on",
         "kms_instance": "kst-hzzworld0001",
         "tags": {"acs:rds:instance-encryption": "true"},
         "rotation": {"enabled": True, "interval_days": 30}, "deletion_protection": True},
        {"region": "cn-hangzhou", "aliases": ["alias/off"], "state": "Disabled",
         "kms_instance": "kst-hzzworld0001"},
        {"region": "cn-hangzhou", "aliases": ["alias/going"], "state": "PendingDeletion",
         "pending_window_days": 10, "kms_instance": "kst-hzzworld0001"},
    ],
    "ram": {
        "policies": [{"name": "RdsKms", "document": {"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}}],
        "roles": [{"name": "AliyunRDSInstanceEncryptionDefaultRole", "trust": "rds.aliyuncs.com",
                   "policies": ["RdsKms", "AliyunRDSInstanceEncryptionRolePolicy"]}],
    },
    "rds_instances": [
        {"id": "pgm-bp1aaaaaaaaaaaaa", "region": "cn-hangzhou", "class": "pg.x4.large.2c",
         "encryption": "alias/on", "maintain_time": "01:00Z-02:00Z"},
        {"id": "pgm-bp1bbbbbbbbbbbbb", "region": "cn-hangzhou", "class": "pg.x4.large.2c",
         "encryption": "alias/off"},
        {"id": "pgm-bp1ccccccccccccc", "region": "cn-hangzhou", "class": "pg.x4.large.2c",
         "encryption": "alias/going", "status": "Creating"},
    ],
}  # fmt: skip


def test_a_yaml_world(tmp_path: Path, api_error: Any) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(json.dumps(WORLD))  # JSON is YAML
    with Emulator(settings=Settings(restart_seconds=RESTART_SECONDS), seed=str(path)) as emu:
        rds, kms, ram = _clients(emu)
        meta = kms.describe_key(km.DescribeKeyRequest(key_id="alias/on")).body.key_metadata
        assert meta.automatic_rotation == "Enabled" and meta.rotation_interval == "2592000s"
        assert meta.deletion_protection == "Enabled"
        going = kms.describe_key(km.DescribeKeyRequest(key_id="alias/going")).body.key_metadata
        assert going.key_state == "PendingDeletion"
        policies = ram.list_policies_for_role(
            rm.ListPoliciesForRoleRequest(role_name="AliyunRDSInstanceEncryptionDefaultRole")
        ).body.policies.policy
        assert sorted(p.policy_name for p in policies) == [
            "AliyunRDSInstanceEncryptionRolePolicy",
            "RdsKms",
        ]

        def attr(instance_id: str) -> Any:
            request = m.DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
            return rds.describe_dbinstance_attribute(request).body.items.dbinstance_attribute[0]

        on = attr("pgm-bp1aaaaaaaaaaaaa")
        assert (on.lock_mode, on.maintain_time) == ("Unlock", "01:00Z-02:00Z")
        assert attr("pgm-bp1bbbbbbbbbbbbb").lock_reason == "encryption_key_disabled"
        going_instance = attr("pgm-bp1ccccccccccccc")
        assert going_instance.dbinstance_status == "Creating"
        assert going_instance.lock_reason == "encryption_key_pending_deletion"
        # the seeded role really works: a Running instance can switch to the tagged key
        set_key(rds, "pgm-bp1aaaaaaaaaaaaa", "ServiceKey")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "blue"}, "unknown field"),
        ({"rds_instances": [{"id": "pgm-x", "region": "cn-hangzhou", "class": "pg.n2.2c.2m",
                             "encryption": "alias/on"}]}, "IncorrectDBInstanceType"),
        ({"rds_instances": [{"id": "pgm-x", "region": "cn-hangzhou", "class": "pg.x4.large.2c",
                             "storage_type": "cloud_ssd", "encryption": "service"}]},
         "Unsupported.StorageType"),
        ({"rds_instances": [{"id": "pgm-x", "region": "cn-hangzhou", "class": "pg.x4.large.2c",
                             "encryption": "alias/nope"}]}, "KeyNotFound"),
        ({"rds_instances": [{"region": "cn-hangzhou", "class": "pg.x4.large.2c"}]},
         "id is required"),
        ({"kms_keys": [{"region": "cn-hangzhou", "aliases": ["alias/acs/mine"]}]},
         "Unsupported.Alias"),
        ({"ram": {"roles": [{"name": "R", "policies": ["NoSuchPolicy"]}]}}, "EntityNotExist"),
    ],
)  # fmt: skip
def test_bad_seeds_fail_whole(tmp_path: Path, change: dict, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps({**WORLD, **change}))
    store = Store()
    with pytest.raises(SeedError, match=message):
        apply_seed(store, str(path))
    with store.transaction() as tx:
        assert tx.count("rds_instance") == 0 and tx.count("kms_key") == 0


def test_unknown_seed_names_the_built_ins() -> None:
    with pytest.raises(SeedError, match="demo"):
        apply_seed(Store(), "no-such-world")


def test_cli_serve_with_seed_demo(tmp_path: Path) -> None:
    """`reconciler emulator serve --seed demo` starts and serves the demo fleet."""
    state = tmp_path / "state.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--seed", "demo",
         "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("emulator listening on http://"), line
        endpoint = line.strip().rsplit("//", 1)[1]
        rds = sdk_client("rds", endpoint)
        body = rds.describe_dbinstances(m.DescribeDBInstancesRequest(region_id="cn-hangzhou"))
        assert body.body.total_record_count == 9  # eight instances and one read-only
    finally:
        process.terminate()
        process.wait(timeout=10)
