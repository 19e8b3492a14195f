"""Unit tests of the pure RDS rules: class types, maintenance windows, locks (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.emulator.errors import ApiError
from reconciler.emulator.rds import rules


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("pg.x4.large.2c", "d"),
        ("pg.x8.medium.1", "d"),
        ("pg.x4.2xlarge.1", "d"),
        ("pg.n2.2c.1m", "x"),
        ("pg.n4.8c.2m", "x"),
        ("pg.n1e.2c.2m", "x"),
        ("pg.n2e.4c.2m", "x"),
        ("pg.n2.serverless.1c", "x"),
        ("rds.pg.s1.small", "s"),
        ("PG.X4.LARGE.2C", "d"),
    ],
)
def test_class_type(code: str, expected: str) -> None:
    assert rules.class_type(code) == expected


def test_serverless_by_category_or_class() -> None:
    assert rules.is_serverless("serverless_ha")
    assert rules.is_serverless("Basic", "pg.n2.serverless.2c")
    assert not rules.is_serverless("HighAvailability", "pg.n2.2c.2m")


@pytest.mark.parametrize(
    ("window", "now", "start"),
    [
        ("18:00Z-22:00Z", "2026-01-01T10:00:00", "2026-01-01T18:00:00"),
        ("18:00Z-22:00Z", "2026-01-01T19:30:00", "2026-01-01T19:30:00"),  # inside: now
        ("18:00Z-22:00Z", "2026-01-01T22:00:00", "2026-01-02T18:00:00"),  # end is exclusive
        ("22:00Z-02:00Z", "2026-01-01T01:00:00", "2026-01-01T01:00:00"),  # wraps midnight
        ("22:00Z-02:00Z", "2026-01-01T03:00:00", "2026-01-01T22:00:00"),
        ("00:00Z-00:30Z", "2026-01-01T23:59:00", "2026-01-02T00:00:00"),
    ],
)
def test_window_start(window: str, now: str, start: str) -> None:
    assert rules.window_start_at_or_after(_epoch(now), window) == _epoch(start)


@pytest.mark.parametrize("window", ["", "18:00-22:00", "25:00Z-26:00Z", "18:00Z-18:00Z", "x"])
def test_bad_windows(window: str) -> None:
    with pytest.raises(ApiError) as info:
        rules.parse_window(window)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("state", "lock"),
    [
        ("Enabled", ("Unlock", "")),
        ("Disabled", ("LockByEncryptionKey", "encryption_key_disabled")),
        ("PendingDeletion", ("LockByEncryptionKey", "encryption_key_pending_deletion")),
        (None, ("LockByEncryptionKey", "encryption_key_deleted")),
    ],
)
def test_lock_for_key_state(state: str | None, lock: tuple[str, str]) -> None:
    assert rules.lock_for_key_state(state) == lock


def test_instance_rules_order_engine_first() -> None:
    facts = rules.InstanceFacts("MySQL", "serverless_basic", "cloud_ssd", "mysql.n2.serverless.1c")
    with pytest.raises(ApiError) as info:
        rules.check_supports_encryption(facts)
    assert info.value.code == "IncorrectDBInstanceEngine"
