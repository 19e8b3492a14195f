"""A saved plan is a commitment, not a program (docs/plan-format.md, "Saved plans"): apply
carries out the fresh plan, and only where it makes exactly the saved change. Every edit of a
saved plan file is refused, naming the address and the difference (issue 16, finding 1)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler import workflow
from reconciler.plan.model import Change, Operation, Plan
from tests.unit.test_workflow import case

INSTANCE = "rds_encryption.pgm-bp1ded0000000002"


def _saved() -> tuple[Any, Any, Plan]:
    loaded, observed = case("key-switch")
    return loaded, observed, workflow.make_plan(loaded, observed)


def _edit(plan: Plan, address: str, **fields: Any) -> Plan:
    changes = [c.model_copy(update=fields) if c.address == address else c for c in plan.changes]
    return plan.model_copy(update={"changes": changes})


def _edit_params(plan: Plan, address: str, **params: Any) -> Plan:
    change = plan.change(address)
    assert change is not None
    (operation,) = change.operations
    edited = operation.model_copy(update={"params": {**operation.params, **params}})
    return _edit(plan, address, operations=[edited])


def _findings(saved: Plan, loaded: Any, observed: Any) -> list[workflow.StaleFinding]:
    fresh = workflow.make_plan(loaded, observed, plan_id=saved.plan_id)
    return workflow.check_saved_plan(saved, loaded, observed, fresh)


def test_the_untouched_plan_is_accepted_and_carried_out_as_the_fresh_plan() -> None:
    loaded, observed, saved = _saved()
    assert _findings(saved, loaded, observed) == []


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ({"DBInstanceId": "pgm-bp1unmanaged00001"}, "DBInstanceId"),
        ({"ConfigValue": "disabled"}, "ConfigValue"),
        ({"SwitchTimeMode": "MaintainTime"}, "SwitchTimeMode"),
        ({"ClientToken": "rcl-0000000000000000000000000000000000000000"}, "ClientToken"),
        ({"Extra": "1"}, "Extra"),
    ],
    ids=["target", "value", "switch-time", "token", "extra-parameter"],
)
def test_an_edited_parameter_is_refused_naming_it(edit: dict[str, str], named: str) -> None:
    loaded, observed, saved = _saved()
    (finding,) = _findings(_edit_params(saved, INSTANCE, **edit), loaded, observed)
    assert finding.address == INSTANCE
    assert "not the change a fresh plan makes" in finding.message
    assert any(named in line for line in finding.details), finding.details


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"restart": False}, "restart"),
        ({"scheduled": True}, "scheduled"),
        ({"target_id": "pgm-bp1unmanaged00001"}, "target_id"),
        ({"region": "cn-shanghai"}, "region"),
        ({"depends_on": []}, None),
    ],
    ids=["restart", "scheduled", "target-id", "region", "depends-on-unchanged"],
)
def test_an_edited_decision_is_refused_naming_it(fields: dict[str, Any], named: str) -> None:
    loaded, observed, saved = _saved()
    findings = _findings(_edit(saved, INSTANCE, **fields), loaded, observed)
    if named is None:  # the change has no dependencies: the same value is no edit
        assert findings == []
        return
    (finding,) = findings
    assert finding.address == INSTANCE and any(named in line for line in finding.details)


def test_an_extra_operation_is_refused() -> None:
    loaded, observed, saved = _saved()
    legacy = observed.keys["rds-legacy"]
    assert legacy is not None
    change = saved.change(INSTANCE)
    assert change is not None
    disable = Operation(op="kms:DisableKey", params={"KeyId": legacy.key_id})
    tampered = _edit(saved, INSTANCE, operations=[*change.operations, disable])
    (finding,) = _findings(tampered, loaded, observed)
    assert finding.address == INSTANCE and "kms:DisableKey" in " ".join(finding.details)


def test_an_extra_change_at_a_resource_the_spec_leaves_as_it_is_is_refused() -> None:
    """kms_key.rds-legacy is declared, and a fresh plan from the same facts changes nothing
    there: a change at that address was not made by this spec's plan."""
    loaded, observed, saved = _saved()
    legacy = observed.keys["rds-legacy"]
    assert legacy is not None
    extra = Change(
        address="kms_key.rds-legacy",
        action="update",
        operations=[Operation(op="kms:DisableKey", params={"KeyId": legacy.key_id})],
        region="cn-hangzhou",
        target_id=legacy.key_id,
        facts_digest=_digest(observed, "kms_key.rds-legacy"),
    )
    tampered = saved.model_copy(update={"changes": [*saved.changes, extra]})
    (finding,) = _findings(tampered, loaded, observed)
    assert finding.address == "kms_key.rds-legacy"
    assert "makes no change here from the same facts" in finding.message


@pytest.mark.parametrize(
    "address",
    [
        "rds_encryption.pgm-bp1notinthespec01",
        "kms_key.not-in-the-spec",
        "ram_role.SomeOtherRole",
        "rds_tde.pgm-bp1ded0000000002",
        "nonsense",
    ],
)
def test_an_address_the_spec_does_not_declare_is_refused(address: str) -> None:
    """Even with a digest that says its facts moved (the made-up address is not reported as
    made by an earlier run), and never a crash for an unknown kind."""
    loaded, observed, saved = _saved()
    made_up = Change(
        address=address,
        action="update",
        operations=[Operation(op="rds:ModifyDBInstanceConfig", params={})],
        facts_digest="sha256:" + "0" * 64,
    )
    tampered = saved.model_copy(update={"changes": [*saved.changes, made_up]})
    (finding,) = _findings(tampered, loaded, observed)
    assert finding.address == address and "not a resource of this spec" in finding.message


def test_a_change_listed_twice_is_refused() -> None:
    loaded, observed, saved = _saved()
    twice = saved.model_copy(update={"changes": [*saved.changes, saved.changes[0]]})
    (finding,) = _findings(twice, loaded, observed)
    assert finding.address == saved.changes[0].address and "twice" in finding.message


def test_a_saved_plan_without_a_plan_id_is_refused() -> None:
    loaded, observed, saved = _saved()
    findings = _findings(saved.model_copy(update={"plan_id": None}), loaded, observed)
    assert any(f.address is None and "plan_id" in f.message for f in findings)


def test_a_fresh_change_the_saved_plan_does_not_hold_is_refused() -> None:
    """Someone edits a declared key's description after the plan: the fresh plan would fix
    it, but nobody reviewed that change, so the saved plan is refused, naming it."""
    loaded, observed, saved = _saved()
    legacy = observed.keys["rds-legacy"]
    assert legacy is not None
    moved = observed.model_copy(
        update={
            "keys": {
                **observed.keys,
                "rds-legacy": legacy.model_copy(update={"description": "by hand"}),
            }
        }
    )
    (finding,) = _findings(saved, loaded, moved)
    assert finding.address == "kms_key.rds-legacy"
    assert "nobody reviewed" in finding.message
    assert "kms:UpdateKeyDescription" in finding.details[0]


def test_two_plans_of_the_same_facts_in_the_same_second_share_no_token() -> None:
    loaded, observed = case("key-switch")
    first = workflow.make_plan(loaded, observed)
    second = workflow.make_plan(loaded, observed, now=_moment(first))
    assert first.plan_id != second.plan_id
    tokens = {
        plan.plan_id: {o.params.get("ClientToken") for c in plan.changes for o in c.operations}
        for plan in (first, second)
    }
    assert not set.intersection(*tokens.values())


def _moment(plan: Plan) -> Any:
    from datetime import datetime

    assert plan.created_at is not None
    return datetime.fromisoformat(plan.created_at.replace("Z", "+00:00"))


def _digest(observed: Any, address: str) -> str:
    from reconciler.plan.digest import facts_digest

    return facts_digest(observed, address)
