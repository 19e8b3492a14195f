"""Several accounts in one emulator (docs/emulator.md, "Accounts and STS"): each account's
RDS, KMS and RAM world is its own; a request acts in the account of its credentials; RDS
refuses a key of another account; the admin API selects an account with `?account=`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as km
from alibabacloud_rds20140815 import models as rm

from reconciler.emulator.seeds import SeedError
from reconciler.emulator.server import Emulator
from tests.emulator.accounts_world import (
    A_INSTANCE,
    B_INSTANCE,
    B_ROOT_KEY,
    B_ROOT_SECRET,
    B,
    world,
    write_world,
)
from tests.emulator.conftest import AdminClient, sdk_client

REGION = "cn-hangzhou"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(seed=write_world(tmp_path)) as emulator:
        yield emulator


def _clients(emu: Emulator, account_b: bool) -> tuple[Any, Any]:
    auth = {"access_key_id": B_ROOT_KEY, "access_key_secret": B_ROOT_SECRET} if account_b else {}
    rds = sdk_client("rds", emu.endpoint, **auth)
    kms = sdk_client("kms", emu.endpoint, region=REGION, **auth)
    return rds, kms


def _instances(rds: Any) -> list[str]:
    body = rds.describe_dbinstances(rm.DescribeDBInstancesRequest(region_id=REGION)).body
    return [i.dbinstance_id for i in body.items.dbinstance]


def _aliases(kms: Any) -> set[str]:
    body = kms.list_aliases(km.ListAliasesRequest(page_size=100)).body
    return {a.alias_name for a in body.aliases.alias}


def test_each_account_sees_only_its_own_instances_and_keys(emu: Emulator) -> None:
    rds_a, kms_a = _clients(emu, account_b=False)
    rds_b, kms_b = _clients(emu, account_b=True)
    assert _instances(rds_a) == [A_INSTANCE]
    assert _instances(rds_b) == [B_INSTANCE]
    assert "alias/a-key" in _aliases(kms_a) and "alias/b-key" not in _aliases(kms_a)
    assert "alias/b-key" in _aliases(kms_b) and "alias/a-key" not in _aliases(kms_b)
    with pytest.raises(Exception) as raised:
        rds_a.describe_dbinstance_attribute(
            rm.DescribeDBInstanceAttributeRequest(dbinstance_id=B_INSTANCE)
        )
    assert getattr(raised.value, "code", None) == "InvalidDBInstanceId.NotFound"


def test_a_key_made_in_one_account_is_invisible_in_the_other(emu: Emulator) -> None:
    _, kms_a = _clients(emu, account_b=False)
    _, kms_b = _clients(emu, account_b=True)
    made = kms_b.create_key(km.CreateKeyRequest(dkmsinstance_id="kst-hzz0bbbb000000000000001"))
    key_id = made.body.key_metadata.key_id
    assert f":{B}:key/" in made.body.key_metadata.arn
    with pytest.raises(Exception) as raised:
        kms_a.describe_key(km.DescribeKeyRequest(key_id=key_id))
    assert getattr(raised.value, "code", None) == "Forbidden.KeyNotFound"


def _key_of(kms: Any, alias: str) -> str:
    return kms.describe_key(km.DescribeKeyRequest(key_id=alias)).body.key_metadata.key_id


def test_rds_refuses_a_key_of_another_account(emu: Emulator) -> None:
    rds_a, kms_a = _clients(emu, account_b=False)
    _, kms_b = _clients(emu, account_b=True)
    foreign = _key_of(kms_b, "alias/b-key")
    request = rm.ModifyDBInstanceConfigRequest(
        dbinstance_id=A_INSTANCE, config_name="encryptionKey", config_value=foreign
    )
    with pytest.raises(Exception) as raised:
        rds_a.modify_dbinstance_config(request)
    assert getattr(raised.value, "code", None) == "KmsApiError"
    assert "another account" in str(raised.value)
    own = _key_of(kms_a, "alias/a-key")
    request.config_value = own
    rds_a.modify_dbinstance_config(request)  # its own account's key is fine


def _admin(emu: Emulator, method: str, name: str, body: dict | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    url = f"{emu.base_url}/_emulator/{name}"
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_admin_api_selects_an_account(emu: Emulator) -> None:
    assert _admin(emu, "GET", "accounts")["accounts"] == ["1234567890123456", B]
    ops = {"id": "b-ops", "secret": "b-ops-secret"}
    user = {"name": "ops", "access_keys": [ops], "policies": ["AliyunRDSFullAccess"]}
    _admin(emu, "POST", f"users?account={B}", user)
    users_b = [u["arn"] for u in _admin(emu, "GET", f"users?account={B}")["users"]]
    assert users_b == [f"acs:ram::{B}:user/ops"]
    assert _admin(emu, "GET", "users")["users"][0]["name"] == "deployer"
    rds = sdk_client("rds", emu.endpoint, access_key_id="b-ops", access_key_secret="b-ops-secret")
    assert _instances(rds) == [B_INSTANCE]  # a user of B acts in B
    with pytest.raises(urllib.error.HTTPError) as raised:
        _admin(emu, "GET", "users?account=9999999999999999")
    assert raised.value.code == 404


def test_a_key_id_is_unique_across_accounts(emu: Emulator) -> None:
    body = {"name": "dup", "access_keys": [{"id": "deployer-key", "secret": "x"}]}
    with pytest.raises(urllib.error.HTTPError) as raised:
        _admin(emu, "POST", f"users?account={B}", body)
    assert raised.value.code == 400


def test_single_account_admin_and_seeds_keep_working(emu: Emulator) -> None:
    admin = AdminClient(emu.base_url)
    assert admin.get("calls")["total"] >= 0
    assert [u["name"] for u in admin.get("users")["users"]] == ["deployer"]


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ({"12": {}}, "16 digits"),
        ({B: {"rds_instances": "x", "unknown": 1}}, "unknown field"),
        ({B: {"access_key": {"id": "k"}}}, "access_key"),
    ],
)
def test_bad_account_seeds_are_refused(tmp_path: Path, accounts: dict, message: str) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**world(), "accounts": accounts}), encoding="utf-8")
    with pytest.raises(SeedError, match=message):
        Emulator(seed=str(path))
