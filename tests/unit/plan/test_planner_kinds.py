"""The planner engine asks each kind of the registry for its plan, in apply order, and passes
on what one kind decided to the kinds after it (plan/inputs.py); the cross-kind KeyInUse guard
runs after every kind planned and before what a kind adds after it (issue 17)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.core.facts import ObservedState
from reconciler.plan import planner
from reconciler.plan.context import PlanContext
from reconciler.plan.inputs import PlanInputs
from reconciler.spec.models import Spec


class _Recording:
    """A kind that notes when it is asked and what it was given."""

    def __init__(self, name: str, log: list[tuple[str, str, PlanInputs]]) -> None:
        self.name = name
        self.log = log

    def plan(self, ctx: PlanContext, inputs: PlanInputs) -> PlanInputs:
        self.log.append((self.name, "plan", inputs))
        return replace(inputs, ram_tail=f"{self.name}.tail")

    def after_guards(self, ctx: PlanContext, inputs: PlanInputs) -> None:
        self.log.append((self.name, "after", inputs))


def _spec() -> Spec:
    return Spec.model_validate({"version": 1, "defaults": {"region": "cn-hangzhou"}})


def test_each_kind_plans_in_registry_order_and_sees_what_the_earlier_ones_decided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[tuple[str, str, Any]] = []
    kinds = (_Recording("first", log), _Recording("second", log))
    monkeypatch.setattr(planner, "KINDS", kinds)
    monkeypatch.setattr(
        planner, "_check_keys_in_use", lambda ctx, keys: log.append(("engine", "KeyInUse", keys))
    )
    planner.build_plan(_spec(), ObservedState(account_id="1"))
    assert [(who, what) for who, what, _ in log] == [
        ("first", "plan"),
        ("second", "plan"),
        ("engine", "KeyInUse"),
        ("first", "after"),
        ("second", "after"),
    ]
    assert log[0][2] == PlanInputs()
    assert log[1][2].ram_tail == "first.tail"
    assert log[3][2].ram_tail == log[4][2].ram_tail == "second.tail"
