"""Creates without a ClientToken (CreateKey, CreatePolicy, CreateAlias) whose answer is lost
after the cloud committed: never sent again, read back, converged without a duplicate."""

from __future__ import annotations

import pytest

from reconciler.apply.executor import apply_plan
from tests.apply.conftest import REPO_SPECS, FakeTime, clients_for, make_plan, options, writes
from tests.e2e import world
from tests.faults.conftest import HZ, lose_answer, user_keys

KEY_SPEC = {
    "defaults": {"region": HZ},
    "kms_keys": {
        "rds-a": {"alias": "alias/rds-a", "description": "RDS key a", "tags": {"team": "dba"}}
    },
    "ram": {"manage": False},
}


@pytest.mark.parametrize("action", ["kms:CreateKey", "ram:CreatePolicy", "kms:CreateAlias"])
def test_a_create_whose_answer_is_lost_converges_without_a_duplicate(demo, action: str) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    keys_before = user_keys(demo)
    lose_answer(demo, action)
    world.reset_calls(demo.endpoint)

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok, result.outcomes
    made = writes(demo)
    assert made[action] == (2 if action.startswith("kms:") else 1)  # one per key, never twice
    assert made["kms:CreateKey"] == 2
    assert len(user_keys(demo)) == len(keys_before) + 1  # rds-prod in this region, once
    assert make_plan(clients, REPO_SPECS).changes == []


def test_a_key_left_without_its_alias_is_adopted_by_the_next_plan(emulator) -> None:  # type: ignore[no-untyped-def]
    """A crash between CreateKey and CreateAlias (or a lost CreateKey answer whose read-back
    failed) leaves a key with the spec's tags and no alias: the next plan adopts it (one
    CreateAlias), it does not create a second key; apply converges."""
    clients = clients_for(emulator)
    orphan = world.create_key(
        emulator.endpoint,
        tags={"team": "dba", "acs:rds:instance-encryption": "true"},
        description="RDS key a",
    )
    # Not adopted: tags that differ, or an alias of its own.
    world.create_key(emulator.endpoint, tags={"team": "ops", "acs:rds:instance-encryption": "true"})
    world.create_key(
        emulator.endpoint,
        alias="alias/someone-else",
        tags={"team": "dba", "acs:rds:instance-encryption": "true"},
        description="RDS key a",
    )

    plan = make_plan(clients, KEY_SPEC)

    (change,) = plan.changes
    assert change.action == "update" and change.target_id == orphan
    assert change.op_names == ["kms:CreateAlias"]
    assert "adopted" in change.reason
    world.reset_calls(emulator.endpoint)
    result = apply_plan(plan, clients, options(FakeTime(emulator)))
    assert result.ok, result.outcomes
    assert writes(emulator) == {"kms:CreateAlias": 1}
    assert make_plan(clients, KEY_SPEC).changes == []


def test_the_search_for_a_lost_key_costs_nothing_when_every_alias_exists(demo) -> None:  # type: ignore[no-untyped-def]
    """ListKeys, ListAliases and the tag reads of alias-less keys happen only in a region
    where a spec key's alias is absent (where the plan would create a key)."""
    clients = clients_for(demo)
    apply_plan(
        make_plan(clients, REPO_SPECS),
        clients,
        options(FakeTime(demo), allow_restart=True, allow_irreversible=True),
    )
    world.reset_calls(demo.endpoint)
    make_plan(clients, REPO_SPECS)
    counted = world.calls(demo.endpoint)
    assert "kms:ListKeys" not in counted and "kms:ListAliases" not in counted


def test_a_lost_create_key_whose_read_back_fails_says_so_and_the_next_plan_adopts(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, KEY_SPEC)
    lose_answer(demo, "kms:CreateKey")
    world.admin(
        demo.endpoint,
        "POST",
        "faults",
        {"action": "kms:ListKeys", "code": "Forbidden.RAM", "status": 403, "times": 1},
    )

    result = apply_plan(plan, clients, options(FakeTime(demo)))

    outcome = result.outcomes[0]
    assert outcome.status == "failed"
    assert "A key may have been created" in outcome.detail and "Forbidden.RAM" in outcome.detail
    again = make_plan(clients, KEY_SPEC)
    assert [c.op_names for c in again.changes] == [["kms:CreateAlias"]]
    assert apply_plan(again, clients, options(FakeTime(demo))).ok
    assert make_plan(clients, KEY_SPEC).changes == []
    assert len(user_keys(demo)) == 2  # the legacy key, and the one created once
