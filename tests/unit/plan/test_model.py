"""The Plan is data: frozen, and a saved plan file loads back into an equal Plan."""

from __future__ import annotations

import json

import pydantic
import pytest

from reconciler.plan.actions import Action, RefusalCode, WarningCode
from reconciler.plan.model import (
    Change,
    FieldChange,
    Operation,
    Plan,
    PlanWarning,
    Refusal,
    load_plan,
    summarise,
)
from reconciler.render.json import render_json


def _plan() -> Plan:
    changes = [
        Change(
            address="kms_key.a",
            action=Action.CREATE,
            operations=[Operation(op="kms:CreateKey")],
            field_changes=[FieldChange(path="tags", before=None, after={"x": "1"})],
            region="cn-hangzhou",
            after={"alias": "alias/a", "rotation": {"enabled": True}},
        ),
        Change(
            address="rds_encryption.pgm-x",
            action=Action.UPDATE,
            operations=[Operation(op="rds:ModifyDBInstanceConfig")],
            field_changes=[
                FieldChange(path="encryption.key", before="ServiceKey", after="(known after apply)")
            ],
            restart=True,
            scheduled=True,
            depends_on=["kms_key.a"],
            reason="why",
            region="cn-hangzhou",
            target_id="pgm-x",
            before={"encryption": {"key": "ServiceKey"}},
            after={"encryption": {"key": "(known after apply)"}, "n": 3, "f": 1.5},
        ),
        Change(
            address="kms_key.b",
            action=Action.DELETE,
            operations=[Operation(op="kms:ScheduleKeyDeletion")],
        ),
    ]
    refusals = [
        Refusal(address="rds_encryption.pgm-y", code=RefusalCode.KEY_NOT_USABLE, message="m")
    ]
    return Plan(
        fingerprint="sha256:00",
        created_at="2024-01-01T00:00:00Z",
        summary=summarise(changes, refusals),
        changes=changes,
        refusals=refusals,
        warnings=[
            PlanWarning(
                address="rds_encryption.pgm-x", code=WarningCode.RESTART_REQUIRED, message="w"
            )
        ],
    )


def test_saved_plan_loads_back_equal() -> None:
    plan = _plan()
    assert load_plan(render_json(plan)) == plan


def test_json_has_the_design_shape_in_order() -> None:
    document = json.loads(render_json(_plan()))
    assert list(document) == [
        "format_version",
        "plan_id",
        "fingerprint",
        "spec_digest",
        "created_at",
        "summary",
        "changes",
        "refusals",
        "warnings",
    ]
    assert document["format_version"] == "1"
    assert document["summary"] == {
        "create": 1,
        "update": 1,
        "delete": 1,
        "restart": 1,
        "refused": 1,
    }
    change = document["changes"][1]
    assert list(change)[:11] == [
        "address",
        "action",
        "operations",
        "field_changes",
        "restart",
        "scheduled",
        "irreversible",
        "depends_on",
        "facts_digest",
        "reason",
        "region",
    ]
    assert change["field_changes"] == [
        {"path": "encryption.key", "before": "ServiceKey", "after": "(known after apply)"}
    ]


def test_flags() -> None:
    plan = _plan()
    assert plan.has_changes and plan.refused
    empty = Plan(fingerprint="sha256:00")
    assert not empty.has_changes and not empty.refused
    assert plan.change("kms_key.b") is plan.changes[2]
    assert plan.change("kms_key.zzz") is None


def test_plan_is_frozen() -> None:
    plan = _plan()
    with pytest.raises(pydantic.ValidationError):
        plan.fingerprint = "sha256:11"  # type: ignore[misc]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.__setitem__("format_version", "2"),
        lambda d: d.__setitem__("surprise", 1),
        lambda d: d["changes"][0].__setitem__("action", "replace"),
        lambda d: d["refusals"][0].__setitem__("code", "NotACode"),
    ],
    ids=["future-format", "unknown-field", "unknown-action", "unknown-code"],
)
def test_malformed_plan_files_are_rejected(mutate) -> None:
    document = json.loads(render_json(_plan()))
    mutate(document)
    with pytest.raises(pydantic.ValidationError):
        load_plan(json.dumps(document))
