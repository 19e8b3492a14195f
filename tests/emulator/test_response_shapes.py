"""Every emulated action answers in the shape the official SDK models parse (errors:
test_error_shapes.py).

Success shapes: one scenario drives EVERY registered action through the official SDK clients
(several variants where the answer's shape depends on the state: rotation, deletion
protection, pending deletion, encryption off/service key/CMK, serverless, both paging styles).
The SDK client's `call_api` is wrapped to keep the JSON body the server sent (the request still
goes over HTTP, unchanged). For each answer:
- the SDK parsed it: a body the model cannot parse is silently kept raw by
  `DaraCore.from_map` (every typed field None), so that is checked first;
- every key the server sent, recursively, survives `response.body.to_map()` with its value:
  a misspelt or wrongly wrapped field would be dropped here;
- every value has the type the model declares (str / int / float / bool / list / object).
"""

from __future__ import annotations

import importlib
import json
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from darabonba.model import DaraModel

from reconciler.emulator.dispatch import registered_services
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.emulator.services import load_services
from tests.emulator import wire_client as wc
from tests.emulator.conftest import SDK_MODULES, AdminClient, sdk_client

MODELS = {name: module.replace(".client", ".models") for name, module in SDK_MODULES.items()}
REGION, ACCOUNT = "cn-hangzhou", "1234567890123456"
DEMO_KMS_INSTANCE = "kst-hzz62d0demo0000000000001"
"""The demo seed's KMS instance in cn-hangzhou (reconciler/emulator/seeds/demo.yaml)."""
ROLE = "AliyunRDSInstanceEncryptionDefaultRole"
DOC = json.dumps(
    {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
)
TRUST = json.dumps(
    {
        "Version": "1",
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": ["rds.aliyuncs.com"]},
            }
        ],
    }
)
RDS_TAG = json.dumps([{"TagKey": "acs:rds:instance-encryption", "TagValue": "true"}])
# demo world (reconciler/emulator/seeds/demo.yaml)
OFF, SERVICE, CMK = "pgm-bp1ded0000000001", "pgm-bp1ded0000000002", "pgm-bp1ded0000000003"
SERVERLESS = "pgm-bp1sls0000000001"
READ_ONLY = "pgm-bp1ro00000000001"  # OFF's read-only instance


def all_actions() -> list[tuple[str, str]]:
    load_services()
    return sorted((s.name, a) for s in registered_services().values() for a in s.actions)


# --- the checker ---------------------------------------------------------------------------


def _scalar_ok(value: Any, hint: Any) -> bool:
    if hint is str:
        return isinstance(value, str)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if typing.get_origin(hint) is dict or hint is dict:
        return isinstance(value, dict)
    return True  # Any


def _type_problems(model: DaraModel, path: str) -> list[str]:
    out: list[str] = []
    hints = typing.get_type_hints(type(model).__init__)
    for attr, value in vars(model).items():
        if attr.startswith("_") or value is None:
            continue
        hint, where = hints.get(attr, Any), f"{path}.{attr}" if path else attr
        item_hint = typing.get_args(hint)[0] if typing.get_origin(hint) is list else None
        values = value if item_hint is not None else [value]
        if item_hint is not None and not isinstance(value, list):
            out.append(f"{where}: {value!r} is not a list")
            continue
        for index, item in enumerate(values):
            at = f"{where}[{index}]" if item_hint is not None else where
            want = item_hint if item_hint is not None else hint
            if isinstance(want, type) and issubclass(want, DaraModel):
                if not isinstance(item, want) or item._map is not None:
                    out.append(f"{at}: not parsed as {want.__name__}")
                else:
                    out.extend(_type_problems(item, at))
            elif not _scalar_ok(item, want):
                out.append(f"{at}: {item!r} is not {getattr(want, '__name__', want)}")
    return out


def _dropped(sent: Any, kept: Any, path: str) -> list[str]:
    """Keys (recursively) the server sent that the model did not keep with the same value."""
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [f"{path or '<body>'}: an object became {type(kept).__name__}"]
        out: list[str] = []
        for key, value in sent.items():
            where = f"{path}.{key}" if path else key
            out.extend(_dropped(value, kept[key], where) if key in kept else [f"{where}: dropped"])
        return out
    if isinstance(sent, list):
        if not isinstance(kept, list) or len(kept) != len(sent):
            return [f"{path}: list not kept"]
        return [
            p
            for i, (a, b) in enumerate(zip(sent, kept, strict=True))
            for p in _dropped(a, b, f"{path}[{i}]")
        ]
    return [] if sent == kept else [f"{path}: {sent!r} became {kept!r}"]


def shape_problems(response: Any, sent: dict[str, Any]) -> list[str]:
    """What the SDK lost or mistyped of the body `sent` (empty when the shape is right)."""
    if response._map is not None or response.body is None or response.body._map is not None:
        return ["<body>: the SDK could not parse the answer (kept raw, all fields None)"]
    return _dropped(sent, response.body.to_map(), "") + _type_problems(response.body, "")


# --- the recording SDK clients and the scenario -------------------------------------------


@dataclass
class Recorded:
    service: str
    action: str
    sent: dict[str, Any]  # the JSON body as received from the server
    response: Any  # the SDK's typed response


class Sdk:
    """Official SDK clients; `call(service, action, **fields)` records what the server sent."""

    def __init__(self, endpoint: str) -> None:
        self.calls: list[Recorded] = []
        self._last: dict[str, Any] = {}
        self.clients = {name: self._recording(sdk_client(name, endpoint)) for name in MODELS}

    def _recording(self, client: Any) -> Any:
        original = client.call_api

        def call_api(params: Any, request: Any, runtime: Any) -> dict[str, Any]:
            self._last = original(params, request, runtime)
            return self._last

        client.call_api = call_api  # the instance attribute shadows the method
        return client

    def call(self, service: str, action: str, **fields: Any) -> Any:
        client, models = self.clients[service], importlib.import_module(MODELS[service])
        methods = {n.replace("_", ""): n for n in dir(type(client)) if not n.startswith("_")}
        method = getattr(client, methods[action.lower()])
        request_type = getattr(models, f"{action}Request", None)
        response = method() if request_type is None else method(request_type(**fields))
        self.calls.append(Recorded(service, action, self._last["body"], response))
        return response.body


def _kms(sdk: Sdk, admin: AdminClient) -> str:
    """Every KMS action; returns a tagged, enabled key for the RDS part."""
    kms = lambda action, **f: sdk.call("kms", action, **f)  # noqa: E731
    inside = {"dkmsinstance_id": DEMO_KMS_INSTANCE}  # the demo seed's (KMS keeps one default key)
    key = kms("CreateKey", description="k1", tags=RDS_TAG, **inside).key_metadata.key_id
    other = kms("CreateKey", enable_automatic_rotation=True, rotation_interval="7d", **inside)
    k2 = other.key_metadata.key_id
    kms("CreateKey", origin="EXTERNAL", **inside)
    kms("CreateKey", description="the region's default key")  # no DKMSInstanceId
    kms("ListKmsInstances", page_size=1)
    kms("GetKmsInstance", kms_instance_id=DEMO_KMS_INSTANCE)
    kms("GetKmsInstanceQuotaInfos", kms_instance_id=DEMO_KMS_INSTANCE)
    kms("GetKmsInstanceQuotaInfos", kms_instance_id=DEMO_KMS_INSTANCE, resource_type="key")
    kms("DescribeKey", key_id="alias/acs/rds")
    kms("ListKeys", page_size=2)
    kms("ListKeys", filters=json.dumps([{"Key": "KeyState", "Values": ["Enabled"]}]))
    kms("CreateAlias", alias_name="alias/shapes", key_id=key)
    kms("UpdateAlias", alias_name="alias/shapes", key_id=k2)
    kms("ListAliases", page_size=5)
    kms("ListAliasesByKeyId", key_id=k2)
    kms("DeleteAlias", alias_name="alias/shapes")
    kms("TagResource", key_id=k2, tags=json.dumps([{"TagKey": "team", "TagValue": "dba"}]))
    kms("ListResourceTags", key_id=k2)
    kms("UntagResource", key_id=k2, tag_keys='["team"]')
    kms("UpdateRotationPolicy", key_id=k2, enable_automatic_rotation=True, rotation_interval="8d")
    admin.post("clock", {"advance_seconds": 9 * 86400})
    kms("DescribeKey", key_id=k2)  # LastRotationDate
    kms("DisableKey", key_id=k2)
    kms("DescribeKey", key_id=k2)  # rotation Suspended
    kms("EnableKey", key_id=k2)
    arn = f"acs:kms:{REGION}:{ACCOUNT}:key/{k2}"
    kms(
        "SetDeletionProtection",
        protected_resource_arn=arn,
        enable_deletion_protection=True,
        deletion_protection_description="keep",
    )
    kms("DescribeKey", key_id=k2)  # DeletionProtectionDescription
    kms("SetDeletionProtection", protected_resource_arn=arn, enable_deletion_protection=False)
    kms("UpdateKeyDescription", key_id=k2, description="second")
    kms("ScheduleKeyDeletion", key_id=k2, pending_window_in_days=7)
    kms("DescribeKey", key_id=k2)  # DeleteDate
    kms("CancelKeyDeletion", key_id=k2)
    kms("DescribeAccountKmsStatus")
    kms("DescribeRegions")
    return str(key)


def _ram(sdk: Sdk) -> None:
    ram = lambda action, **f: sdk.call("ram", action, **f)  # noqa: E731
    ram("CreatePolicy", policy_name="Shapes", policy_document=DOC, description="d")
    ram("GetPolicy", policy_name="Shapes", policy_type="Custom")
    ram("GetPolicy", policy_name="AliyunRDSInstanceEncryptionRolePolicy", policy_type="System")
    ram("CreatePolicyVersion", policy_name="Shapes", policy_document=DOC, set_as_default=True)
    ram("GetPolicyVersion", policy_name="Shapes", policy_type="Custom", version_id="v1")
    ram("ListPolicyVersions", policy_name="Shapes", policy_type="Custom")
    ram("SetDefaultPolicyVersion", policy_name="Shapes", version_id="v1")
    ram("DeletePolicyVersion", policy_name="Shapes", version_id="v2")
    ram("CreateRole", role_name=ROLE, assume_role_policy_document=TRUST, description="rds")
    ram("GetRole", role_name=ROLE)
    ram("UpdateRole", role_name=ROLE, new_description="rds disk encryption")
    for policy_type, name in (
        ("Custom", "Shapes"),
        ("System", "AliyunRDSInstanceEncryptionRolePolicy"),
    ):
        ram("AttachPolicyToRole", policy_type=policy_type, policy_name=name, role_name=ROLE)
    ram("ListPoliciesForRole", role_name=ROLE)
    ram("DetachPolicyFromRole", policy_type="Custom", policy_name="Shapes", role_name=ROLE)
    ram("DeletePolicy", policy_name="Shapes")
    ram("CreateRole", role_name="Scratch", assume_role_policy_document=TRUST)
    ram("DeleteRole", role_name="Scratch")


def _rds(sdk: Sdk, admin: AdminClient, key_id: str) -> None:
    rds = lambda action, **f: sdk.call("rds", action, **f)  # noqa: E731
    rds("DescribeDBInstances", region_id=REGION, page_size=3, page_number=2)
    token = rds("DescribeDBInstances", region_id=REGION, max_results=3).next_token
    rds("DescribeDBInstances", region_id=REGION, max_results=3, next_token=token)
    for instance_id in (OFF, CMK, SERVERLESS, READ_ONLY):
        rds("DescribeDBInstanceAttribute", dbinstance_id=instance_id)
    for instance_id in (OFF, SERVICE, CMK):
        rds("DescribeDBInstanceEncryptionKey", dbinstance_id=instance_id, region_id=REGION)
    rds("CheckCloudResourceAuthorized", dbinstance_id=OFF, region_id=REGION)
    rds(
        "ModifyDBInstanceConfig",
        dbinstance_id=OFF,
        config_name="encryptionKey",
        config_value=key_id,
    )
    rds("DescribeDBInstanceAttribute", dbinstance_id=OFF)  # CONFIG_ENCRYPTING
    admin.post("clock", {"advance_seconds": 600})  # the change is done: OFF now uses the key
    rds(
        "DescribeKmsAssociateResources",
        kms_resource_id=key_id,
        kms_resource_type="key",
        kms_resource_user=ACCOUNT,  # required (SDK)
        region_id=REGION,
    )
    rds(
        "DescribeHistoryTasks",
        region_id=REGION,
        from_start_time="2000-01-01T00:00:00Z",
        to_start_time="2999-01-01T00:00:00Z",
    )
    rds("ModifyDBInstanceMaintainTime", dbinstance_id=SERVICE, maintain_time="02:00Z-03:00Z")
    _tde(rds, admin, key_id)
    rds("CreateBackup", dbinstance_id=CMK, backup_method="Snapshot")
    rds("CreateBackup", dbinstance_id=OFF, backup_method="Snapshot", backup_retention_period=-1)
    admin.post("clock", {"advance_seconds": 86400})  # a daily set of each instance
    rds("DescribeBackups", dbinstance_id=CMK, page_size=30)
    rds("DescribeBackups", dbinstance_id=OFF, page_size=30, page_number=1)
    created = rds(
        "CreateDBInstance",
        region_id=REGION,
        engine="PostgreSQL",
        engine_version="16.0",
        dbinstance_class="pg.x4.large.2c",
        dbinstance_storage=100,
        dbinstance_net_type="Intranet",
        pay_type="Postpaid",
        security_iplist="10.0.0.0/8",
    )
    admin.post("clock", {"advance_seconds": 600})
    _tags(rds, created.dbinstance_id)
    rds("DeleteDBInstance", dbinstance_id=created.dbinstance_id)


def _tags(rds: Any, instance_id: str) -> None:
    """Tag writes; ListTagResources by id (one page) and by tag: the new instance's 20 tags and
    3 demo instances' 17 each are 71 rows, two pages (50 a page), so NextToken is sent too."""
    request_tag = importlib.import_module(MODELS["rds"]).TagResourcesRequestTag
    filter_tag = importlib.import_module(MODELS["rds"]).ListTagResourcesRequestTag
    common = {"region_id": REGION, "resource_type": "INSTANCE"}
    many = [request_tag(key=f"k{i:02}", value="v") for i in range(20)]
    rds("TagResources", resource_id=[instance_id], tag=many, **common)
    rds("TagResources", resource_id=[OFF, SERVICE, CMK], tag=many[:15], **common)
    rds("ListTagResources", resource_id=[instance_id], **common)
    first = rds("ListTagResources", tag=[filter_tag(key="k00")], **common)
    rds("ListTagResources", tag=[filter_tag(key="k00")], next_token=first.next_token, **common)
    rds("DescribeDBInstances", region_id=REGION, tags=json.dumps({"env": "prod"}))
    rds("UntagResources", resource_id=[instance_id], tag_key=["k00"], **common)
    rds("UntagResources", resource_id=[OFF, SERVICE, CMK], all=True, **common)


def _tde(rds: Any, admin: AdminClient, key_id: str) -> None:
    """TDE off, then on: a generated key on SERVICE, the CMK on OFF (whose disk uses it too).
    SERVICE runs an older minor version (demo world): it is upgraded first; then OFF restarts."""
    advance = lambda seconds: admin.post("clock", {"advance_seconds": seconds})  # noqa: E731
    rds("DescribeDBInstanceTDE", dbinstance_id=SERVICE)
    rds("UpgradeDBInstanceKernelVersion", dbinstance_id=SERVICE, upgrade_time="Immediate")
    rds("DescribeDBInstanceAttribute", dbinstance_id=SERVICE)  # EngineVersionUpgrading
    rds("DescribeDBInstances", region_id=REGION, dbinstance_id=SERVICE)
    advance(600)
    rds("ModifyDBInstanceTDE", dbinstance_id=SERVICE, tdestatus="Enabled")
    rds("ModifyDBInstanceTDE", dbinstance_id=OFF, tdestatus="Enabled", encryption_key=key_id)
    for instance_id in (SERVICE, OFF):
        rds("DescribeDBInstanceTDE", dbinstance_id=instance_id)
        rds("DescribeDBInstanceEncryptionKey", dbinstance_id=instance_id, region_id=REGION)
    advance(600)
    rds("RestartDBInstance", dbinstance_id=OFF)
    rds("DescribeRegions")


@pytest.fixture(scope="module")
def recorded() -> Iterator[list[Recorded]]:
    with Emulator(seed="demo", settings=Settings(restart_seconds=600.0)) as emulator:
        sdk, admin = Sdk(emulator.endpoint), AdminClient(emulator.base_url)
        key_id = _kms(sdk, admin)
        _ram(sdk)
        _rds(sdk, admin, key_id)
        sts_scenario(sdk, admin, emulator.endpoint)
        yield sdk.calls


def sts_scenario(sdk: Sdk, admin: AdminClient, endpoint: str) -> None:
    """AssumeRole by a RAM user of a role that trusts the account; GetCallerIdentity as the
    account, and as the session (docs/emulator.md, "Accounts and STS")."""
    account = Settings().account_id
    trust = {"Version": "1", "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
             "Principal": {"RAM": [f"acs:ram::{account}:root"]}}]}  # fmt: skip
    sdk.call(
        "ram", "CreateRole", role_name="conform", assume_role_policy_document=json.dumps(trust)
    )
    keys = [{"id": "conform-key", "secret": "conform-secret"}]
    admin.post("users", {"name": "conform", "access_keys": keys,
                         "policies": ["AliyunSTSAssumeRoleAccess"]})  # fmt: skip
    sdk.call("sts", "GetCallerIdentity")
    as_user = {"access_key_id": "conform-key", "access_key_secret": "conform-secret"}
    sdk.clients["sts"] = sdk._recording(sdk_client("sts", endpoint, **as_user))
    arn = f"acs:ram::{account}:role/conform"
    creds = sdk.call("sts", "AssumeRole", role_arn=arn, role_session_name="conform").credentials
    session = {
        "access_key_id": creds.access_key_id,
        "access_key_secret": creds.access_key_secret,
        "security_token": creds.security_token,
    }
    sdk.clients["sts"] = sdk._recording(sdk_client("sts", endpoint, **session))
    sdk.call("sts", "GetCallerIdentity")


# --- success shapes ------------------------------------------------------------------------


def test_the_scenario_covers_every_emulated_action(recorded: list[Recorded]) -> None:
    assert {(r.service, r.action) for r in recorded} == set(all_actions())


@pytest.mark.parametrize(("service", "action"), all_actions(), ids=lambda v: v)
def test_answer_matches_the_sdk_model(recorded: list[Recorded], service: str, action: str) -> None:
    answers = [r for r in recorded if (r.service, r.action) == (service, action)]
    assert answers, f"{service}:{action} was not called"
    for answer in answers:
        assert answer.sent.get("RequestId"), answer.sent
        assert shape_problems(answer.response, answer.sent) == [], answer.sent


def test_the_recorded_body_is_the_wire_body(recorded: list[Recorded]) -> None:
    """The recorder sees exactly the server's JSON: compare with the hand-written client."""
    first = next(r for r in recorded if r.action == "DescribeRegions")
    # same action, same state: a second emulator is not needed, the answer is static
    with Emulator() as emulator:
        status, body = wc.call(emulator.endpoint, "kms", "DescribeRegions")
    assert status == 200
    assert {**body, "RequestId": ""} == {**first.sent, "RequestId": ""}


def test_the_checker_finds_dropped_fields_wrong_wrapping_and_wrong_types() -> None:
    """The checker itself can fail: fed bodies the SDK model cannot hold."""
    from alibabacloud_kms20160120 import models as km
    from darabonba.core import DaraCore

    def check(body: dict[str, Any]) -> list[str]:
        response = DaraCore.from_map(km.ListKeysResponse(), {"body": body, "statusCode": 200})
        return shape_problems(response, body)

    good = {"Keys": {"Key": [{"KeyId": "k", "KeyArn": "a"}]}, "TotalCount": 1, "RequestId": "r"}
    assert check(good) == []
    assert check({**good, "Keys": [{"KeyId": "k"}]})[0].startswith("<body>")  # unwrapped list
    assert check({**good, "Keys": {"Key": [{"KeyId": "k", "Alias": "x"}]}}) == [
        "Keys.Key[0].Alias: dropped"
    ]
    assert check({**good, "TotalCount": "1"}) == ["total_count: '1' is not int"]


def _paths(value: Any, path: str = "") -> set[str]:
    if isinstance(value, dict):
        out = {path} if path else set()
        for key, item in value.items():
            out |= _paths(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, list):
        return {path}.union(*(_paths(item, f"{path}[]") for item in value))
    return {path} if value not in ("", None) else set()


def test_the_scenario_reaches_the_state_dependent_fields(recorded: list[Recorded]) -> None:
    """The optional fields are really sent (and so really checked above) somewhere."""
    sent = {f"{r.action}:{p}" for r in recorded for p in _paths(r.sent)}
    assert {
        "CreateKey:KeyMetadata.NextRotationDate",
        "DescribeKey:KeyMetadata.LastRotationDate",
        "DescribeKey:KeyMetadata.DeleteDate",
        "DescribeKey:KeyMetadata.DeletionProtectionDescription",
        "DescribeDBInstances:NextToken",
        "DescribeDBInstances:PageNumber",
        "DescribeDBInstanceAttribute:Items.DBInstanceAttribute[].ServerlessConfig.ScaleMax",
        "DescribeDBInstanceEncryptionKey:EncryptionKeyList[].KeyType",
        "DescribeKmsAssociateResources:AssociateDBInstances[].DBInstanceName",
        "DescribeHistoryTasks:Items[].TaskDetail",
        "DescribeHistoryTasks:Items[].EndTime",
        "GetPolicy:DefaultPolicyVersion.PolicyDocument",
        "ListPoliciesForRole:Policies.Policy[].AttachDate",
        # issue 19: read-only instances (demo world) and minor version upgrades
        "DescribeDBInstanceAttribute:Items.DBInstanceAttribute[].MasterInstanceId",
        "DescribeDBInstanceAttribute:Items.DBInstanceAttribute[].ReadOnlyDBInstanceIds"
        ".ReadOnlyDBInstanceId[].DBInstanceId",
        "DescribeDBInstances:Items.DBInstance[].ReadOnlyDBInstanceIds"
        ".ReadOnlyDBInstanceId[].DBInstanceId",
        "UpgradeDBInstanceKernelVersion:TaskId",
    } <= sent
    statuses = {
        item["DBInstanceStatus"]
        for r in recorded
        if r.action == "DescribeDBInstanceAttribute"
        for item in r.sent["Items"]["DBInstanceAttribute"]
    }
    assert {"EngineVersionUpgrading", "Running"} <= statuses
    states = {
        r.sent["KeyMetadata"]["AutomaticRotation"] for r in recorded if r.action == "DescribeKey"
    }
    assert states == {"Disabled", "Enabled", "Suspended"}
