"""The journal: durable JSON lines, before and after each write, no secrets."""

from __future__ import annotations

from reconciler.apply.journal import Journal, scrub


def test_entries_round_trip_and_open_writes_are_in_doubt(tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "deep" / "journal.jsonl")
    journal.before("kms_key.a", "kms:CreateKey", {"KeySpec": "Aliyun_AES_256"})
    journal.after("kms_key.a", "kms:CreateKey", "ok", request_id="R1", outputs={"key_id": "key-1"})
    journal.before("rds_encryption.i", "rds:ModifyDBInstanceConfig", {"ClientToken": "rcl-1"})

    entries = journal.entries()
    assert [e["event"] for e in entries] == ["before", "after", "before"]
    assert entries[1]["outputs"] == {"key_id": "key-1"} and entries[1]["request_id"] == "R1"
    assert entries[2]["client_token"] == "rcl-1"
    assert all("ts" in e for e in entries)
    assert [e["address"] for e in journal.in_doubt()] == ["rds_encryption.i"]


def test_a_torn_last_line_is_skipped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append({"event": "start"})
    with open(journal.path, "a") as handle:
        handle.write('{"event": "bef')
    assert [e["event"] for e in journal.entries()] == ["start"]


def test_secrets_never_reach_the_file() -> None:
    clean = scrub(
        {"AccessKeySecret": "s3cr3t", "SecurityToken": "tok", "ClientToken": "rcl-1", "N": 1}
    )
    assert clean == {
        "AccessKeySecret": "(redacted)",
        "SecurityToken": "(redacted)",
        "ClientToken": "rcl-1",
        "N": 1,
    }
