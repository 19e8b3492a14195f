"""KMS instances and the default key in the emulator (emulator/kms/instances.py), through the
official SDK: where CreateKey puts a key, what it refuses, the three instance reads as the SDK
models shape them, the admin API and seeds (docs/emulator.md, KMS)."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_kms20160120 import models as km

from reconciler.emulator.seeds import apply_seed
from reconciler.emulator.server import Emulator
from tests.emulator.conftest import TEST_KMS_INSTANCES, AdminClient

HZ = TEST_KMS_INSTANCES["cn-hangzhou"]


def _create(kms: Any, **fields: Any) -> Any:
    return kms.create_key(km.CreateKeyRequest(**fields)).body.key_metadata


def _instance(admin: AdminClient, **body: Any) -> str:
    body = {"region": "cn-hangzhou", "key_num": 5, "end_date": "2099-01-01T00:00:00Z", **body}
    return str(admin.post("kms/instances", body)["KmsInstanceId"])


def test_a_key_in_an_instance_says_so_and_many_fit(kms: Any) -> None:
    ids = [_create(kms, dkmsinstance_id=HZ).key_id for _ in range(3)]
    for key_id in ids:
        meta = kms.describe_key(km.DescribeKeyRequest(key_id=key_id)).body.key_metadata
        assert meta.dkmsinstance_id == HZ


def test_one_default_key_per_region(kms: Any, api_error: Any) -> None:
    first = _create(kms)
    assert first.dkmsinstance_id == ""
    error = api_error(lambda: _create(kms))
    assert (error.code, error.status_code) == ("Rejected.LimitExceeded", 400)
    assert first.key_id in error.message
    assert _create(kms, dkmsinstance_id=HZ).dkmsinstance_id == HZ  # instances still take keys


def test_an_unknown_instance_is_refused(kms: Any, api_error: Any) -> None:
    error = api_error(lambda: _create(kms, dkmsinstance_id="kst-hzzgone0000"))
    assert (error.code, error.status_code) == ("Forbidden.ResourceNotFound", 404)
    error = api_error(
        lambda: kms.get_kms_instance(km.GetKmsInstanceRequest(kms_instance_id="kst-hzzgone0000"))
    )
    assert error.code == "Forbidden.ResourceNotFound"


@pytest.mark.parametrize("status", ["Uninitialized", "Connecting", "Disconnected", "Error"])
def test_an_instance_not_connected_takes_no_key(
    kms: Any, admin: AdminClient, api_error: Any, status: str
) -> None:
    instance = _instance(admin, status=status)
    error = api_error(lambda: _create(kms, dkmsinstance_id=instance))
    assert (error.code, error.status_code) == ("Rejected.KmsInstanceNotConnected", 409)


def test_a_full_instance_takes_no_key_and_its_quota_says_so(
    kms: Any, admin: AdminClient, api_error: Any
) -> None:
    instance = _instance(admin, key_num=2)
    _create(kms, dkmsinstance_id=instance)
    _create(kms, dkmsinstance_id=instance)
    error = api_error(lambda: _create(kms, dkmsinstance_id=instance))
    assert error.code == "Rejected.LimitExceeded"
    request = km.GetKmsInstanceQuotaInfosRequest(kms_instance_id=instance, resource_type="key")
    infos = kms.get_kms_instance_quota_infos(request).body.kms_instance_quota_infos
    assert [(q.resource_type, q.resource_quota, q.used_quantity) for q in infos] == [("key", 2, 2)]


def test_get_and_list_as_the_sdk_models_shape_them(kms: Any, admin: AdminClient) -> None:
    instance = _instance(admin, end_date="2030-05-01T00:00:00Z", status="Connecting")
    found = kms.get_kms_instance(km.GetKmsInstanceRequest(kms_instance_id=instance)).body
    got = found.kms_instance
    assert (got.instance_id, got.status, got.end_date, got.key_num, got.charge_type) == (
        instance,
        "Connecting",
        "2030-05-01T00:00:00Z",
        5,
        "PREPAY",
    )
    listed = kms.list_kms_instances(km.ListKmsInstancesRequest(page_size=100)).body
    ids = [i.kms_instance_id for i in listed.kms_instances.kms_instance]
    assert instance in ids and HZ in ids and listed.total_count == len(ids)


def test_rotation_of_a_default_key_needs_the_purchase(
    kms: Any, admin: AdminClient, api_error: Any
) -> None:
    rotate = {"enable_automatic_rotation": True, "rotation_interval": "30d"}
    error = api_error(lambda: _create(kms, **rotate))
    assert (error.code, error.status_code) == ("Rejected.UnsupportedOperation", 400)
    key = _create(kms).key_id  # the default key, not rotating
    update = km.UpdateRotationPolicyRequest(key_id=key, **rotate)
    assert api_error(lambda: kms.update_rotation_policy(update)).code == (
        "Rejected.UnsupportedOperation"
    )
    admin.post("kms/default_key_rotation", {"region": "cn-hangzhou", "purchased": True})
    kms.update_rotation_policy(update)
    assert _create(kms, dkmsinstance_id=HZ, **rotate).key_id  # in an instance: always allowed


@pytest.mark.parametrize(
    "body",
    [
        {"key_num": 5, "end_date": "2099-01-01T00:00:00Z"},  # no region
        {"region": "cn-hangzhou", "end_date": "2099-01-01T00:00:00Z"},  # no key_num
        {"region": "cn-hangzhou", "key_num": 5, "end_date": "soon"},
        {
            "region": "cn-hangzhou",
            "key_num": 5,
            "end_date": "2099-01-01T00:00:00Z",
            "status": "Busy",
        },
        {
            "region": "cn-hangzhou",
            "key_num": 5,
            "end_date": "2099-01-01T00:00:00Z",
            "instance_id": "inst-1",
        },
    ],
)
def test_the_admin_api_refuses_a_bad_instance(emulator: Emulator, body: dict) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as info:
        AdminClient(emulator.base_url).post("kms/instances", body)
    assert info.value.code == 400


def test_a_seed_declares_instances_with_fixed_ids(tmp_path: Any) -> None:
    seed = {
        "regions": ["cn-hangzhou"],
        "kms_instances": [
            {
                "id": "kst-hzzseed0001",
                "region": "cn-hangzhou",
                "end_date": "2099-01-01T00:00:00Z",
                "key_num": 3,
            }
        ],
        "kms_keys": [
            {"region": "cn-hangzhou", "kms_instance": "kst-hzzseed0001", "aliases": ["alias/a"]}
        ],
    }
    import yaml

    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(seed))
    with Emulator(state_path=":memory:") as emu:
        apply_seed(emu, str(path))
        from tests.emulator.conftest import sdk_client

        kms = sdk_client("kms", emu.endpoint)
        meta = kms.describe_key(km.DescribeKeyRequest(key_id="alias/a")).body.key_metadata
        assert meta.dkmsinstance_id == "kst-hzzseed0001"
