"""The documented cloud-disk encryption rules, each through the real SDK with its code."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_rds20140815 import models as m

from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    REGION,
    RESTART_SECONDS,
    advance,
    attach,
    authorize_rds,
    create_instance,
    create_key,
    create_policy,
    create_role,
    emulator,
    encryption_key,
    key_arn,
    running_instance,
    set_key,
    signature,
    status,
)


def _service_key_id(kms: Any) -> str:
    request = kms_models.DescribeKeyRequest(key_id="alias/acs/rds")
    return str(kms.describe_key(request).body.key_metadata.key_id)


# --- off / service key ------------------------------------------------------------------------


def test_encryption_off_answers_an_empty_key(rds: Any, admin: Any) -> None:
    body = encryption_key(rds, running_instance(rds, admin))
    assert body.encryption_key == ""
    assert body.encryption_key_list == []


def test_service_key_change_goes_through_config_encrypting(rds: Any, kms: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin, dbinstance_class="pg.n2.2c.2m")
    set_key(rds, instance_id, "ServiceKey")
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"
    assert encryption_key(rds, instance_id).encryption_key == ""  # not switched yet
    advance(admin, RESTART_SECONDS)
    assert status(rds, instance_id) == "Running"
    body = encryption_key(rds, instance_id)
    assert body.encryption_key == _service_key_id(kms) != "ServiceKey"
    [entry] = body.encryption_key_list
    assert entry.key_type == "ServiceKey" and entry.alias_name == "alias/acs/rds"
    assert entry.encryption_key_status == "Enabled" and entry.used_by == "DiskEncryption"


def test_disabling_encryption(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, "ServiceKey")
    advance(admin, RESTART_SECONDS)
    set_key(rds, instance_id, "disabled")
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"
    advance(admin, RESTART_SECONDS)
    assert encryption_key(rds, instance_id).encryption_key == ""


def test_a_change_while_not_running_is_refused(rds: Any, admin: Any, api_error: Any) -> None:
    creating = create_instance(rds)
    error = api_error(lambda: set_key(rds, creating, "ServiceKey"))
    assert (error.code, error.status_code) == ("IncorrectDBInstanceState", 403)  # RDS's table
    advance(admin, RESTART_SECONDS)
    set_key(rds, creating, "ServiceKey")
    error = api_error(lambda: set_key(rds, creating, "disabled"))
    assert error.code == "IncorrectDBInstanceState"


def test_unknown_instance(rds: Any, api_error: Any) -> None:
    error = api_error(lambda: set_key(rds, "pgm-bp1nosuchinstance", "ServiceKey"))
    assert (error.code, error.status_code) == ("InvalidDBInstanceId.NotFound", 404)
    error = api_error(lambda: encryption_key(rds, "pgm-bp1nosuchinstance"))
    assert error.code == "InvalidDBInstanceId.NotFound"


# --- instance rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        (
            {"engine": "MySQL", "engine_version": "8.0", "dbinstance_class": "mysql.x4.large.2c"},
            "IncorrectDBInstanceEngine",
        ),
        (
            {
                "dbinstance_class": "pg.n2.serverless.1c",
                "category": "serverless_basic",
                "pay_type": "Serverless",
            },
            "Unsupported.Serverless",
        ),
        (
            {
                "dbinstance_class": "pg.n2.serverless.2c",
                "category": "serverless_standard",
                "pay_type": "Serverless",
                "dbinstance_storage_type": "general_essd",
            },
            "Unsupported.Serverless",
        ),
        ({"dbinstance_storage_type": "cloud_ssd"}, "Unsupported.StorageType"),
        ({"dbinstance_storage_type": "local_ssd"}, "Unsupported.StorageType"),
        ({"category": "AlwaysOn"}, "Unsupported.Category"),
    ],
)
@pytest.mark.parametrize("value", ["ServiceKey", "CMK"])
def test_instances_that_cannot_be_encrypted(
    rds: Any,
    kms: Any,
    ram: Any,
    admin: Any,
    api_error: Any,
    overrides: dict,
    code: str,
    value: str,
) -> None:
    authorize_rds(ram)
    config_value = create_key(kms) if value == "CMK" else value
    instance_id = running_instance(rds, admin, **overrides)
    error = api_error(lambda: set_key(rds, instance_id, config_value))
    assert (error.code, error.status_code) == (code, 400)
    assert status(rds, instance_id) == "Running"


@pytest.mark.parametrize("storage", ["cloud_essd", "cloud_essd2", "cloud_essd3", "general_essd"])
@pytest.mark.parametrize("category", ["Basic", "HighAvailability", "cluster"])
def test_every_essd_and_edition_takes_the_service_key(
    rds: Any, admin: Any, storage: str, category: str
) -> None:
    instance_id = running_instance(rds, admin, dbinstance_storage_type=storage, category=category)
    set_key(rds, instance_id, "ServiceKey")
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"


@pytest.mark.parametrize("class_code", ["pg.n2.2c.1m", "pg.n4.2c.2m", "pg.n2e.2c.2m"])
def test_general_purpose_takes_only_the_service_key(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any, class_code: str
) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin, dbinstance_class=class_code)
    error = api_error(lambda: set_key(rds, instance_id, key_id))
    assert (error.code, error.status_code) == ("IncorrectDBInstanceType", 400)
    set_key(rds, instance_id, "ServiceKey")


# --- CMK rules --------------------------------------------------------------------------------


def test_cmk_on_a_dedicated_instance(rds: Any, kms: Any, ram: Any, admin: Any) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    kms.create_alias(kms_models.CreateAliasRequest(alias_name="alias/rds-prod", key_id=key_id))
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, key_id)
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"
    advance(admin, RESTART_SECONDS)
    assert status(rds, instance_id) == "Running"
    body = encryption_key(rds, instance_id)
    assert body.encryption_key == key_id
    [entry] = body.encryption_key_list
    assert (entry.key_type, entry.alias_name, entry.encryption_key_status) == (
        "CMK",
        "alias/rds-prod",
        "Enabled",
    )


def _byok(api_error: Any, call: Any) -> None:
    error = api_error(call)
    assert (error.code, error.status_code) == ("ByokNotAuthorizedToRds", 403)


def test_cmk_without_the_rds_tag(rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any) -> None:
    authorize_rds(ram)
    key_id = create_key(kms, tagged=False)
    instance_id = running_instance(rds, admin)
    _byok(api_error, lambda: set_key(rds, instance_id, key_id))
    tags = '[{"TagKey": "acs:rds:instance-encryption", "TagValue": "TRUE"}]'
    kms.tag_resource(kms_models.TagResourceRequest(key_id=key_id, tags=tags))
    set_key(rds, instance_id, key_id)  # the value compares ignoring case


def test_cmk_without_the_role(rds: Any, kms: Any, admin: Any, api_error: Any) -> None:
    key_id = create_key(kms)
    _byok(api_error, lambda: set_key(rds, running_instance(rds, admin), key_id))


def test_cmk_with_a_role_that_does_not_trust_rds(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    trust = {
        "Version": "1",
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": ["ecs.aliyuncs.com"]},
            }
        ],
    }
    create_role(ram, trust)
    attach(ram, "AliyunRDSInstanceEncryptionRolePolicy")
    key_id = create_key(kms)
    _byok(api_error, lambda: set_key(rds, running_instance(rds, admin), key_id))


def test_cmk_with_a_role_without_policy(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    create_role(ram)
    key_id = create_key(kms)
    _byok(api_error, lambda: set_key(rds, running_instance(rds, admin), key_id))


def test_cmk_with_a_policy_that_only_lists(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    create_role(ram)
    create_policy(
        ram,
        "ListOnly",
        [{"Effect": "Allow", "Action": ["kms:List*", "kms:Describe*"], "Resource": "*"}],
    )
    attach(ram, "ListOnly", "Custom")
    key_id = create_key(kms)
    _byok(api_error, lambda: set_key(rds, running_instance(rds, admin), key_id))


def test_cmk_with_a_policy_scoped_to_another_key(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    create_role(ram)
    key_id, other = create_key(kms), create_key(kms)
    create_policy(
        ram, "OneKey", [{"Effect": "Allow", "Action": "kms:*", "Resource": key_arn(other)}]
    )
    attach(ram, "OneKey", "Custom")
    instance_id = running_instance(rds, admin)
    _byok(api_error, lambda: set_key(rds, instance_id, key_id))
    set_key(rds, instance_id, other)


def test_cmk_with_a_custom_policy_granting_two_of_three_actions(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    create_role(ram)
    create_policy(
        ram,
        "TwoOfThree",
        [
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "acs:kms:*:*:key/*",
            }
        ],
    )
    attach(ram, "TwoOfThree", "Custom")
    key_id = create_key(kms)
    _byok(api_error, lambda: set_key(rds, running_instance(rds, admin), key_id))


def test_cmk_with_an_explicit_deny(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    authorize_rds(ram)
    create_policy(ram, "NoDecrypt", [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}])
    attach(ram, "NoDecrypt", "Custom")
    key_id = create_key(kms)
    _byok(api_error, lambda: set_key(rds, running_instance(rds, admin), key_id))


def test_disabled_and_pending_deletion_keys(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    authorize_rds(ram)
    disabled, pending = create_key(kms), create_key(kms)
    kms.disable_key(kms_models.DisableKeyRequest(key_id=disabled))
    kms.schedule_key_deletion(
        kms_models.ScheduleKeyDeletionRequest(key_id=pending, pending_window_in_days=7)
    )
    instance_id = running_instance(rds, admin)
    error = api_error(lambda: set_key(rds, instance_id, disabled))
    # RDS's own documented code, not KMS's Rejected.*
    assert (error.code, error.status_code, error.data["Message"]) == (
        "InvalidKmsKey",
        403,
        "Kms key is disabled.",
    )
    error = api_error(lambda: set_key(rds, instance_id, pending))
    assert (error.code, error.status_code) == ("InvalidKmsKey", 403)


def test_unknown_key_and_key_of_another_region(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any, make_client: Any
) -> None:
    authorize_rds(ram)
    shanghai_key = create_key(make_client("kms", region="cn-shanghai"), region="cn-shanghai")
    instance_id = running_instance(rds, admin)
    for value in ("key-doesnotexist000000000000", shanghai_key, "alias/acs/rds"):
        error = api_error(lambda v=value: set_key(rds, instance_id, v))
        assert (error.code, error.status_code) == ("KmsApiError", 400)  # RDS's code


def test_create_with_a_cmk(rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any) -> None:
    key_id = create_key(kms)
    _byok(api_error, lambda: create_instance(rds, encryption_key=key_id))
    authorize_rds(ram)
    role_arn = "acs:ram::1234567890123456:role/aliyunrdsinstanceencryptiondefaultrole"
    instance_id = create_instance(rds, encryption_key=key_id, role_arn=role_arn)
    assert encryption_key(rds, instance_id).encryption_key == key_id
    error = api_error(
        lambda: create_instance(rds, encryption_key=key_id, dbinstance_class="pg.n2.2c.2m")
    )
    assert error.code == "IncorrectDBInstanceType"


# --- scheduling and idempotency ---------------------------------------------------------------


def test_maintain_time_mode_waits_for_the_window(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    now = admin.get("clock")["now"]  # "YYYY-MM-DDTHH:MM:SSZ"
    second_of_day = int(now[11:13]) * 3600 + int(now[14:16]) * 60 + int(now[17:19])
    start_hour = (int(now[11:13]) + 2) % 24
    until_window = (start_hour * 3600 - second_of_day) % 86400
    rds.modify_dbinstance_maintain_time(
        m.ModifyDBInstanceMaintainTimeRequest(
            dbinstance_id=instance_id,
            maintain_time=f"{start_hour:02d}:00Z-{(start_hour + 1) % 24:02d}:00Z",
        )
    )
    set_key(rds, instance_id, "ServiceKey", switch_time_mode="MaintainTime")
    assert status(rds, instance_id) == "Running"
    advance(admin, until_window - 30)  # just before the window
    assert status(rds, instance_id) == "Running"
    assert encryption_key(rds, instance_id).encryption_key == ""
    advance(admin, 31)  # the window has opened
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"
    advance(admin, RESTART_SECONDS)
    assert status(rds, instance_id) == "Running"
    assert encryption_key(rds, instance_id).encryption_key != ""


def test_maintain_time_mode_inside_the_window_starts_at_once(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    hour = int(admin.get("clock")["now"][11:13])
    rds.modify_dbinstance_maintain_time(
        m.ModifyDBInstanceMaintainTimeRequest(
            dbinstance_id=instance_id, maintain_time=f"{hour:02d}:00Z-{(hour + 2) % 24:02d}:00Z"
        )
    )
    set_key(rds, instance_id, "ServiceKey", switch_time_mode="MaintainTime")
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"


def test_client_token_replay_and_mismatch(rds: Any, admin: Any, api_error: Any) -> None:
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, "ServiceKey", client_token="change-1")
    # a replay returns the first answer, even though the instance is now busy
    set_key(rds, instance_id, "ServiceKey", client_token="change-1")
    error = api_error(lambda: set_key(rds, instance_id, "disabled", client_token="change-1"))
    assert (error.code, error.status_code) == ("IdempotentParameterMismatch", 400)
    advance(admin, RESTART_SECONDS)
    set_key(rds, instance_id, "ServiceKey", client_token="change-1")  # still a replay
    assert status(rds, instance_id) == "Running"


def test_check_cloud_resource_authorized(rds: Any, ram: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    request = m.CheckCloudResourceAuthorizedRequest(dbinstance_id=instance_id, region_id=REGION)
    body = rds.check_cloud_resource_authorized(request).body
    assert body.authorization_state == 0
    assert body.role_arn == (
        "acs:ram::1234567890123456:role/aliyunrdsinstanceencryptiondefaultrole"
    )
    authorize_rds(ram)
    assert rds.check_cloud_resource_authorized(request).body.authorization_state == 1


def test_describe_kms_associate_resources(rds: Any, kms: Any, ram: Any, admin: Any) -> None:
    authorize_rds(ram)
    key_id = create_key(kms)
    a, b = running_instance(rds, admin), running_instance(rds, admin)
    request = m.DescribeKmsAssociateResourcesRequest(
        region_id=REGION,
        kms_resource_id=key_id,
        kms_resource_type="key",
        kms_resource_user="1234567890123456",  # required (SDK)
    )
    assert rds.describe_kms_associate_resources(request).body.associate_status is False
    set_key(rds, a, key_id)
    during = rds.describe_kms_associate_resources(request).body
    assert [(i.dbinstance_name, i.status) for i in during.associate_dbinstances] == [
        (a, "INS_MAINTAINING")
    ], "an instance switching to the key already uses it"
    advance(admin, RESTART_SECONDS)
    body = rds.describe_kms_associate_resources(request).body
    assert body.associate_status is True
    assert [(i.dbinstance_name, i.key_used_by, i.status) for i in body.associate_dbinstances] == [
        (a, "DiskEncryption", "ACTIVATION")
    ]
    assert b not in [i.dbinstance_name for i in body.associate_dbinstances]


def test_switch_time_delays_an_immediate_change(rds: Any, admin: Any, api_error: Any) -> None:
    from datetime import datetime, timedelta

    instance_id = running_instance(rds, admin)
    now = datetime.strptime(admin.get("clock")["now"], "%Y-%m-%dT%H:%M:%SZ")
    later = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    set_key(rds, instance_id, "ServiceKey", switch_time=later)
    assert status(rds, instance_id) == "Running"
    advance(admin, 3601)
    assert status(rds, instance_id) == "CONFIG_ENCRYPTING"
    error = api_error(
        lambda: set_key(rds, running_instance(rds, admin), "ServiceKey", switch_time="tomorrow")
    )
    assert (error.code, error.status_code) == ("InvalidParameter", 400)


def test_other_config_names_and_modes_are_refused(rds: Any, admin: Any, api_error: Any) -> None:
    instance_id = running_instance(rds, admin)
    request = m.ModifyDBInstanceConfigRequest(
        dbinstance_id=instance_id, config_name="pgbouncer", config_value="true"
    )
    assert api_error(lambda: rds.modify_dbinstance_config(request)).code == "InvalidParameter"
    error = api_error(lambda: set_key(rds, instance_id, "ServiceKey", switch_time_mode="Later"))
    assert error.code == "InvalidParameter"
