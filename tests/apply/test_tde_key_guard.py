"""The guard at DisableKey counts TDE users (issue 18, item 4): someone moves an instance's TDE
onto the key (the demo fleet turned its TDE on; IsRotate moves it) while apply moves the key's
last disk user off it; the census read right before the write names the TDE user, and the key
stays Enabled."""

from __future__ import annotations

from typing import Any

from reconciler.apply.executor import apply_plan
from tests.apply.conftest import make_plan, writes
from tests.apply.test_guards_at_the_write import (
    BYSTANDER,
    MOVING,
    RETIRE_LEGACY,
    _demo_applied,
    _key_state,
    _options,
    _when,
)
from tests.e2e import world


def _tde_on(demo: Any, instance_id: str, key_id: str) -> None:
    from alibabacloud_rds20140815 import models

    world.rds(demo.endpoint).modify_dbinstance_tde(
        models.ModifyDBInstanceTDERequest(
            dbinstance_id=instance_id, tdestatus="Enabled", encryption_key=key_id, is_rotate=True
        )
    )


def test_a_key_someone_turns_tde_on_with_during_apply_is_not_disabled(demo: Any) -> None:
    clients = _demo_applied(demo)
    plan = make_plan(clients, RETIRE_LEGACY)
    legacy = plan.change("kms_key.rds-legacy")
    assert legacy is not None and legacy.op_names == ["kms:DisableKey"]
    key_id = str(legacy.target_id)

    hook = _when(f"rds_encryption.{MOVING}", "write", lambda: _tde_on(demo, BYSTANDER, key_id))
    result = apply_plan(plan, clients, _options(demo), hook)

    refused = {o.address: o for o in result.outcomes}[legacy.address]
    assert refused.status == "failed" and not result.ok
    assert "refused at the write: KeyInUse" in refused.detail
    assert f"{BYSTANDER} (a TDE user: TDE cannot be turned off" in refused.detail
    assert "kms:DisableKey" not in writes(demo)
    assert _key_state(demo, key_id) == "Enabled"
