"""The SQLite store: transactions, order, concurrency, and a restart on the same file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as km
from alibabacloud_ram20150501 import models as rm

from reconciler.emulator.server import Emulator
from reconciler.emulator.store import Store
from tests.emulator.conftest import sdk_client


def test_put_get_list_delete() -> None:
    store = Store()
    with store.transaction() as tx:
        tx.put("k", "r1", "b", {"n": 1})
        tx.put("k", "r1", "a", {"n": 2})
        tx.put("k", "r2", "c", {"n": 3})
        tx.put("k", "r1", "b", {"n": 4})  # an update keeps its place
    with store.transaction() as tx:
        assert tx.get("k", "r1", "b") == {"n": 4}
        assert [d["n"] for d in tx.list("k", "r1")] == [4, 2]
        assert [d["n"] for d in tx.list("k")] == [4, 2, 3]
        assert [d["n"] for d in tx.list("k", limit=1, offset=1)] == [2]
        assert tx.count("k") == 3 and tx.count("k", "r2") == 1
        assert tx.delete("k", "r1", "a") and not tx.delete("k", "r1", "a")
        assert tx.get("k", "r1", "a") is None


def test_exception_rolls_back() -> None:
    store = Store()
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put("k", "", "x", {})
        raise RuntimeError("boom")
    with store.transaction() as tx:
        assert tx.get("k", "", "x") is None


def test_concurrent_read_modify_write_loses_nothing(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s.sqlite"))
    with store.transaction() as tx:
        tx.put("counter", "", "c", {"n": 0})

    def bump() -> None:
        for _ in range(100):
            with store.transaction() as tx:
                doc = tx.get("counter", "", "c")
                assert doc is not None
                tx.put("counter", "", "c", {"n": doc["n"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.transaction() as tx:
        assert tx.get("counter", "", "c") == {"n": 800}


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_restart_on_same_state_file_keeps_everything(tmp_path: Path, signature: str) -> None:
    state = str(tmp_path / "emulator.sqlite")
    with Emulator(state_path=state) as first:
        kms: Any = sdk_client("kms", first.endpoint, signature)
        ram: Any = sdk_client("ram", first.endpoint, signature)
        key_id = kms.create_key(km.CreateKeyRequest(description="kept")).body.key_metadata.key_id
        kms.create_alias(km.CreateAliasRequest(alias_name="alias/kept", key_id=key_id))
        kms.disable_key(km.DisableKeyRequest(key_id=key_id))
        service_key = kms.describe_key(
            km.DescribeKeyRequest(key_id="alias/acs/rds")
        ).body.key_metadata.key_id
        ram.create_role(
            rm.CreateRoleRequest(
                role_name="r1",
                assume_role_policy_document=(
                    '{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
                    '"Principal":{"Service":["rds.aliyuncs.com"]}}]}'
                ),
            )
        )
        first.state.clock.advance(7200)
    with Emulator(state_path=state) as second:
        kms = sdk_client("kms", second.endpoint, signature)
        ram = sdk_client("ram", second.endpoint, signature)
        meta = kms.describe_key(km.DescribeKeyRequest(key_id="alias/kept")).body.key_metadata
        assert (meta.key_id, meta.key_state, meta.description) == (key_id, "Disabled", "kept")
        again = kms.describe_key(km.DescribeKeyRequest(key_id="alias/acs/rds")).body.key_metadata
        assert again.key_id == service_key
        assert ram.get_role(rm.GetRoleRequest(role_name="r1")).body.role.role_name == "r1"
        assert second.state.clock.offset_seconds == 7200
