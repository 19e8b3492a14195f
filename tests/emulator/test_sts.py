"""STS through the real clients: alibabacloud-credentials' RamRoleArn provider pointed at the
emulator (`sts_endpoint="http://HOST:PORT"`), the STS SDK, and RDS/KMS calls made with the
issued credentials (docs/emulator.md, "Accounts and STS")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.provider import RamRoleArnCredentialsProvider
from alibabacloud_kms20160120 import models as km
from alibabacloud_rds20140815 import models as rm
from alibabacloud_sts20150401 import models as sm
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.utils_models import Config

from reconciler.emulator.server import Emulator
from tests.emulator.accounts_world import (
    B_INSTANCE,
    CLOSED_ARN,
    ROLE_ARN,
    USER_KEY,
    USER_SECRET,
    A,
    B,
    write_world,
)
from tests.emulator.conftest import AdminClient, sdk_client


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(seed=write_world(tmp_path)) as emulator:
        yield emulator


def _provider(emu: Emulator, role_arn: str = ROLE_ARN, **extra: Any) -> Any:
    return RamRoleArnCredentialsProvider(
        access_key_id=USER_KEY,
        access_key_secret=USER_SECRET,
        role_arn=role_arn,
        role_session_name="ci-run-42",
        sts_endpoint=f"http://{emu.endpoint}",
        **extra,
    )


def _client(service: str, emu: Emulator, creds: Any, **extra: Any) -> Any:
    return sdk_client(service, emu.endpoint, **{**_auth(creds), **extra})


def _sts(emu: Emulator, **auth: Any) -> StsClient:
    return StsClient(Config(endpoint=emu.endpoint, protocol="http", **auth))


def test_the_credentials_provider_assumes_a_role_of_another_account(emu: Emulator) -> None:
    creds = _provider(emu).get_credentials()
    assert creds.get_access_key_id().startswith("STS.")
    assert creds.get_security_token()
    rds = _client("rds", emu, creds)
    listed = rds.describe_dbinstances(rm.DescribeDBInstancesRequest(region_id="cn-hangzhou"))
    ids = [i.dbinstance_id for i in listed.body.items.dbinstance]
    assert ids == [B_INSTANCE]  # the role's account, not the caller's
    sts = _sts(emu, **_auth(creds))
    who = sts.get_caller_identity().body
    assert (who.account_id, who.identity_type) == (B, "AssumedRoleUser")
    assert who.arn == f"acs:ram::{B}:assumed-role/reconciler/ci-run-42"
    assert who.principal_id == f"{who.role_id}:ci-run-42"


def _auth(creds: Any) -> dict[str, str]:
    return {
        "access_key_id": creds.get_access_key_id(),
        "access_key_secret": creds.get_access_key_secret(),
        "security_token": creds.get_security_token(),
    }


def test_assume_role_answer_as_the_sdk_models_it(emu: Emulator) -> None:
    sts = _sts(emu, access_key_id=USER_KEY, access_key_secret=USER_SECRET)
    request = sm.AssumeRoleRequest(
        role_arn=ROLE_ARN, role_session_name="plan@ci", duration_seconds=900
    )
    body = sts.assume_role(request).body
    assert body.assumed_role_user.arn == f"{ROLE_ARN}/plan@ci"
    assert body.assumed_role_user.assumed_role_id.endswith(":plan@ci")
    now = AdminClient(emu.base_url).get("clock")["now"]
    assert body.credentials.expiration > now
    assert body.request_id
    user = sts.get_caller_identity().body
    assert (user.account_id, user.identity_type) == (A, "RAMUser")
    assert user.arn == f"acs:ram::{A}:user/deployer"


def test_a_role_whose_trust_policy_does_not_name_the_caller_is_refused(emu: Emulator) -> None:
    with pytest.raises(CredentialException) as raised:
        _provider(emu, CLOSED_ARN).get_credentials()
    assert "NoPermission" in str(raised.value)
    assert "trust" in str(raised.value)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"role_arn": "acs:ram::2234567890123456:rol/x"}, "InvalidParameter.RoleArn"),
        ({"role_arn": f"acs:ram::{B}:role/nobody"}, "EntityNotExist.Role"),
        ({"role_arn": "acs:ram::9994567890123456:role/reconciler"}, "EntityNotExist.Role"),
        ({"role_session_name": "a"}, "InvalidParameter.RoleSessionName"),
        ({"duration_seconds": 899}, "InvalidParameter.DurationSeconds"),
        ({"duration_seconds": 3601}, "InvalidParameter.DurationSeconds"),
        ({"policy": "{not json"}, "InvalidParameter.PolicyGrammar"),
    ],
)
def test_bad_assume_role_requests(emu: Emulator, fields: dict[str, Any], code: str) -> None:
    sts = _sts(emu, access_key_id=USER_KEY, access_key_secret=USER_SECRET)
    request = sm.AssumeRoleRequest(**{"role_arn": ROLE_ARN, "role_session_name": "ok", **fields})
    with pytest.raises(Exception) as raised:
        sts.assume_role(request)
    assert getattr(raised.value, "code", None) == code


def test_root_keys_may_not_assume_roles(emu: Emulator) -> None:
    sts = _sts(emu, access_key_id="emulator", access_key_secret="emulator-secret")
    request = sm.AssumeRoleRequest(role_arn=ROLE_ARN, role_session_name="root")
    with pytest.raises(Exception) as raised:
        sts.assume_role(request)
    assert getattr(raised.value, "code", None) == "NoPermission"
    assert "root accounts" in str(raised.value)


def test_a_caller_without_sts_permission_is_refused(emu: Emulator) -> None:
    admin = AdminClient(emu.base_url)
    admin.post("users", {"name": "reader", "access_keys": [{"id": "rk", "secret": "rs"}]})
    sts = _sts(emu, access_key_id="rk", access_key_secret="rs")
    with pytest.raises(Exception) as raised:
        sts.assume_role(sm.AssumeRoleRequest(role_arn=ROLE_ARN, role_session_name="reader"))
    assert getattr(raised.value, "code", None) == "NoPermission"
    assert "sts:AssumeRole" in str(raised.value)


def test_the_session_acts_with_the_role_policies_only(emu: Emulator) -> None:
    creds = _provider(emu).get_credentials()
    kms = _client("kms", emu, creds, region_id="cn-hangzhou")
    assert kms.list_keys(km.ListKeysRequest()).body.keys.key  # AliyunKMSReadOnlyAccess
    with pytest.raises(Exception) as raised:
        kms.create_key(km.CreateKeyRequest(description="not allowed"))
    assert getattr(raised.value, "code", None) == "Forbidden.NoPermission"
    assert f"{ROLE_ARN}/ci-run-42" in str(raised.value)  # the session is named


def test_a_session_policy_narrows_the_role(emu: Emulator) -> None:
    policy = '{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}'
    creds = _provider(emu, policy=policy).get_credentials()
    rds = _client("rds", emu, creds)
    with pytest.raises(Exception) as raised:
        rds.describe_dbinstances(rm.DescribeDBInstancesRequest(region_id="cn-hangzhou"))
    assert getattr(raised.value, "code", None) == "Forbidden.RAM"


def test_credentials_expire_on_the_emulated_clock(emu: Emulator) -> None:
    creds = _provider(emu, duration_seconds=900).get_credentials()
    rds = _client("rds", emu, creds)
    request = rm.DescribeDBInstancesRequest(region_id="cn-hangzhou")
    rds.describe_dbinstances(request)
    AdminClient(emu.base_url).post("clock", {"advance_seconds": 901})
    with pytest.raises(Exception) as raised:
        rds.describe_dbinstances(request)
    assert getattr(raised.value, "code", None) == "InvalidSecurityToken.Expired"


def test_an_sts_key_without_its_token_or_with_another_is_refused(emu: Emulator) -> None:
    creds = _provider(emu).get_credentials()
    request = rm.DescribeDBInstancesRequest(region_id="cn-hangzhou")
    bare = sdk_client(
        "rds",
        emu.endpoint,
        access_key_id=creds.get_access_key_id(),
        access_key_secret=creds.get_access_key_secret(),
    )
    with pytest.raises(Exception) as raised:
        bare.describe_dbinstances(request)
    assert getattr(raised.value, "code", None) == "MissingSecurityToken"
    other = _client("rds", emu, creds, security_token="CAISforged")
    with pytest.raises(Exception) as raised:
        other.describe_dbinstances(request)
    assert getattr(raised.value, "code", None) == "InvalidSecurityToken.MismatchWithAccessKey"
