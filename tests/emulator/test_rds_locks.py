"""An instance whose CMK is disabled, scheduled for deletion or deleted is locked; O&M calls on
it fail; re-enabling or cancelling the deletion unlocks it."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_kms20160120 import models as km
from alibabacloud_rds20140815 import models as m

from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    REGION,
    RESTART_SECONDS,
    advance,
    attribute,
    authorize_rds,
    create_key,
    emulator,
    encryption_key,
    running_instance,
    set_key,
    signature,
)


@pytest.fixture
def on_cmk(rds: Any, kms: Any, ram: Any, admin: Any) -> tuple[str, str]:
    """(instance id, key id): a Running dedicated instance on a CMK."""
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    set_key(rds, instance_id, key_id)
    advance(admin, RESTART_SECONDS)
    return instance_id, key_id


def _lock(rds: Any, instance_id: str) -> tuple[str, str]:
    item = attribute(rds, instance_id)
    return item.lock_mode, item.lock_reason


def _listed_lock(rds: Any, instance_id: str) -> str:
    request = m.DescribeDBInstancesRequest(region_id=REGION, dbinstance_id=instance_id)
    return rds.describe_dbinstances(request).body.items.dbinstance[0].lock_mode


def _om_calls_fail(rds: Any, instance_id: str, api_error: Any) -> None:
    error = api_error(lambda: set_key(rds, instance_id, "ServiceKey"))
    assert (error.code, error.status_code) == ("IncorrectDBInstanceLockMode", 403)
    error = api_error(
        lambda: rds.modify_dbinstance_maintain_time(
            m.ModifyDBInstanceMaintainTimeRequest(
                dbinstance_id=instance_id, maintain_time="01:00Z-02:00Z"
            )
        )
    )
    assert error.code == "IncorrectDBInstanceLockMode"


def test_disabling_the_key_locks_and_enabling_unlocks(
    rds: Any, kms: Any, admin: Any, api_error: Any, on_cmk: tuple[str, str]
) -> None:
    instance_id, key_id = on_cmk
    assert _lock(rds, instance_id) == ("Unlock", "")
    kms.disable_key(km.DisableKeyRequest(key_id=key_id))
    assert _lock(rds, instance_id) == ("LockByEncryptionKey", "encryption_key_disabled")
    assert _listed_lock(rds, instance_id) == "LockByEncryptionKey"
    assert encryption_key(rds, instance_id).encryption_key_status == "Disabled"
    _om_calls_fail(rds, instance_id, api_error)
    kms.enable_key(km.EnableKeyRequest(key_id=key_id))
    assert _lock(rds, instance_id) == ("Unlock", "")
    set_key(rds, instance_id, "ServiceKey")  # O&M works again


def test_scheduled_deletion_locks_and_cancelling_unlocks(
    rds: Any, kms: Any, admin: Any, api_error: Any, on_cmk: tuple[str, str]
) -> None:
    instance_id, key_id = on_cmk
    kms.schedule_key_deletion(
        km.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=7)
    )
    assert _lock(rds, instance_id) == ("LockByEncryptionKey", "encryption_key_pending_deletion")
    body = encryption_key(rds, instance_id)
    assert body.encryption_key_status == "Disabled" and body.delete_date
    _om_calls_fail(rds, instance_id, api_error)
    kms.cancel_key_deletion(km.CancelKeyDeletionRequest(key_id=key_id))
    assert _lock(rds, instance_id) == ("Unlock", "")
    set_key(rds, instance_id, "ServiceKey")


def test_a_deleted_key_locks_for_good(
    rds: Any, kms: Any, admin: Any, api_error: Any, on_cmk: tuple[str, str]
) -> None:
    instance_id, key_id = on_cmk
    kms.schedule_key_deletion(
        km.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=7)
    )
    advance(admin, 8 * 86400)
    assert _lock(rds, instance_id) == ("LockByEncryptionKey", "encryption_key_deleted")
    body = encryption_key(rds, instance_id)
    assert body.encryption_key == key_id and body.encryption_key_status == "Disabled"
    _om_calls_fail(rds, instance_id, api_error)
    error = api_error(lambda: kms.cancel_key_deletion(km.CancelKeyDeletionRequest(key_id=key_id)))
    assert error.code == "Forbidden.KeyNotFound"
    assert _lock(rds, instance_id)[0] == "LockByEncryptionKey"
    rds.delete_dbinstance(m.DeleteDBInstanceRequest(dbinstance_id=instance_id))  # still allowed


def test_a_locked_instance_is_still_readable(
    rds: Any, kms: Any, admin: Any, on_cmk: tuple[str, str]
) -> None:
    instance_id, key_id = on_cmk
    kms.disable_key(km.DisableKeyRequest(key_id=key_id))
    request = m.DescribeKmsAssociateResourcesRequest(
        region_id=REGION,
        kms_resource_id=key_id,
        kms_resource_type="key",
        kms_resource_user="1234567890123456",  # required (SDK)
    )
    body = rds.describe_kms_associate_resources(request).body
    assert [i.dbinstance_name for i in body.associate_dbinstances] == [instance_id]
    assert attribute(rds, instance_id).dbinstance_status == "Running"


def test_service_key_and_unencrypted_instances_are_never_locked(
    rds: Any, kms: Any, admin: Any, on_cmk: tuple[str, str]
) -> None:
    _, key_id = on_cmk
    plain = running_instance(rds, admin)
    serviced = running_instance(rds, admin)
    set_key(rds, serviced, "ServiceKey")
    advance(admin, RESTART_SECONDS)
    kms.disable_key(km.DisableKeyRequest(key_id=key_id))
    assert _lock(rds, plain) == ("Unlock", "")
    assert _lock(rds, serviced) == ("Unlock", "")
