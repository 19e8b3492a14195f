"""KMS through the official SDK client, with V3 and V1 signatures (the `kms` fixture)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as km

from tests.emulator.conftest import TEST_KMS_INSTANCES

SERVICE_ALIAS = "alias/acs/rds"
TAG = '[{"TagKey":"acs:rds:instance-encryption","TagValue":"true"}]'


def create_key(kms: Any, **fields: Any) -> str:
    """A key in the region's test KMS instance (conftest.TEST_KMS_INSTANCES) unless told."""
    fields.setdefault("dkmsinstance_id", TEST_KMS_INSTANCES["cn-hangzhou"])
    return kms.create_key(km.CreateKeyRequest(**fields)).body.key_metadata.key_id


def state(kms: Any, key_id: str) -> str:
    return kms.describe_key(km.DescribeKeyRequest(key_id=key_id)).body.key_metadata.key_state


def test_create_and_describe_key(kms: Any) -> None:
    meta = kms.create_key(km.CreateKeyRequest(description="rds prod", tags=TAG)).body.key_metadata
    assert meta.key_id.startswith("key-") and len(meta.key_id) == 28
    assert meta.arn == f"acs:kms:cn-hangzhou:1234567890123456:key/{meta.key_id}"
    assert (meta.key_state, meta.key_spec, meta.key_usage, meta.origin) == (
        "Enabled",
        "Aliyun_AES_256",
        "ENCRYPT/DECRYPT",
        "Aliyun_KMS",
    )
    described = kms.describe_key(km.DescribeKeyRequest(key_id=meta.key_id)).body.key_metadata
    assert described.description == "rds prod"
    assert described.deletion_protection == "Disabled"
    assert described.automatic_rotation == "Disabled"
    tags = kms.list_resource_tags(km.ListResourceTagsRequest(key_id=meta.key_id)).body.tags.tag
    assert [(t.tag_key, t.tag_value) for t in tags] == [("acs:rds:instance-encryption", "true")]


def test_create_key_options_and_bad_values(kms: Any, api_error: Any) -> None:
    meta = kms.create_key(
        km.CreateKeyRequest(
            enable_automatic_rotation=True,
            rotation_interval="604800s",
            origin="EXTERNAL",
            dkmsinstance_id=TEST_KMS_INSTANCES["cn-hangzhou"],
        )
    ).body.key_metadata
    assert meta.key_state == "PendingImport"
    assert meta.rotation_interval == "604800s"
    error = api_error(lambda: kms.create_key(km.CreateKeyRequest(key_spec="AES_1")))
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    error = api_error(lambda: kms.create_key(km.CreateKeyRequest(tags="not json")))
    assert error.code == "InvalidParameter"


def test_service_key_exists_in_every_region(make_client: Any) -> None:
    ids = set()
    for region in ("cn-hangzhou", "cn-shanghai", "eu-central-1"):
        client = make_client("kms", region=region)
        meta = client.describe_key(km.DescribeKeyRequest(key_id=SERVICE_ALIAS)).body.key_metadata
        assert meta.creator == "Rds" and meta.key_spec == "Aliyun_AES_256"
        assert meta.arn.startswith(f"acs:kms:{region}:")
        again = client.describe_key(km.DescribeKeyRequest(key_id=SERVICE_ALIAS)).body
        assert again.key_metadata.key_id == meta.key_id  # stable
        ids.add(meta.key_id)
    assert len(ids) == 3


@pytest.mark.parametrize("operation", ["disable_key", "schedule_key_deletion", "tag_resource"])
def test_service_key_is_read_only(kms: Any, api_error: Any, operation: str) -> None:
    key_id = kms.describe_key(km.DescribeKeyRequest(key_id=SERVICE_ALIAS)).body.key_metadata.key_id
    requests = {
        "disable_key": km.DisableKeyRequest(key_id=key_id),
        "schedule_key_deletion": km.ScheduleKeyDeletionRequest(
            key_id=key_id, pending_window_in_days=7
        ),
        "tag_resource": km.TagResourceRequest(key_id=key_id, tags=TAG),
    }
    error = api_error(lambda: getattr(kms, operation)(requests[operation]))
    assert (error.status_code, error.code) == (403, "Forbidden.NoPermission")
    assert error.data["HttpStatus"] == 403
    assert state(kms, key_id) == "Enabled"


def test_describe_unknown_key_and_alias(kms: Any, api_error: Any) -> None:
    error = api_error(lambda: kms.describe_key(km.DescribeKeyRequest(key_id="key-nope")))
    assert (error.status_code, error.code) == (404, "Forbidden.KeyNotFound")
    assert set(error.data) >= {"RequestId", "HostId", "Code", "Message", "Recommend", "HttpStatus"}
    error = api_error(lambda: kms.describe_key(km.DescribeKeyRequest(key_id="alias/nope")))
    assert (error.status_code, error.code) == (404, "Forbidden.AliasNotFound")
    error = api_error(lambda: kms.describe_key(km.DescribeKeyRequest()))
    assert (error.status_code, error.code) == (400, "MissingParameter")
    assert "KeyId" in error.data["Message"]


def test_list_keys_pages_and_filters(kms: Any, api_error: Any) -> None:
    created = [create_key(kms) for _ in range(12)]
    first = kms.list_keys(km.ListKeysRequest(page_size=5)).body
    assert first.total_count == 13 and len(first.keys.key) == 5  # 12 + the service key
    seen = []
    for page in (1, 2, 3):
        body = kms.list_keys(km.ListKeysRequest(page_number=page, page_size=5)).body
        seen += [k.key_id for k in body.keys.key]
    assert set(created) < set(seen) and len(seen) == 13
    users = kms.list_keys(
        km.ListKeysRequest(
            page_size=100,
            filters=json.dumps([{"Key": "CreatorType", "Values": ["User"]}]),
        )
    ).body
    assert sorted(k.key_id for k in users.keys.key) == sorted(created)
    error = api_error(lambda: kms.list_keys(km.ListKeysRequest(page_size=101)))
    assert error.code == "InvalidParameter"


def test_aliases_lifecycle(kms: Any, api_error: Any) -> None:
    first, second = create_key(kms), create_key(kms)
    kms.create_alias(km.CreateAliasRequest(alias_name="alias/rds-prod", key_id=first))
    assert (
        kms.describe_key(km.DescribeKeyRequest(key_id="alias/rds-prod")).body.key_metadata.key_id
        == first
    )
    error = api_error(
        lambda: kms.create_alias(km.CreateAliasRequest(alias_name="alias/rds-prod", key_id=second))
    )
    assert (error.status_code, error.code) == (400, "AliasAlreadyExists")
    kms.update_alias(km.UpdateAliasRequest(alias_name="alias/rds-prod", key_id=second))
    by_key = kms.list_aliases_by_key_id(km.ListAliasesByKeyIdRequest(key_id=second)).body
    assert [a.alias_name for a in by_key.aliases.alias] == ["alias/rds-prod"]
    assert (
        by_key.aliases.alias[0].alias_arn == "acs:kms:cn-hangzhou:1234567890123456:alias/rds-prod"
    )
    names = {a.alias_name for a in kms.list_aliases(km.ListAliasesRequest()).body.aliases.alias}
    assert names == {"alias/rds-prod", SERVICE_ALIAS}
    kms.delete_alias(km.DeleteAliasRequest(alias_name="alias/rds-prod"))
    error = api_error(lambda: kms.delete_alias(km.DeleteAliasRequest(alias_name="alias/rds-prod")))
    assert (error.status_code, error.code) == (404, "Forbidden.AliasNotFound")
    error = api_error(
        lambda: kms.update_alias(km.UpdateAliasRequest(alias_name="alias/gone", key_id=first))
    )
    assert error.code == "Forbidden.AliasNotFound"


@pytest.mark.parametrize("name", ["alias/acs/mine", "alias/acs/rds"])
def test_reserved_alias_prefix_refused(kms: Any, api_error: Any, name: str) -> None:
    key_id = create_key(kms)
    error = api_error(
        lambda: kms.create_alias(km.CreateAliasRequest(alias_name=name, key_id=key_id))
    )
    assert (error.status_code, error.code) == (400, "Unsupported.Alias")
    error = api_error(lambda: kms.delete_alias(km.DeleteAliasRequest(alias_name=SERVICE_ALIAS)))
    assert error.code == "Unsupported.Alias"


@pytest.mark.parametrize("name", ["rds-prod", "alias/", "alias/bad name", "alias/" + "a" * 256])
def test_bad_alias_names(kms: Any, api_error: Any, name: str) -> None:
    key_id = create_key(kms)
    error = api_error(
        lambda: kms.create_alias(km.CreateAliasRequest(alias_name=name, key_id=key_id))
    )
    assert (error.status_code, error.code) == (400, "InvalidParameter")


def test_untag_accepts_json_and_comma_lists(kms: Any) -> None:
    key_id = create_key(
        kms,
        tags='[{"TagKey":"a","TagValue":"1"},{"TagKey":"b","TagValue":"2"},'
        '{"TagKey":"c","TagValue":"3"}]',
    )
    kms.untag_resource(km.UntagResourceRequest(key_id=key_id, tag_keys='["a"]'))
    kms.untag_resource(km.UntagResourceRequest(key_id=key_id, tag_keys="b, x"))
    tags = kms.list_resource_tags(km.ListResourceTagsRequest(key_id=key_id)).body.tags.tag
    assert [t.tag_key for t in tags] == ["c"]
    kms.tag_resource(km.TagResourceRequest(key_id=key_id, tags='[{"TagKey":"c","TagValue":"9"}]'))
    tags = kms.list_resource_tags(km.ListResourceTagsRequest(key_id=key_id)).body.tags.tag
    assert [(t.tag_key, t.tag_value) for t in tags] == [("c", "9")]


def test_enable_disable(kms: Any) -> None:
    key_id = create_key(kms)
    kms.disable_key(km.DisableKeyRequest(key_id=key_id))
    assert state(kms, key_id) == "Disabled"
    kms.disable_key(km.DisableKeyRequest(key_id=key_id))  # idempotent
    kms.enable_key(km.EnableKeyRequest(key_id=key_id))
    assert state(kms, key_id) == "Enabled"


def test_schedule_and_cancel_deletion(kms: Any, api_error: Any) -> None:
    key_id = create_key(kms)
    for days in (6, 367):
        error = api_error(
            lambda d=days: kms.schedule_key_deletion(
                km.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=d)
            )
        )
        assert (error.status_code, error.code) == (400, "InvalidParameter")
    error = api_error(
        lambda: kms.schedule_key_deletion(km.ScheduleKeyDeletionRequest(key_id=key_id))
    )
    assert error.code == "MissingParameter" and "PendingWindowInDays" in error.data["Message"]
    kms.schedule_key_deletion(
        km.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=7)
    )
    meta = kms.describe_key(km.DescribeKeyRequest(key_id=key_id)).body.key_metadata
    assert meta.key_state == "PendingDeletion" and meta.delete_date
    kms.cancel_key_deletion(km.CancelKeyDeletionRequest(key_id=key_id))
    assert state(kms, key_id) == "Enabled"
    error = api_error(lambda: kms.cancel_key_deletion(km.CancelKeyDeletionRequest(key_id=key_id)))
    assert (error.status_code, error.code) == (409, "Rejected.StateModifiedFailed")


def _pending_deletion_key(kms: Any) -> str:
    key_id = create_key(kms)
    kms.schedule_key_deletion(
        km.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=7)
    )
    return key_id


PENDING_DELETION_TABLE = [
    ("enable_key", lambda k: km.EnableKeyRequest(key_id=k), "Rejected.StateModifiedFailed"),
    ("disable_key", lambda k: km.DisableKeyRequest(key_id=k), "Rejected.StateModifiedFailed"),
    (
        "schedule_key_deletion",
        lambda k: km.ScheduleKeyDeletionRequest(key_id=k, pending_window_in_days=7),
        "Rejected.StateModifiedFailed",
    ),
    (
        "create_alias",
        lambda k: km.CreateAliasRequest(alias_name="alias/x", key_id=k),
        "Rejected.StateModifiedFailed",
    ),
    (
        "update_key_description",
        lambda k: km.UpdateKeyDescriptionRequest(key_id=k, description="d"),
        "Rejected.PendingDeletion",
    ),
    (
        "tag_resource",
        lambda k: km.TagResourceRequest(key_id=k, tags=TAG),
        "Rejected.PendingDeletion",
    ),
    (
        "untag_resource",
        lambda k: km.UntagResourceRequest(key_id=k, tag_keys="a"),
        "Rejected.PendingDeletion",
    ),
    (
        "update_rotation_policy",
        lambda k: km.UpdateRotationPolicyRequest(key_id=k, enable_automatic_rotation=False),
        "Rejected.PendingDeletion",
    ),
]


@pytest.mark.parametrize(
    ("operation", "request_for", "code"),
    PENDING_DELETION_TABLE,
    ids=[row[0] for row in PENDING_DELETION_TABLE],
)
def test_pending_deletion_state_table(
    kms: Any, api_error: Any, operation: str, request_for: Any, code: str
) -> None:
    key_id = _pending_deletion_key(kms)
    error = api_error(lambda: getattr(kms, operation)(request_for(key_id)))
    assert (error.status_code, error.code) == (409, code)
    assert state(kms, key_id) == "PendingDeletion"


def test_pending_deletion_allows_reads_and_delete_alias(kms: Any) -> None:
    key_id = create_key(kms)
    kms.create_alias(km.CreateAliasRequest(alias_name="alias/doomed", key_id=key_id))
    kms.schedule_key_deletion(
        km.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=7)
    )
    assert kms.list_resource_tags(km.ListResourceTagsRequest(key_id=key_id)).body.tags.tag == []
    kms.delete_alias(km.DeleteAliasRequest(alias_name="alias/doomed"))


def test_update_alias_to_pending_deletion_target(kms: Any, api_error: Any) -> None:
    live, doomed = create_key(kms), _pending_deletion_key(kms)
    kms.create_alias(km.CreateAliasRequest(alias_name="alias/a", key_id=live))
    error = api_error(
        lambda: kms.update_alias(km.UpdateAliasRequest(alias_name="alias/a", key_id=doomed))
    )
    assert (error.status_code, error.code) == (409, "Rejected.PendingDeletion")


def test_pending_import_state_table(kms: Any, api_error: Any) -> None:
    key_id = create_key(kms, origin="EXTERNAL")
    for call in (
        lambda: kms.enable_key(km.EnableKeyRequest(key_id=key_id)),
        lambda: kms.cancel_key_deletion(km.CancelKeyDeletionRequest(key_id=key_id)),
    ):
        assert api_error(call).code == "Rejected.StateModifiedFailed"
    error = api_error(
        lambda: kms.update_rotation_policy(
            km.UpdateRotationPolicyRequest(key_id=key_id, enable_automatic_rotation=False)
        )
    )
    assert error.code == "Rejected.PendingImport"
    kms.schedule_key_deletion(
        km.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=30)
    )
    assert state(kms, key_id) == "PendingDeletion"


def test_key_deleted_when_emulated_clock_passes_delete_date(
    kms: Any, admin: Any, api_error: Any
) -> None:
    key_id = create_key(kms)
    kms.create_alias(km.CreateAliasRequest(alias_name="alias/soon-gone", key_id=key_id))
    kms.schedule_key_deletion(
        km.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=7)
    )
    admin.post("clock", {"advance_seconds": 6 * 86400})
    assert state(kms, key_id) == "PendingDeletion"
    admin.post("clock", {"advance_seconds": 86400 + 1})
    error = api_error(lambda: kms.describe_key(km.DescribeKeyRequest(key_id=key_id)))
    assert error.code == "Forbidden.KeyNotFound"
    assert (
        api_error(lambda: kms.describe_key(km.DescribeKeyRequest(key_id="alias/soon-gone"))).code
        == "Forbidden.AliasNotFound"
    )
    listed = [k.key_id for k in kms.list_keys(km.ListKeysRequest(page_size=100)).body.keys.key]
    assert key_id not in listed


def test_deletion_protection(kms: Any, api_error: Any) -> None:
    meta = kms.create_key(km.CreateKeyRequest()).body.key_metadata
    kms.set_deletion_protection(
        km.SetDeletionProtectionRequest(
            protected_resource_arn=meta.arn,
            enable_deletion_protection=True,
            deletion_protection_description="prod",
        )
    )
    described = kms.describe_key(km.DescribeKeyRequest(key_id=meta.key_id)).body.key_metadata
    assert (described.deletion_protection, described.deletion_protection_description) == (
        "Enabled",
        "prod",
    )
    error = api_error(
        lambda: kms.schedule_key_deletion(
            km.ScheduleKeyDeletionRequest(key_id=meta.key_id, pending_window_in_days=7)
        )
    )
    assert (error.status_code, error.code) == (403, "Forbidden.NoPermission")
    kms.set_deletion_protection(
        km.SetDeletionProtectionRequest(
            protected_resource_arn=meta.arn, enable_deletion_protection=False
        )
    )
    kms.schedule_key_deletion(
        km.ScheduleKeyDeletionRequest(key_id=meta.key_id, pending_window_in_days=7)
    )


def test_rotation_policy(kms: Any, api_error: Any) -> None:
    key_id = create_key(kms)
    kms.update_rotation_policy(
        km.UpdateRotationPolicyRequest(
            key_id=key_id, enable_automatic_rotation=True, rotation_interval="30d"
        )
    )
    meta = kms.describe_key(km.DescribeKeyRequest(key_id=key_id)).body.key_metadata
    assert (meta.automatic_rotation, meta.rotation_interval) == ("Enabled", "2592000s")
    assert meta.next_rotation_date
    for bad in ("6d", "731d", "week"):
        error = api_error(
            lambda b=bad: kms.update_rotation_policy(
                km.UpdateRotationPolicyRequest(
                    key_id=key_id, enable_automatic_rotation=True, rotation_interval=b
                )
            )
        )
        assert error.code == "InvalidParameter"
    error = api_error(
        lambda: kms.update_rotation_policy(
            km.UpdateRotationPolicyRequest(key_id=key_id, enable_automatic_rotation=True)
        )
    )
    assert error.code == "MissingParameter"
    kms.disable_key(km.DisableKeyRequest(key_id=key_id))
    assert (
        kms.describe_key(km.DescribeKeyRequest(key_id=key_id)).body.key_metadata.automatic_rotation
        == "Suspended"
    )
    error = api_error(
        lambda: kms.update_rotation_policy(
            km.UpdateRotationPolicyRequest(key_id=key_id, enable_automatic_rotation=False)
        )
    )
    assert (error.status_code, error.code) == (409, "Rejected.Disabled")


def test_update_description_account_status_regions(kms: Any) -> None:
    key_id = create_key(kms, description="old")
    kms.update_key_description(km.UpdateKeyDescriptionRequest(key_id=key_id, description="new"))
    assert (
        kms.describe_key(km.DescribeKeyRequest(key_id=key_id)).body.key_metadata.description
        == "new"
    )
    assert kms.describe_account_kms_status().body.account_status == "Enabled"
    regions = {r.region_id for r in kms.describe_regions().body.regions.region}
    assert {
        "cn-hangzhou",
        "cn-shanghai",
        "cn-beijing",
        "cn-shenzhen",
        "ap-southeast-1",
        "eu-central-1",
        "us-west-1",
    } <= regions


def test_regions_are_separate(make_client: Any, api_error: Any) -> None:
    hangzhou, shanghai = make_client("kms"), make_client("kms", region="cn-shanghai")
    key_id = create_key(hangzhou)
    error = api_error(lambda: shanghai.describe_key(km.DescribeKeyRequest(key_id=key_id)))
    assert error.code == "Forbidden.KeyNotFound"
    assert error.data["HostId"] == "kms.cn-shanghai.aliyuncs.com"
