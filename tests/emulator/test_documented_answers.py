"""The emulator held to Alibaba's documents and the SDK models: each test pins one answer the
documents decide (RDS's error tables, the SDK's request and response doc comments), through
the official SDK and, where it has the action, the legacy SDK (aliyun-python-sdk-*).

Grouped as the findings were: engines (SQL Server), RDS's own codes, the account's KMS status,
RAM CascadingDelete, class types, the answer's fields, enum values, DescribeDBInstances paging
and filters, and the remaining request checks (DryRun, key ids only, required parameters,
LastRotationDate, a deleted key's details).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_rds20140815 import models as rds_models

from reconciler.emulator.server import Emulator
from tests.emulator import wire_client as wc
from tests.emulator.conftest import AdminClient
from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    ACCOUNT,
    REGION,
    RESTART_SECONDS,
    advance,
    attribute,
    authorize_rds,
    create_instance,
    create_key,
    emulator,
    encryption_key,
    running_instance,
    set_key,
    signature,
    status,
)
from tests.emulator.test_legacy_sdk import Legacy, assert_server_error


@pytest.fixture
def legacy(emulator: Emulator) -> Legacy:  # noqa: F811
    return Legacy(emulator.endpoint)


def _sqlserver(rds: Any, admin: Any, **overrides: Any) -> str:
    fields = {
        "engine": "SQLServer",
        "engine_version": "2019_std_ha",
        "dbinstance_class": "mssql.x4.medium.s2",
        "category": "HighAvailability",
    }
    return running_instance(rds, admin, **{**fields, **overrides})


# --- 1. encryptionKey on SQL Server ------------------------------------------------------------


def test_sqlserver_takes_the_service_key_and_a_cmk(
    rds: Any, kms: Any, ram: Any, admin: Any
) -> None:
    """SDK ModifyDBInstanceConfigRequest: SQL Server takes ``serviceKey`` or a key id."""
    authorize_rds(ram)
    instance_id = _sqlserver(rds, admin)
    set_key(rds, instance_id, "serviceKey")
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"
    advance(admin, RESTART_SECONDS)
    assert encryption_key(rds, instance_id).encryption_key_list[0].key_type == "ServiceKey"
    key_id = create_key(kms)
    set_key(rds, instance_id, key_id)
    advance(admin, RESTART_SECONDS)
    assert encryption_key(rds, instance_id).encryption_key == key_id


def test_sqlserver_encryption_cannot_be_disabled_nor_used_on_shared_or_serverless(
    rds: Any, admin: Any, api_error: Any
) -> None:
    instance_id = _sqlserver(rds, admin)
    set_key(rds, instance_id, "serviceKey")
    advance(admin, RESTART_SECONDS)
    error = api_error(lambda: set_key(rds, instance_id, "disabled"))
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    shared = _sqlserver(rds, admin, dbinstance_class="mssql.s2.large")
    error = api_error(lambda: set_key(rds, shared, "serviceKey"))
    assert (error.status_code, error.code) == (400, "Unsupported.DBInstanceClass")


def test_other_engines_are_refused(rds: Any, admin: Any, api_error: Any) -> None:
    mysql = running_instance(rds, admin, engine="MySQL", engine_version="8.0")
    error = api_error(lambda: set_key(rds, mysql, "ServiceKey"))
    assert (error.status_code, error.code) == (400, "IncorrectDBInstanceEngine")


def test_sqlserver_through_the_legacy_sdk(rds: Any, admin: Any, legacy: Legacy) -> None:
    instance_id = _sqlserver(rds, admin)
    legacy.rds(
        "ModifyDBInstanceConfig",
        DBInstanceId=instance_id,
        ConfigName="encryptionKey",
        ConfigValue="serviceKey",
    )
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"


# --- 2. RDS's own codes (the rest: test_rds_encryption.py, test_legacy_sdk.py) ----------------


def test_rds_answers_its_own_kms_codes_through_the_legacy_sdk(
    rds: Any, kms: Any, ram: Any, admin: Any, legacy: Legacy
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    kms.disable_key(kms_models.DisableKeyRequest(key_id=key_id))
    instance_id = running_instance(rds, admin)
    for value, status_code, code in (
        (key_id, 403, "InvalidKmsKey"),
        ("key-hzz000000000000000000000", 400, "KmsApiError"),
    ):
        error = legacy.error(
            _legacy_config(instance_id, value),
        )
        assert_server_error(error, status_code, code)
    creating = create_instance(rds)
    assert_server_error(
        legacy.error(_legacy_config(creating, "ServiceKey")), 403, "IncorrectDBInstanceState"
    )


def _legacy_config(instance_id: str, value: str) -> Any:
    from tests.emulator.test_legacy_sdk import _request, rds_requests

    return _request(
        rds_requests,
        "ModifyDBInstanceConfig",
        DBInstanceId=instance_id,
        ConfigName="encryptionKey",
        ConfigValue=value,
    )


# --- 3. DescribeAccountKmsStatus --------------------------------------------------------------


def _account_status(kms: Any) -> str:
    return str(kms.describe_account_kms_status().body.account_status)


@pytest.mark.parametrize("value", ["Enabled", "NotEnabled", "InDebt", "Suspended"])
def test_account_status_takes_each_documented_value(
    kms: Any, admin: AdminClient, legacy: Legacy, value: str
) -> None:
    assert admin.post("kms", {"status": value})["status"] == value
    assert _account_status(kms) == value
    assert legacy.kms("DescribeAccountKmsStatus")["AccountStatus"] == value


def test_in_debt_kms_answers_reads_refuses_writes_and_new_key_use(
    rds: Any, kms: Any, ram: Any, admin: AdminClient, api_error: Any
) -> None:
    """InDebt: "KMS stops providing services" (SDK). Chosen reading: reads answer, writes are
    403 Forbidden.KmsInDebt, RDS refuses a new key use with its documented KmsApiError."""
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    admin.post("kms", {"status": "InDebt"})
    assert admin.get("kms") == {"activated": True, "status": "InDebt"}
    meta = kms.describe_key(kms_models.DescribeKeyRequest(key_id=key_id)).body.key_metadata
    assert meta.key_state == "Enabled"
    error = api_error(lambda: kms.disable_key(kms_models.DisableKeyRequest(key_id=key_id)))
    assert (error.status_code, error.code) == (403, "Forbidden.KmsInDebt")
    for value in (key_id, "ServiceKey"):
        error = api_error(lambda v=value: set_key(rds, instance_id, v))
        assert (error.status_code, error.code) == (400, "KmsApiError")
    set_key(rds, instance_id, "disabled")  # nothing to encrypt: still allowed


def test_a_seed_sets_the_account_status(tmp_path: Any) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(json.dumps({"regions": [REGION], "kms": {"status": "Suspended"}}))
    with Emulator(seed=str(path)) as emu:
        status_code, body = wc.call(emu.endpoint, "kms", "DescribeAccountKmsStatus")
    assert (status_code, body["AccountStatus"]) == (200, "Suspended")


def test_admin_refuses_an_undocumented_status(admin: AdminClient) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as info:
        admin.post("kms", {"status": "Disabled"})
    assert info.value.code == 400


# --- 4. RAM DeletePolicy CascadingDelete ------------------------------------------------------

_DOC = json.dumps(
    {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "kms:List*", "Resource": "*"}]}
)


def _policy_with_two_versions(ram: Any, name: str) -> None:
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name=name, policy_document=_DOC))
    ram.create_policy_version(
        ram_models.CreatePolicyVersionRequest(policy_name=name, policy_document=_DOC)
    )


def test_cascading_delete_deletes_the_versions(ram: Any, api_error: Any) -> None:
    """SDK DeletePolicyRequest: CascadingDelete "deletes all versions of the policy"."""
    _policy_with_two_versions(ram, "Cascade")
    error = api_error(
        lambda: ram.delete_policy(ram_models.DeletePolicyRequest(policy_name="Cascade"))
    )
    assert (error.status_code, error.code) == (409, "DeleteConflict.Policy.Version")
    ram.delete_policy(ram_models.DeletePolicyRequest(policy_name="Cascade", cascading_delete=True))
    error = api_error(
        lambda: ram.get_policy(
            ram_models.GetPolicyRequest(policy_name="Cascade", policy_type="Custom")
        )
    )
    assert error.code == "EntityNotExist.Policy"


def test_cascading_delete_does_not_detach(ram: Any, api_error: Any, legacy: Legacy) -> None:
    _policy_with_two_versions(ram, "Attached")
    legacy.ram(
        "CreateRole",
        RoleName="Holder",
        AssumeRolePolicyDocument=json.dumps(
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
        ),
    )
    legacy.ram("AttachPolicyToRole", PolicyType="Custom", PolicyName="Attached", RoleName="Holder")
    error = legacy.error(_ram_request("DeletePolicy", PolicyName="Attached", CascadingDelete=True))
    assert_server_error(error, 409, "DeleteConflict.Role.Policy")
    listed = legacy.ram("ListPoliciesForRole", RoleName="Holder")["Policies"]["Policy"]
    assert [p["PolicyName"] for p in listed] == ["Attached"]


def _ram_request(action: str, **fields: Any) -> Any:
    from tests.emulator.test_legacy_sdk import _request, ram_requests

    return _request(ram_requests, action, **fields)


# --- 5. class types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("class_code", "expected"),
    [
        ("rds.pg.st.h43", "h"),  # the physical dedicated-host classes
        ("pg.x4t.large.2c", "d"),  # security-enhanced: its own family, reported dedicated
        ("pg.x4.large.2c", "d"),
        ("pg.n2.2c.2m", "x"),
        ("pg.s2.large", "s"),
    ],
)
def test_class_type(rds: Any, admin: Any, class_code: str, expected: str) -> None:
    instance_id = running_instance(rds, admin, dbinstance_class=class_code)
    assert attribute(rds, instance_id).dbinstance_class_type == expected


def test_security_enhanced_family_is_its_own() -> None:
    from reconciler.emulator.rds import rules

    assert rules.class_family("pg.x4t.large.2c") == "x4t" != rules.class_family("pg.x4.large.2c")


def test_a_dedicated_host_class_takes_no_cmk(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    authorize_rds(ram)
    instance_id = running_instance(rds, admin, dbinstance_class="rds.pg.st.h43")
    error = api_error(lambda: set_key(rds, instance_id, create_key(kms)))
    assert error.code == "IncorrectDBInstanceType"


# --- 6. fields the SDK models carry -----------------------------------------------------------


def test_create_keeps_vpc_vswitch_resource_group_and_zones(rds: Any, admin: Any) -> None:
    instance_id = running_instance(
        rds,
        admin,
        vpcid="vpc-bp1example",
        v_switch_id="vsw-bp1example",
        resource_group_id="rg-acfmexample",
        zone_id_slave_1="cn-hangzhou-i",
    )
    item = attribute(rds, instance_id)
    assert (item.vpc_id, item.v_switch_id) == ("vpc-bp1example", "vsw-bp1example")
    assert item.resource_group_id == "rg-acfmexample"
    assert [z.zone_id for z in item.slave_zones.slave_zone] == ["cn-hangzhou-i"]
    assert item.extra.dbinstance_ids.dbinstance_id == []
    assert item.serverless_config.scale_max == 0.0  # not serverless: still sent
    listed = rds.describe_dbinstances(
        rds_models.DescribeDBInstancesRequest(region_id=REGION, dbinstance_id=instance_id)
    ).body.items.dbinstance[0]
    assert (listed.vpc_id, listed.v_switch_id, listed.resource_group_id) == (
        "vpc-bp1example",
        "vsw-bp1example",
        "rg-acfmexample",
    )


def test_every_instance_has_a_resource_group(rds: Any, admin: Any, legacy: Legacy) -> None:
    instance_id = running_instance(rds, admin)
    group = attribute(rds, instance_id).resource_group_id
    assert group.startswith("rg-acfm")
    body = legacy.rds("DescribeDBInstanceAttribute", DBInstanceId=instance_id)
    item = body["Items"]["DBInstanceAttribute"][0]
    assert item["ResourceGroupId"] == group and "SlaveZones" in item and "Extra" in item


# --- 7. enum values ---------------------------------------------------------------------------


def test_a_serverless_instance_pays_serverless_in_capitals(rds: Any, admin: Any) -> None:
    """CreateDBInstance takes ``Serverless``; the describe answers document ``SERVERLESS``."""
    instance_id = running_instance(
        rds,
        admin,
        dbinstance_class="pg.n2.serverless.1c",
        category="serverless_basic",
        pay_type="Serverless",
        serverless_config=rds_models.CreateDBInstanceRequestServerlessConfig(
            min_capacity=0.5, max_capacity=4
        ),
    )
    assert attribute(rds, instance_id).pay_type == "SERVERLESS"
    assert attribute(rds, instance_id).category == "serverless_basic"  # the documented casing


# --- 8. DescribeDBInstances: token paging, filters, Category ----------------------------------


def _list(rds: Any, **fields: Any) -> Any:
    return rds.describe_dbinstances(
        rds_models.DescribeDBInstancesRequest(region_id=REGION, **fields)
    ).body


def test_token_paging_as_documented_and_a_loop_ends(rds: Any) -> None:
    for _ in range(5):
        create_instance(rds)
    seen: list[str] = []
    token: str | None = ""
    pages = 0
    while token is not None:
        body = _list(rds, max_results=2, next_token=token or None)
        pages += 1
        assert pages <= 3, "the token loop must end"
        assert body.page_number == 1  # "returns only 1"
        assert body.total_record_count == body.page_record_count == len(body.items.dbinstance)
        seen += [i.dbinstance_id for i in body.items.dbinstance]
        token = body.next_token
    assert len(seen) == len(set(seen)) == 5 and pages == 3


def test_token_paging_through_the_legacy_sdk(rds: Any, legacy: Legacy) -> None:
    for _ in range(3):
        create_instance(rds)
    first = legacy.rds("DescribeDBInstances", MaxResults=2)
    assert (first["TotalRecordCount"], first["PageNumber"]) == (2, 1) and first["NextToken"]
    last = legacy.rds("DescribeDBInstances", MaxResults=2, NextToken=first["NextToken"])
    assert last["TotalRecordCount"] == 1 and "NextToken" not in last


def test_filters_are_honoured(rds: Any, admin: Any) -> None:
    vpc = running_instance(
        rds,
        admin,
        vpcid="vpc-a",
        v_switch_id="vsw-a",
        dbinstance_description="orders db",
        resource_group_id="rg-acfmorders",
    )
    other = running_instance(rds, admin)
    ids = lambda **f: [i.dbinstance_id for i in _list(rds, **f).items.dbinstance]  # noqa: E731
    assert ids(vpc_id="vpc-a") == [vpc]
    assert ids(v_switch_id="vsw-a") == [vpc]
    assert ids(resource_group_id="rg-acfmorders") == [vpc]
    assert ids(search_key="orders") == [vpc]
    assert ids(search_key=other[-6:]) == [other]
    assert set(ids(pay_type="Postpaid")) == {vpc, other}
    assert ids(pay_type="Prepaid") == []
    assert set(ids(dbinstance_type="Primary")) == {vpc, other}
    assert ids(dbinstance_type="Readonly") == []
    assert set(ids(instance_network_type="VPC")) == {vpc, other}
    assert ids(instance_network_type="Classic") == []
    assert ids(tags=json.dumps({"team": "dba"})) == []  # no instance is tagged here
    assert _list(rds, vpc_id="vpc-a").total_record_count == 1


def test_a_filter_not_emulated_is_refused_not_ignored(rds: Any, api_error: Any) -> None:
    error = api_error(lambda: _list(rds, engine_version="16.0"))
    assert (error.status_code, error.code) == (400, "InvalidParameter")


def test_category_only_with_instance_level_1(rds: Any, legacy: Legacy) -> None:
    create_instance(rds)
    assert _list(rds).items.dbinstance[0].category is None
    assert _list(rds, instance_level=1).items.dbinstance[0].category == "HighAvailability"
    plain = legacy.rds("DescribeDBInstances")["Items"]["DBInstance"][0]
    assert "Category" not in plain


# --- 9. DryRun, key ids only, required parameters, LastRotationDate, deleted keys ------------


def test_dry_run_creates_nothing(rds: Any, api_error: Any) -> None:
    request = rds_models.CreateDBInstanceRequest(
        region_id=REGION,
        engine="PostgreSQL",
        engine_version="16.0",
        dbinstance_class="pg.x4.large.2c",
        dbinstance_storage=100,
        dbinstance_net_type="Intranet",
        pay_type="Postpaid",
        security_iplist="10.0.0.0/8",
        dry_run=True,
    )
    body = rds.create_dbinstance(request).body
    assert (body.dry_run, body.dry_run_result, body.dbinstance_id) == (True, True, None)
    assert _list(rds).total_record_count == 0
    request.category = "NoSuchEdition"
    error = api_error(lambda: rds.create_dbinstance(request))
    assert error.status_code == 400  # the precheck still checks


def _associations(rds: Any, key_ref: str, user: str = ACCOUNT) -> Any:
    request = rds_models.DescribeKmsAssociateResourcesRequest(
        region_id=REGION, kms_resource_id=key_ref, kms_resource_type="key", kms_resource_user=user
    )
    return rds.describe_kms_associate_resources(request).body


def test_associations_take_a_key_id_only(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any, legacy: Legacy
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    kms.create_alias(kms_models.CreateAliasRequest(alias_name="alias/in-use", key_id=key_id))
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, key_id)
    assert _associations(rds, key_id).associate_status is True
    assert _associations(rds, key_id, user="9999999999999999").associate_status is False
    error = api_error(lambda: _associations(rds, "alias/in-use"))
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    request = rds_models.DescribeKmsAssociateResourcesRequest(
        region_id=REGION, kms_resource_id=key_id, kms_resource_type="key"
    )
    error = api_error(lambda: rds.describe_kms_associate_resources(request))
    assert (error.status_code, error.code) == (400, "MissingParameter")  # KmsResourceUser
    body = legacy.rds(
        "DescribeKmsAssociateResources",
        KmsResourceId=key_id,
        KmsResourceType="key",
        KmsResourceUser=ACCOUNT,
    )
    assert body["AssociateStatus"] is True


def test_a_new_key_has_a_last_rotation_date(kms: Any, legacy: Legacy) -> None:
    """SDK: "For a new CMK, ... the time when the initial version of the CMK was generated"."""
    created = kms.create_key(kms_models.CreateKeyRequest()).body.key_metadata
    described = kms.describe_key(
        kms_models.DescribeKeyRequest(key_id=created.key_id)
    ).body.key_metadata
    assert described.last_rotation_date == described.creation_date
    assert created.last_rotation_date == created.creation_date
    meta = legacy.kms("DescribeKey", KeyId=created.key_id)["KeyMetadata"]
    assert meta["LastRotationDate"] == meta["CreationDate"]


def test_a_deleted_key_keeps_its_details_and_no_empty_dates(
    rds: Any, kms: Any, ram: Any, admin: Any
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, key_id)
    advance(admin, RESTART_SECONDS)
    on = encryption_key(rds, instance_id)
    assert on.delete_date is None and on.material_expire_time is None  # no date: left out
    kms.schedule_key_deletion(
        kms_models.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=7)
    )
    advance(admin, 8 * 86400)
    gone = encryption_key(rds, instance_id)
    assert gone.encryption_key == key_id and gone.encryption_key_status == "Disabled"
    assert (gone.creator, gone.description, gone.key_usage, gone.origin) == (
        ACCOUNT,
        "test key",
        "ENCRYPT/DECRYPT",
        "Aliyun_KMS",
    )
    assert gone.delete_date and gone.delete_date.endswith("Z")
    [entry] = gone.encryption_key_list
    assert entry.key_type == "CMK" and entry.delete_date == gone.delete_date


# the SDK's "This parameter is required." (RAM's models say nothing; its calls are checked by
# test_ram.py). Emulator choices beside them: DBInstanceId of DescribeDBInstanceEncryptionKey
# and CheckCloudResourceAuthorized, KeyId of TagResource/UntagResource.
REQUIRED = {
    ("rds", "CreateDBInstance"): (
        "RegionId",
        "Engine",
        "EngineVersion",
        "DBInstanceClass",
        "DBInstanceStorage",
        "DBInstanceNetType",
        "PayType",
        "SecurityIPList",
    ),
    ("rds", "DeleteDBInstance"): ("DBInstanceId",),
    ("rds", "DescribeDBInstances"): ("RegionId",),
    ("rds", "DescribeDBInstanceAttribute"): ("DBInstanceId",),
    ("rds", "DescribeDBInstanceEncryptionKey"): ("DBInstanceId",),
    ("rds", "ModifyDBInstanceConfig"): ("DBInstanceId", "ConfigName", "ConfigValue"),
    ("rds", "ModifyDBInstanceMaintainTime"): ("DBInstanceId", "MaintainTime"),
    ("rds", "CheckCloudResourceAuthorized"): ("DBInstanceId",),
    ("rds", "DescribeKmsAssociateResources"): (
        "KmsResourceId",
        "KmsResourceType",
        "KmsResourceUser",
    ),
    ("rds", "DescribeHistoryTasks"): ("FromStartTime", "ToStartTime"),
    ("kms", "DescribeKey"): ("KeyId",),
    ("kms", "CreateAlias"): ("AliasName", "KeyId"),
    ("kms", "UpdateAlias"): ("AliasName", "KeyId"),
    ("kms", "DeleteAlias"): ("AliasName",),
    ("kms", "ListAliasesByKeyId"): ("KeyId",),
    ("kms", "TagResource"): ("KeyId", "Tags"),
    ("kms", "UntagResource"): ("KeyId", "TagKeys"),
    ("kms", "ListResourceTags"): ("KeyId",),
    ("kms", "EnableKey"): ("KeyId",),
    ("kms", "DisableKey"): ("KeyId",),
    ("kms", "ScheduleKeyDeletion"): ("KeyId", "PendingWindowInDays"),
    ("kms", "CancelKeyDeletion"): ("KeyId",),
    ("kms", "UpdateRotationPolicy"): ("KeyId", "EnableAutomaticRotation"),
    ("kms", "SetDeletionProtection"): ("EnableDeletionProtection",),
    ("kms", "UpdateKeyDescription"): ("KeyId", "Description"),
}
CASES = [(s, a, p) for (s, a), names in sorted(REQUIRED.items()) for p in names]


@pytest.mark.parametrize(("service", "action", "missing"), CASES, ids=lambda v: v)
def test_each_required_parameter_missing_is_missing_parameter(
    emulator: Emulator,  # noqa: F811
    service: str,
    action: str,
    missing: str,
) -> None:
    """Every other required parameter given (any value): the missing one is named, before any
    other check (a made-up key id would otherwise be 404)."""
    params = {name: "x" for name in REQUIRED[(service, action)] if name != missing}
    status_code, body = wc.call(emulator.endpoint, service, action, params)
    assert (status_code, body["Code"]) == (400, "MissingParameter"), body
    assert missing in body["Message"]


def test_the_sdk_marks_these_parameters_required() -> None:
    """The table above against the SDK models' doc comments (the emulator's own additions
    aside)."""
    import importlib
    import inspect
    import re

    chosen = {
        ("rds", "DescribeDBInstanceEncryptionKey", "DBInstanceId"),
        ("rds", "CheckCloudResourceAuthorized", "DBInstanceId"),
        ("kms", "TagResource", "KeyId"),
        ("kms", "UntagResource", "KeyId"),
    }
    packages = {"rds": "alibabacloud_rds20140815", "kms": "alibabacloud_kms20160120"}
    for (service, action), names in REQUIRED.items():
        model = getattr(importlib.import_module(f"{packages[service]}.models"), f"{action}Request")
        source = inspect.getsource(model.__init__)
        marked = set()
        block = ""
        for line in source.splitlines():
            text = line.strip()
            if text.startswith("#"):
                block += text
            elif (found := re.match(r"self\.(\w+) = \w+$", text)) is not None:
                if block.endswith("This parameter is required."):
                    marked.add(found.group(1))
                block = ""
        wire = {n for n in names if (service, action, n) not in chosen}
        mapped = model(**{a: "x" for a in marked}).to_map()
        assert set(mapped) >= wire, (action, wire - set(mapped))


# --- the same answers through the legacy SDK (aliyun-python-sdk-rds) -------------------------


def _legacy_create(legacy: Legacy, **fields: Any) -> dict[str, Any]:
    base = {
        "Engine": "PostgreSQL",
        "EngineVersion": "16.0",
        "DBInstanceClass": "pg.x4.large.2c",
        "DBInstanceStorage": 100,
        "DBInstanceNetType": "Intranet",
        "PayType": "Postpaid",
        "SecurityIPList": "10.0.0.0/8",
    }
    return legacy.rds("CreateDBInstance", **{**base, **fields})


def test_legacy_dry_run_vpc_resource_group_class_type_and_pay_type(
    admin: Any, legacy: Legacy
) -> None:
    dry = _legacy_create(legacy, DryRun=True)
    assert (dry["DryRun"], dry["DryRunResult"]) == (True, True) and "DBInstanceId" not in dry
    made = _legacy_create(
        legacy,
        DBInstanceClass="rds.pg.st.h43",
        VPCId="vpc-legacy",
        VSwitchId="vsw-legacy",
        ResourceGroupId="rg-acfmlegacy",
    )["DBInstanceId"]
    serverless = _legacy_create(
        legacy,
        DBInstanceClass="pg.n2.serverless.1c",
        Category="serverless_basic",
        PayType="Serverless",
    )["DBInstanceId"]
    advance(admin, RESTART_SECONDS)
    item = legacy.rds("DescribeDBInstanceAttribute", DBInstanceId=made)["Items"][
        "DBInstanceAttribute"
    ][0]
    assert (item["DBInstanceClassType"], item["VpcId"], item["VSwitchId"]) == (
        "h",
        "vpc-legacy",
        "vsw-legacy",
    )
    assert item["ResourceGroupId"] == "rg-acfmlegacy"
    other = legacy.rds("DescribeDBInstanceAttribute", DBInstanceId=serverless)
    assert other["Items"]["DBInstanceAttribute"][0]["PayType"] == "SERVERLESS"
    listed = legacy.rds("DescribeDBInstances", VpcId="vpc-legacy")["Items"]["DBInstance"]
    assert [i["DBInstanceId"] for i in listed] == [made]


def test_legacy_deleted_key_details(
    rds: Any, kms: Any, ram: Any, admin: Any, legacy: Legacy
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, key_id)
    advance(admin, RESTART_SECONDS)
    legacy.kms("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    advance(admin, 8 * 86400)
    body = legacy.rds("DescribeDBInstanceEncryptionKey", DBInstanceId=instance_id)
    assert (body["EncryptionKey"], body["Creator"], body["DeleteDate"][-1]) == (
        key_id,
        ACCOUNT,
        "Z",
    )
    assert "MaterialExpireTime" not in body
