"""Every guard again at its write (issue 16, finding 2): right before a write, apply reads again
the facts the guard that allowed it rests on. Out-of-band changes are made with the official
SDK at the moment apply is about to write, as someone in the console could."""

from __future__ import annotations

from typing import Any

from reconciler.apply.executor import ApplyEvent, apply_plan
from tests.apply.conftest import REPO_SPECS, FakeTime, clients_for, make_plan, options, writes
from tests.e2e import world

HZ = "cn-hangzhou"
MOVING = "pgm-bp1ded0000000003"  # on alias/rds-legacy in the demo world
BYSTANDER = "pgm-bp1ded0000000001"  # dedicated: may take any CMK
PROD = {
    "alias": "alias/rds-prod",
    "description": "RDS disk encryption, production",
    "rotation": {"enabled": True, "interval_days": 365},
    "deletion_protection": True,
    "tags": {"team": "dba"},
}
LEGACY = {"alias": "alias/rds-legacy", "description": "legacy RDS key", "tags": {"team": "dba"}}
RETIRE_LEGACY = {
    "defaults": {"region": HZ, "restart": "immediate"},
    "kms_keys": {"rds-prod": PROD, "rds-legacy": {**LEGACY, "state": "disabled"}},
    "instances": {MOVING: {"encryption": {"key": "rds-prod"}}},
}


def _demo_applied(demo: Any) -> Any:
    """The demo fleet applied: RAM ready, rds-prod made, rds-legacy tagged."""
    clients = clients_for(demo)
    done = apply_plan(make_plan(clients, REPO_SPECS), clients, _options(demo))
    assert done.ok, done.outcomes
    return clients


def _options(demo: Any) -> Any:
    return options(FakeTime(demo), allow_restart=True, allow_irreversible=True)


def _switch(demo: Any, instance_id: str, value: str) -> None:
    from alibabacloud_rds20140815 import models

    world.rds(demo.endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=instance_id,
            config_name="encryptionKey",
            config_value=value,
            switch_time_mode="Immediate",
        )
    )


def _key_state(demo: Any, key_id: str) -> str:
    from alibabacloud_kms20160120 import models

    answer = world.kms(demo.endpoint).describe_key(models.DescribeKeyRequest(key_id=key_id))
    return str(answer.body.key_metadata.key_state)


def _lock_mode(demo: Any, instance_id: str) -> str:
    from alibabacloud_rds20140815 import models

    request = models.DescribeDBInstanceAttributeRequest(dbinstance_id=instance_id)
    body = world.rds(demo.endpoint).describe_dbinstance_attribute(request).body
    return str(body.items.dbinstance_attribute[0].lock_mode)


def _when(address: str, kind: str, act: Any) -> Any:
    """An on_event hook that acts once, when `address` reaches event `kind`."""
    acted: list[ApplyEvent] = []

    def hook(event: ApplyEvent) -> None:
        if event.address == address and event.kind == kind and not acted:
            acted.append(event)
            act()

    return hook


def test_a_key_someone_starts_using_during_apply_is_not_disabled(demo: Any) -> None:
    """While apply moves the last planned user off rds-legacy, someone switches another
    instance to it. The plan's KeyInUse passed; the census read right before DisableKey
    refuses, so the key stays Enabled and the other instance is not locked."""
    clients = _demo_applied(demo)
    plan = make_plan(clients, RETIRE_LEGACY)
    legacy = plan.change("kms_key.rds-legacy")
    assert legacy is not None and legacy.op_names == ["kms:DisableKey"]
    assert [c.address for c in plan.changes] == [f"rds_encryption.{MOVING}", legacy.address]
    key_id = str(legacy.target_id)
    world.reset_calls(demo.endpoint)

    hook = _when(f"rds_encryption.{MOVING}", "write", lambda: _switch(demo, BYSTANDER, key_id))
    result = apply_plan(plan, clients, _options(demo), hook)

    outcome = {o.address: o for o in result.outcomes}
    assert outcome[f"rds_encryption.{MOVING}"].status == "done"
    refused = outcome[legacy.address]
    assert refused.status == "failed" and not result.ok
    assert "refused at the write: KeyInUse" in refused.detail and BYSTANDER in refused.detail
    assert "kms:DisableKey" not in writes(demo)
    assert _key_state(demo, key_id) == "Enabled"
    assert _lock_mode(demo, BYSTANDER) == "Unlock"


def test_a_key_switching_to_it_in_the_window_counts_as_in_use(demo: Any) -> None:
    """The same, with the other instance scheduled to switch in its maintenance window: the
    task center, read right before DisableKey, names it."""
    from alibabacloud_rds20140815 import models

    clients = _demo_applied(demo)
    plan = make_plan(clients, RETIRE_LEGACY)
    key_id = str(plan.change("kms_key.rds-legacy").target_id)  # type: ignore[union-attr]

    def schedule() -> None:
        world.rds(demo.endpoint).modify_dbinstance_config(
            models.ModifyDBInstanceConfigRequest(
                dbinstance_id=BYSTANDER,
                config_name="encryptionKey",
                config_value=key_id,
                switch_time_mode="MaintainTime",
            )
        )

    hook = _when(f"rds_encryption.{MOVING}", "write", schedule)
    result = apply_plan(plan, clients, _options(demo), hook)

    refused = {o.address: o for o in result.outcomes}["kms_key.rds-legacy"]
    assert refused.status == "failed" and "KeyInUse" in refused.detail
    assert BYSTANDER in refused.detail
    assert _key_state(demo, key_id) == "Enabled"


def test_an_instance_locked_since_the_plan_is_not_written_to(demo: Any) -> None:
    """The plan moves an instance off rds-legacy; before the write someone disables the key,
    which locks the instance. Its encryption did not change (the compare-and-set passes); the
    lock, read again right before ModifyDBInstanceConfig, refuses the write."""
    from alibabacloud_kms20160120 import models

    clients = _demo_applied(demo)
    plan = make_plan(
        clients,
        {
            "defaults": {"region": HZ, "restart": "immediate"},
            "instances": {MOVING: {"encryption": {"key": "service"}}},
        },
    )
    (change,) = plan.changes
    legacy = world.kms(demo.endpoint).describe_key(
        models.DescribeKeyRequest(key_id="alias/rds-legacy")
    )
    key_id = str(legacy.body.key_metadata.key_id)
    disable = lambda: world.kms(demo.endpoint).disable_key(  # noqa: E731
        models.DisableKeyRequest(key_id=key_id)
    )
    world.reset_calls(demo.endpoint)

    result = apply_plan(plan, clients, _options(demo), _when(change.address, "started", disable))

    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "refused at the write: InstanceLocked" in outcome.detail
    assert "rds:ModifyDBInstanceConfig" not in writes(demo)


def test_a_role_broken_since_the_plan_stops_the_first_cmk_change(demo: Any) -> None:
    """RAM was verified when the plan was made; before the first CMK write someone detaches
    the policy from the RDS role. The write is refused (RamNotReady), not sent to fail."""
    from alibabacloud_ram20150501 import models

    clients = _demo_applied(demo)
    _switch(demo, BYSTANDER, "ServiceKey")
    plan = make_plan(
        clients,
        {
            "defaults": {"region": HZ, "restart": "immediate"},
            "kms_keys": {"rds-prod": PROD},
            "instances": {BYSTANDER: {"encryption": {"key": "rds-prod"}}},
        },
    )
    (change,) = plan.changes

    def detach() -> None:
        world.ram(demo.endpoint).detach_policy_from_role(
            models.DetachPolicyFromRoleRequest(
                policy_type="Custom",
                policy_name="AliyunRDSInstanceEncryptionRolePolicy",
                role_name="AliyunRDSInstanceEncryptionDefaultRole",
            )
        )

    world.reset_calls(demo.endpoint)
    result = apply_plan(plan, clients, _options(demo), _when(change.address, "started", detach))

    (outcome,) = result.outcomes
    assert outcome.status == "failed" and "refused at the write: RamNotReady" in outcome.detail
    assert "rds:ModifyDBInstanceConfig" not in writes(demo)


def test_a_replayed_client_token_is_reported_within_seconds_not_after_the_timeout(
    demo: Any,
) -> None:
    """The same plan applied again after someone undid its change: its ClientToken was used
    before, so the cloud answers with the first answer and does nothing (issue 16, item 7).
    Apply says so once the grace period passes, not after --timeout (30 min)."""
    clients = clients_for(demo)
    spec = {
        "defaults": {"region": HZ, "restart": "immediate"},
        "instances": {"pgm-bp1gp00000000001": {"encryption": {"key": "service"}}},
    }
    plan = make_plan(clients, spec)
    first = apply_plan(plan, clients, _options(demo))
    assert first.ok, first.outcomes
    _switch(demo, "pgm-bp1gp00000000001", "disabled")  # undone by hand
    time = FakeTime(demo)

    again = apply_plan(plan, clients, options(time, allow_restart=True, allow_irreversible=True))

    (outcome,) = again.outcomes
    assert outcome.status == "failed"
    assert "ClientToken was most likely used before" in outcome.detail
    assert sum(time.slept) <= 40, "reported after the grace period, not the 30 min timeout"


def test_a_backup_taken_on_the_key_during_apply_keeps_it_enabled(demo: Any) -> None:
    """Issue 18 (backups are key users): right before MOVING leaves rds-legacy, someone takes
    a backup of it, still on rds-legacy. The plan's KeyInUse saw no backup set on the key; the
    backup sets read again right before DisableKey refuse, naming the instance, the count and
    the expiry, so the set stays restorable."""
    from alibabacloud_rds20140815 import models

    clients = _demo_applied(demo)
    plan = make_plan(clients, RETIRE_LEGACY)
    legacy = plan.change("kms_key.rds-legacy")
    assert legacy is not None and legacy.op_names == ["kms:DisableKey"]
    key_id = str(legacy.target_id)

    def back_up() -> None:
        request = models.CreateBackupRequest(dbinstance_id=MOVING, backup_method="Snapshot")
        world.rds(demo.endpoint).create_backup(request)

    hook = _when(f"rds_encryption.{MOVING}", "write", back_up)
    result = apply_plan(plan, clients, _options(demo), hook)

    outcome = {o.address: o for o in result.outcomes}
    assert outcome[f"rds_encryption.{MOVING}"].status == "done"
    refused = outcome[legacy.address]
    assert refused.status == "failed" and not result.ok
    assert "refused at the write: KeyInUse" in refused.detail, refused.detail
    assert f"1 backup set of {MOVING}" in refused.detail and "the last expires" in refused.detail
    assert "kms:DisableKey" not in writes(demo)
    assert _key_state(demo, key_id) == "Enabled"
