"""A lost TDE key, through the real SDK (docs/emulator.md, "RDS: TDE"; documented in "Configure
TDE": a disabled or deleted custom key stops snapshots, and a restart after that makes the
instance unavailable): CreateBackup refused, automatic backups stop, and a restart (of any
kind) that begins while the key is lost locks the instance like a lost disk key."""

from __future__ import annotations

from typing import Any

from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_rds20140815 import models as m

from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    RESTART_SECONDS,
    advance,
    attribute,
    authorize_rds,
    create_key,
    emulator,
    running_instance,
    set_key,
    signature,
    status,
)

DAY = 86400.0


def _tde_instance(rds: Any, kms: Any, ram: Any, admin: Any) -> tuple[str, str]:
    """A Running instance with TDE on a CMK, restarted already; (instance id, key id)."""
    authorize_rds(ram)
    key_id = create_key(kms)
    instance_id = running_instance(rds, admin)
    request = m.ModifyDBInstanceTDERequest(
        dbinstance_id=instance_id, tdestatus="Enabled", encryption_key=key_id
    )
    rds.modify_dbinstance_tde(request)
    advance(admin, RESTART_SECONDS)
    return instance_id, key_id


def _backup(rds: Any, instance_id: str) -> Any:
    request = m.CreateBackupRequest(dbinstance_id=instance_id, backup_method="Snapshot")
    return rds.create_backup(request)


def _automatic_sets(rds: Any, instance_id: str) -> list[str]:
    request = m.DescribeBackupsRequest(dbinstance_id=instance_id, backup_mode="Automated")
    return [b.backup_start_time for b in rds.describe_backups(request).body.items.backup]


def _lock(rds: Any, instance_id: str) -> tuple[str, str]:
    found = attribute(rds, instance_id)
    return found.lock_mode, found.lock_reason


def _restart(rds: Any, instance_id: str) -> None:
    rds.restart_dbinstance(m.RestartDBInstanceRequest(dbinstance_id=instance_id))


def _disable(kms: Any, key_id: str) -> None:
    kms.disable_key(kms_models.DisableKeyRequest(key_id=key_id))


def _enable(kms: Any, key_id: str) -> None:
    kms.enable_key(kms_models.EnableKeyRequest(key_id=key_id))


def test_a_lost_tde_key_refuses_a_manual_backup_but_does_not_lock(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    instance_id, key_id = _tde_instance(rds, kms, ram, admin)
    _backup(rds, instance_id)
    _disable(kms, key_id)
    error = api_error(lambda: _backup(rds, instance_id))
    assert (error.status_code, error.code) == (403, "InvalidKmsKey")
    assert _lock(rds, instance_id) == ("Unlock", "")  # no restart yet: it keeps running
    assert status(rds, instance_id) == "Running"
    _enable(kms, key_id)
    assert _backup(rds, instance_id).body.backup_job_id


def test_a_lost_tde_key_stops_automatic_backups_for_as_long_as_it_is_lost(
    rds: Any, kms: Any, ram: Any, admin: Any
) -> None:
    instance_id, key_id = _tde_instance(rds, kms, ram, admin)
    advance(admin, 2 * DAY)
    before = _automatic_sets(rds, instance_id)
    assert len(before) == 2
    _disable(kms, key_id)
    advance(admin, 2 * DAY)
    assert _automatic_sets(rds, instance_id) == before
    _enable(kms, key_id)
    advance(admin, DAY)
    after = _automatic_sets(rds, instance_id)
    assert len(after) == 3 and set(before) < set(after)  # the lost days stay without a set


def test_a_restart_after_the_key_is_lost_locks_the_instance(
    rds: Any, kms: Any, ram: Any, admin: Any, api_error: Any
) -> None:
    instance_id, key_id = _tde_instance(rds, kms, ram, admin)
    _disable(kms, key_id)
    _restart(rds, instance_id)
    assert _lock(rds, instance_id) == ("LockByEncryptionKey", "tde_encryption_key_disabled")
    advance(admin, RESTART_SECONDS)
    assert _lock(rds, instance_id)[0] == "LockByEncryptionKey"  # the restart is over, still
    window = m.ModifyDBInstanceMaintainTimeRequest(
        dbinstance_id=instance_id, maintain_time="02:00Z-03:00Z"
    )
    error = api_error(lambda: rds.modify_dbinstance_maintain_time(window))
    assert error.code == "IncorrectDBInstanceLockMode"
    assert api_error(lambda: _restart(rds, instance_id)).code == "IncorrectDBInstanceLockMode"
    _enable(kms, key_id)
    assert _lock(rds, instance_id) == ("Unlock", "")


def test_a_restart_before_the_key_is_lost_does_not_lock(
    rds: Any, kms: Any, ram: Any, admin: Any
) -> None:
    instance_id, key_id = _tde_instance(rds, kms, ram, admin)
    _restart(rds, instance_id)
    advance(admin, RESTART_SECONDS)
    _disable(kms, key_id)
    assert _lock(rds, instance_id) == ("Unlock", "")


def test_a_disk_key_change_is_a_restart_that_locks_too(
    rds: Any, kms: Any, ram: Any, admin: Any
) -> None:
    instance_id, key_id = _tde_instance(rds, kms, ram, admin)
    request = kms_models.ScheduleKeyDeletionRequest(key_id=key_id, pending_window_in_days=7)
    kms.schedule_key_deletion(request)
    set_key(rds, instance_id, "ServiceKey")
    lock = _lock(rds, instance_id)
    assert lock == ("LockByEncryptionKey", "tde_encryption_key_pending_deletion")
    advance(admin, 8 * DAY)  # the key is deleted now: still locked
    assert _lock(rds, instance_id) == ("LockByEncryptionKey", "tde_encryption_key_deleted")


def test_a_generated_tde_key_is_never_lost(rds: Any, admin: Any) -> None:
    instance_id = running_instance(rds, admin)
    rds.modify_dbinstance_tde(
        m.ModifyDBInstanceTDERequest(dbinstance_id=instance_id, tdestatus="Enabled")
    )
    advance(admin, RESTART_SECONDS)
    _restart(rds, instance_id)
    assert _lock(rds, instance_id) == ("Unlock", "")
    assert _backup(rds, instance_id).body.backup_job_id
