"""Values the emulator derives from its store and keeps until the next write (store.Derived;
docs/emulator.md, "Performance"): every answer after a write, through the API, the admin API
or a seed, is the one a fresh read gives. Each test first makes a call that fills the kept
value, then writes, then checks the answer changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from alibabacloud_kms20160120 import models as km
from alibabacloud_ram20150501 import models as rm
from alibabacloud_rds20140815 import models as rdsm

from reconciler.emulator.seeds import apply_seed
from reconciler.emulator.server import Emulator
from reconciler.emulator.store import Store
from tests.e2e.world import sts_credentials
from tests.emulator.conftest import AdminClient, sdk_client

KEY = {"id": "derived-user-key", "secret": "derived-user-secret"}
ALLOW_DESCRIBE_KEY = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": ["kms:DescribeKey"], "Resource": "*"}],
}


def _user_kms(emulator: Emulator, secret: str = KEY["secret"]) -> Any:
    return sdk_client("kms", emulator.endpoint, access_key_id=KEY["id"], access_key_secret=secret)


def _describe_service_key(client: Any) -> Any:
    return client.describe_key(km.DescribeKeyRequest(key_id="alias/acs/rds"))


def test_a_users_new_policies_apply_at_once_after_the_admin_api_replaces_them(
    emulator: Emulator, admin: AdminClient, api_error: Callable[..., Any]
) -> None:
    admin.post("users", {"name": "ci", "access_keys": [KEY], "documents": [ALLOW_DESCRIBE_KEY]})
    client = _user_kms(emulator)
    assert _describe_service_key(client).body.key_metadata.creator == "Rds"
    admin.post("users", {"name": "ci", "access_keys": [KEY], "documents": []})
    error = api_error(lambda: _describe_service_key(client))
    assert (error.code, error.data["statusCode"]) == ("Forbidden.NoPermission", 403)


def test_a_replaced_secret_is_refused_and_the_new_one_accepted(
    emulator: Emulator, admin: AdminClient, api_error: Callable[..., Any]
) -> None:
    admin.post("users", {"name": "ci", "access_keys": [KEY], "documents": [ALLOW_DESCRIBE_KEY]})
    _describe_service_key(_user_kms(emulator))
    new_key = {"id": KEY["id"], "secret": "another-secret"}
    admin.post("users", {"name": "ci", "access_keys": [new_key], "documents": [ALLOW_DESCRIBE_KEY]})
    error = api_error(lambda: _describe_service_key(_user_kms(emulator)))
    assert error.code == "SignatureDoesNotMatch"
    assert _describe_service_key(_user_kms(emulator, "another-secret")).body.key_metadata.key_id


def test_a_deleted_users_key_is_unknown_at_once(
    emulator: Emulator, admin: AdminClient, api_error: Callable[..., Any]
) -> None:
    admin.post("users", {"name": "ci", "access_keys": [KEY], "documents": [ALLOW_DESCRIBE_KEY]})
    _describe_service_key(_user_kms(emulator))
    admin.delete("users")
    error = api_error(lambda: _describe_service_key(_user_kms(emulator)))
    assert error.code == "InvalidAccessKeyId.NotFound"


def test_a_role_policy_detached_through_ram_stops_its_sessions_at_once(
    emulator: Emulator, api_error: Callable[..., Any]
) -> None:
    sts = sts_credentials(emulator)
    session = sdk_client(
        "kms",
        emulator.endpoint,
        access_key_id=sts.access_key_id,
        access_key_secret=sts.access_key_secret,
        security_token=sts.security_token,
    )
    assert _describe_service_key(session).body.key_metadata.creator == "Rds"
    sdk_client("ram", emulator.endpoint).detach_policy_from_role(
        rm.DetachPolicyFromRoleRequest(
            policy_type="System", policy_name="AdministratorAccess", role_name="ci-sts"
        )
    )
    error = api_error(lambda: _describe_service_key(session))
    assert error.code == "Forbidden.NoPermission"


def test_an_alias_created_through_kms_shows_in_rds_key_details(rds: Any, kms: Any) -> None:
    from tests.emulator.rds_fixtures import create_instance, create_key

    key_id, instance_id = create_key(kms), create_instance(rds)
    request = rdsm.DescribeDBInstanceEncryptionKeyRequest(
        dbinstance_id=instance_id, encryption_key=key_id
    )

    def alias_names() -> list[str]:
        body = rds.describe_dbinstance_encryption_key(request).body
        return [e.alias_name for e in body.encryption_key_list]

    assert alias_names() == [""]
    kms.create_alias(km.CreateAliasRequest(alias_name="alias/derived", key_id=key_id))
    assert alias_names() == ["alias/derived"]
    kms.delete_alias(km.DeleteAliasRequest(alias_name="alias/derived"))
    assert alias_names() == [""]


def _seed(path: Path, primary_id: str, read_only: list[str]) -> str:
    primary = {
        "id": primary_id,
        "region": "cn-hangzhou",
        "class": "pg.n2.2c.2m",
        "encryption": "service",
        "read_only": [{"id": i} for i in read_only],
    }
    path.write_text(yaml.safe_dump({"rds_instances": [primary]}))
    return str(path)


def test_a_read_only_instance_added_by_a_seed_is_listed_under_its_primary(
    tmp_path: Path, rds: Any, emulator: Emulator
) -> None:
    """The first listing keeps "no instance of the region has read-only ones"; the second
    seed adds a primary with one."""
    apply_seed(emulator.state, _seed(tmp_path / "one.yaml", "pgm-bp1derived000001", []))

    def readers() -> dict[str, list[str]]:
        request = rdsm.DescribeDBInstancesRequest(region_id="cn-hangzhou")
        items = rds.describe_dbinstances(request).body.items.dbinstance
        return {
            i.dbinstance_id: [
                r.dbinstance_id for r in i.read_only_dbinstance_ids.read_only_dbinstance_id
            ]
            for i in items
            if i.dbinstance_type != "Readonly"
        }

    assert readers() == {"pgm-bp1derived000001": []}
    second = _seed(tmp_path / "two.yaml", "pgm-bp1derived000002", ["pgm-bp1derivedro0001"])
    apply_seed(emulator.state, second)
    assert readers() == {
        "pgm-bp1derived000001": [],
        "pgm-bp1derived000002": ["pgm-bp1derivedro0001"],
    }


@pytest.fixture
def store() -> Any:
    with_store = Store(":memory:")
    yield with_store
    with_store.close()


def _count(tx: Any) -> int:
    return len(tx.list("thing", "r"))


def test_a_derived_value_is_forgotten_by_every_write_and_by_a_rollback(store: Store) -> None:
    calls: list[int] = []

    def derived(tx: Any) -> int:
        return tx.derived("things", lambda: calls.append(1) or _count(tx))

    with store.transaction() as tx:
        assert (derived(tx), derived(tx)) == (0, 0)
        tx.put("thing", "r", "a", {})
        assert derived(tx) == 1
    assert len(calls) == 2
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put("thing", "r", "b", {})
        assert derived(tx) == 2
        raise RuntimeError("rolled back")
    with store.transaction() as tx:
        assert derived(tx) == 1  # not the rolled-back 2
        tx.set_meta("k", "v")
        derived(tx)
        tx.delete("thing", "r", "a")
        assert derived(tx) == 0
    assert len(calls) == 6


def test_a_derived_value_is_kept_per_account(store: Store) -> None:
    with store.transaction() as tx:
        tx.in_account("2234567890123456").put("thing", "r", "a", {})
        other = tx.in_account("2234567890123456")
        assert tx.derived("things", lambda: _count(tx)) == 0
        assert other.derived("things", lambda: _count(other)) == 1
    assert store.derived("things", _count) == 0


def test_the_store_level_lookup_sees_a_write_made_after_it(store: Store) -> None:
    assert store.derived("things", _count) == 0
    with store.transaction() as tx:
        tx.put("thing", "r", "a", {"v": json.dumps(1)})
    assert store.derived("things", _count) == 1


def test_a_listed_document_read_again_after_a_write_or_a_rollback_is_the_new_one(
    store: Store,
) -> None:
    with store.transaction() as tx:
        tx.put("thing", "r", "a", {"v": 1})
    with store.transaction() as tx:
        assert tx.list("thing", "r") == [{"v": 1}]  # keeps the JSON of "a"
        tx.get("thing", "r", "a")["v"] = 99  # a reader's change is its own
        assert tx.get("thing", "r", "a") == {"v": 1}
        tx.put("thing", "r", "a", {"v": 2})
        assert tx.get("thing", "r", "a") == {"v": 2}
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put("thing", "r", "a", {"v": 3})
        assert tx.get("thing", "r", "a") == {"v": 3}
        raise RuntimeError("rolled back")
    with store.transaction() as tx:
        assert tx.get("thing", "r", "a") == {"v": 2}  # not the rolled-back 3
        tx.delete("thing", "r", "a")
        assert tx.get("thing", "r", "a") is None


def test_an_instance_listed_then_deleted_through_the_api_is_not_found(
    rds: Any, api_error: Callable[..., Any]
) -> None:
    from tests.emulator.rds_fixtures import create_instance

    instance_id = create_instance(rds)
    rds.describe_dbinstances(rdsm.DescribeDBInstancesRequest(region_id="cn-hangzhou"))
    request = rdsm.DescribeDBInstanceEncryptionKeyRequest(dbinstance_id=instance_id)
    assert rds.describe_dbinstance_encryption_key(request).body.encryption_key == ""
    rds.delete_dbinstance(rdsm.DeleteDBInstanceRequest(dbinstance_id=instance_id))
    error = api_error(lambda: rds.describe_dbinstance_encryption_key(request))
    assert error.code == "InvalidDBInstanceId.NotFound"


def test_a_ram_user_allowed_by_resource_then_refused_on_another_instance(
    emulator: Emulator, admin: AdminClient, api_error: Callable[..., Any]
) -> None:
    """A decision is shared between resources only when every statement names every resource:
    a policy on one key's ARN allows that key and still refuses another."""
    kms = sdk_client("kms", emulator.endpoint)
    service = _describe_service_key(kms).body.key_metadata
    other = kms.create_key(km.CreateKeyRequest(description="other")).body.key_metadata
    only_service = {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": service.arn}],
    }
    admin.post("users", {"name": "ci", "access_keys": [KEY], "documents": [only_service]})
    client = _user_kms(emulator)
    assert _describe_service_key(client).body.key_metadata.key_id == service.key_id
    error = api_error(lambda: client.describe_key(km.DescribeKeyRequest(key_id=other.key_id)))
    assert error.code == "Forbidden.NoPermission"
