"""A backup set's `Encryption` text (cloud/rds.py, `backup_key`): the key is read only from a
form we know; anything else stops the reading (docs/real-cloud.md, "Backups that still need a
key"), so an unknown answer never becomes "this set needs no key"."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.cloud.rds_backups import backup_key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"EncryptionType":"CloudDisk","EncryptionKey":"key-a"}', "key-a"),
        ('{"encryptionKey":"key-a"}', "key-a"),
        ('{"KeyId":"key-a","EncryptionKey":"key-a"}', "key-a"),
        ('{"EncryptionType":"None"}', None),
    ],
)
def test_known_forms(text: str, key: str | None) -> None:
    assert backup_key(text, "1") == key


@pytest.mark.parametrize(
    "text",
    [
        "{}",  # the SDK's example: says nothing about the key
        "",
        None,
        "not json",
        "[]",
        '"key-a"',
        '{"EncryptionType":"CloudDisk"}',
        '{"EncryptionKey":"key-a","KeyId":"key-b"}',
        '{"EncryptionType":"None","EncryptionKey":"key-a","keyId":"key-b"}',
    ],
)
def test_anything_else_stops(text: Any) -> None:
    with pytest.raises(ValueError, match="backup set 42"):
        backup_key(text, "42")
