"""The disk's key is the `EncryptionKeyList` entry used by `DiskEncryption`; TDE's entry never
makes the disk encrypted, and an answer that cannot be attributed is an error, never a fact
(docs/real-cloud.md, "TDE and the key list")."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.cloud.answers import reading
from reconciler.cloud.rds import encryption_from_body
from reconciler.errors import PermanentError

SERVICE = "key-service"


def _entry(key_id: str, used_by: Any = "DiskEncryption", **extra: Any) -> dict[str, Any]:
    entry = {"EncryptionKey": key_id, "KeyType": "CMK", **extra}
    if used_by is not None:
        entry["UsedBy"] = used_by
    return entry


def _answer(top: Any, *entries: Any, listed: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"RequestId": "r", "EncryptionKey": top}
    body["EncryptionKeyList"] = list(entries) if listed is None else listed
    return body


def test_tde_alone_is_disk_encryption_off_whatever_the_top_level_says() -> None:
    for top in ("key-tde", "", None):
        found = encryption_from_body(_answer(top, _entry("key-tde", "TDE")), SERVICE)
        assert not found.enabled and found.key_id is None


def test_the_disk_entry_gives_the_key_and_its_type_beside_tde() -> None:
    for top in ("key-disk", "key-tde"):  # the top level may name either: the list decides
        body = _answer(top, _entry("key-tde", "TDE"), _entry("key-disk"))
        found = encryption_from_body(body, SERVICE)
        assert (found.enabled, found.key_id, found.key_type) == (True, "key-disk", "CMK")


def test_the_service_key_without_key_type_is_settled_by_its_id() -> None:
    body = _answer(SERVICE, {"EncryptionKey": SERVICE, "UsedBy": "DiskEncryption"})
    assert encryption_from_body(body, SERVICE).key_type == "ServiceKey"
    assert encryption_from_body(body, None).key_type is None  # left for the caller


def test_off_is_an_empty_answer() -> None:
    for body in ({"RequestId": "r"}, _answer(""), _answer(None, listed=[])):
        assert not encryption_from_body(body, SERVICE).enabled


UNATTRIBUTABLE = {
    "a top-level key and no list": _answer("key-a"),
    "a top-level key the list does not name": _answer("key-a", _entry("key-b", "TDE")),
    "two disk entries": _answer("key-a", _entry("key-a"), _entry("key-b")),
    "the same disk entry twice": _answer("key-a", _entry("key-a"), _entry("key-a")),
    "an unknown use": _answer("key-a", _entry("key-a", "Backup")),
    "no use at all": _answer("key-a", _entry("key-a", None)),
    "a use spelt otherwise": _answer("key-a", _entry("key-a", "diskencryption")),
    "an entry without its key": _answer(None, {"UsedBy": "TDE"}),
    "an entry that is not an object": _answer(None, listed=["key-a"]),
    "a list that is not a list": _answer("key-a", listed={"key-a": "DiskEncryption"}),
    "a list that is a string": _answer(None, listed="key-a"),
    "a top-level key that is not a string": _answer(5, _entry("key-a")),
}


@pytest.mark.parametrize("body", UNATTRIBUTABLE.values(), ids=UNATTRIBUTABLE.keys())
def test_an_answer_that_cannot_be_attributed_stops_naming_the_instance(body: dict) -> None:
    with (
        pytest.raises(PermanentError) as error,
        reading("rds:DescribeDBInstanceEncryptionKey", "pgm-bp1tde"),
    ):
        encryption_from_body(body, SERVICE)
    assert error.value.resource == "pgm-bp1tde"
    assert "nothing was assumed" in str(error.value)
