"""Build small worlds in the emulator through the real SDK (tests only; the product code
never imports the SDK outside reconciler/cloud/)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from reconciler.emulator.clock import iso, parse_iso

if TYPE_CHECKING:
    from reconciler.emulator.server import Emulator

ACCOUNT = "1234567890123456"
DEMO_WINDOW = "18:00Z-22:00Z"
"""The maintenance window of the demo world's instances (reconciler/emulator/seeds)."""
OUTSIDE_DEMO_WINDOW = time(3, 0)
KMS_INSTANCES = {
    "cn-hangzhou": "kst-hzz62d0demo0000000000001",
    "cn-shanghai": "kst-shh62d0demo0000000000002",
}
"""The KMS instance of each region in the demo world (seeds/demo.yaml) and in the empty world
of tests/e2e/conftest.py: keys the tests make live in them (KMS keeps one default key per
region)."""
INSIDE_DEMO_WINDOW = time(19, 30)


def sdk_config(endpoint: str, region: str = "cn-hangzhou") -> Any:
    from alibabacloud_tea_openapi.utils_models import Config

    return Config(
        access_key_id="emulator",
        access_key_secret="emulator-secret",
        region_id=region,
        endpoint=endpoint,
        protocol="http",
    )


def rds(endpoint: str, region: str = "cn-hangzhou") -> Any:
    from alibabacloud_rds20140815.client import Client

    return Client(sdk_config(endpoint, region))


def kms(endpoint: str, region: str = "cn-hangzhou") -> Any:
    from alibabacloud_kms20160120.client import Client

    return Client(sdk_config(endpoint, region))


def ram(endpoint: str) -> Any:
    from alibabacloud_ram20150501.client import Client

    return Client(sdk_config(endpoint))


def create_instance(
    endpoint: str,
    *,
    region: str = "cn-hangzhou",
    class_code: str = "pg.x4.large.2c",
    category: str = "HighAvailability",
    storage_type: str = "cloud_essd",
    engine: str = "PostgreSQL",
    engine_version: str = "16.0",
    encryption_key: str | None = None,
    role_arn: str | None = None,
    client: Any = None,
) -> str:
    """A PostgreSQL instance created through `client` (default: the emulator's own account)."""
    from alibabacloud_rds20140815 import models

    request = models.CreateDBInstanceRequest(
        region_id=region,
        engine=engine,
        engine_version=engine_version,
        dbinstance_class=class_code,
        dbinstance_storage=100,
        dbinstance_storage_type=storage_type,
        category=category,
        dbinstance_net_type="Intranet",
        pay_type="Postpaid",
        security_iplist="10.0.0.0/8",
        encryption_key=encryption_key,
        role_arn=role_arn,
    )
    return (client or rds(endpoint, region)).create_dbinstance(request).body.dbinstance_id


def create_key(
    endpoint: str,
    *,
    region: str = "cn-hangzhou",
    alias: str | None = None,
    tags: dict[str, str] | None = None,
    description: str = "",
    kms_instance: str | None = "",
) -> str:
    """A key in the region's test KMS instance (KMS_INSTANCES); `kms_instance=None` makes the
    region's default key instead."""
    from alibabacloud_kms20160120 import models

    client = kms(endpoint, region)
    if kms_instance == "":
        ensure_kms_instance(endpoint, region)
    tag_list = [{"TagKey": k, "TagValue": v} for k, v in (tags or {}).items()]
    key_id = client.create_key(
        models.CreateKeyRequest(
            description=description,
            tags=json.dumps(tag_list) if tag_list else None,
            dkmsinstance_id=KMS_INSTANCES[region] if kms_instance == "" else kms_instance,
        )
    ).body.key_metadata.key_id
    if alias:
        client.create_alias(models.CreateAliasRequest(alias_name=alias, key_id=key_id))
    return key_id


def disable_key(endpoint: str, key_id: str, region: str = "cn-hangzhou") -> None:
    from alibabacloud_kms20160120 import models

    kms(endpoint, region).disable_key(models.DisableKeyRequest(key_id=key_id))


def admin(endpoint: str, method: str, name: str, body: dict | None = None) -> dict:
    """Call the emulator's admin API under /_emulator/."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://{endpoint}/_emulator/{name}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def set_quota(endpoint: str, action: str, per_second: int) -> None:
    """Past `per_second` calls of `action`, the emulator answers the real throttling error."""
    admin(endpoint, "POST", "quota", {"action": action, "per_second": per_second})


def calls(endpoint: str) -> dict[str, int]:
    return admin(endpoint, "GET", "calls")["by_action"]


def reset_calls(endpoint: str) -> None:
    admin(endpoint, "DELETE", "calls")


def clock_at(endpoint: str, time_of_day: time) -> datetime:
    """Advance the emulated clock to the next `time_of_day` (UTC) at least a minute ahead, and
    return that instant: the emulated clock starts at the real time, so a test that needs to be
    inside or outside a maintenance window stands there itself, whatever the real hour."""
    now = parse_iso(admin(endpoint, "GET", "clock")["now"])
    moment = datetime.combine(now.date(), time_of_day, UTC)
    while moment < now + timedelta(minutes=1):
        moment += timedelta(days=1)
    admin(endpoint, "POST", "clock", {"advance_to": iso(moment)})
    return moment


def ensure_kms_instance(endpoint: str, region: str) -> None:
    """The region's test KMS instance (KMS_INSTANCES), made if absent (Connected, 1000 keys,
    far from expiry); an existing one is left as it is."""
    from alibabacloud_kms20160120 import models
    from Tea.exceptions import TeaException

    instance_id = KMS_INSTANCES[region]
    try:
        kms(endpoint, region).get_kms_instance(
            models.GetKmsInstanceRequest(kms_instance_id=instance_id)
        )
    except TeaException:
        body = {"region": region, "instance_id": instance_id, "key_num": 1000}
        admin(endpoint, "POST", "kms/instances", {**body, "end_date": "2099-12-31T00:00:00Z"})


def with_kms_instances(emu: Emulator) -> Emulator:
    """`emu` with the KMS instances of KMS_INSTANCES."""
    for region in KMS_INSTANCES:
        ensure_kms_instance(emu.endpoint, region)
    return emu


def in_kms_instances(doc: dict[str, Any]) -> dict[str, Any]:
    """A spec document whose keys live in the test KMS instances: each key without
    `kms_instance` (and no `defaults.kms_instance`) gets its region's; a key that says
    `kms_instance: null` stays its region's default key."""
    keys = doc.get("kms_keys")
    defaults = doc.get("defaults") or {}
    if not isinstance(keys, dict) or not isinstance(defaults, dict) or "kms_instance" in defaults:
        return doc
    region = defaults.get("region", "cn-hangzhou")
    placed = {}
    for name, key in keys.items():
        if isinstance(key, dict) and "kms_instance" not in key:
            where = KMS_INSTANCES.get(key.get("region", region))
            key = {**key, "kms_instance": where} if where else key
        elif isinstance(key, dict) and key.get("kms_instance") is None:
            key = {k: v for k, v in key.items() if k != "kms_instance"}
        placed[name] = key
    return {**doc, "kms_keys": placed}


def outside_the_window(emu: Emulator) -> Emulator:
    """`emu` with its emulated clock at 03:00Z, outside the maintenance window every instance
    gets unless told otherwise (DEMO_WINDOW): a fixture's world behaves alike at any real hour."""
    clock_at(emu.endpoint, OUTSIDE_DEMO_WINDOW)
    return emu


@dataclass(frozen=True)
class StsCredentials:
    access_key_id: str
    access_key_secret: str
    security_token: str


def sts_credentials(emulator: Emulator, root_secret: str = "emulator-secret") -> StsCredentials:
    """Real STS credentials of the emulator's own account, as a CI job holds them: a RAM user
    that may assume roles (the account's own key may not: docs/emulator.md, "Accounts and
    STS") assumes a role with AdministratorAccess that trusts the account."""
    from alibabacloud_credentials.provider import RamRoleArnCredentialsProvider
    from alibabacloud_ram20150501 import models as ram
    from alibabacloud_ram20150501.client import Client as RamClient
    from alibabacloud_tea_openapi.utils_models import Config

    account = emulator.state.settings.account_id
    user_key, user_secret = "ci-sts-user", "ci-sts-user-secret"
    admin(
        emulator.endpoint,
        "POST",
        "users",
        {
            "name": "ci-sts",
            "access_keys": [{"id": user_key, "secret": user_secret}],
            "policies": ["AliyunSTSAssumeRoleAccess"],
        },
    )
    root = RamClient(
        Config(
            endpoint=emulator.endpoint,
            protocol="http",
            access_key_id=emulator.state.settings.access_key_id,
            access_key_secret=root_secret,
        )
    )
    trust = {
        "Version": "1",
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"RAM": [f"acs:ram::{account}:root"]},
            }
        ],
    }
    root.create_role(
        ram.CreateRoleRequest(role_name="ci-sts", assume_role_policy_document=json.dumps(trust))
    )
    root.attach_policy_to_role(
        ram.AttachPolicyToRoleRequest(
            policy_type="System", policy_name="AdministratorAccess", role_name="ci-sts"
        )
    )
    creds = RamRoleArnCredentialsProvider(
        access_key_id=user_key,
        access_key_secret=user_secret,
        role_arn=f"acs:ram::{account}:role/ci-sts",
        role_session_name="ci",
        sts_endpoint=f"http://{emulator.endpoint}",
    ).get_credentials()
    return StsCredentials(
        creds.get_access_key_id(), creds.get_access_key_secret(), creds.get_security_token()
    )
