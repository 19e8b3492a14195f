"""Golden plans as data (as pyinfra's tests): tests/cases/<name>/ holds spec.yaml,
observed.json (an ObservedState), and the expected plan.txt, plan.json and plan.md. Each case
builds the plan with a fixed created_at, renders it, and compares with the files.

UPDATE_GOLDEN=1 rewrites plan.txt, plan.json and plan.md from the current code: review the diff
before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.core.facts import ObservedState
from reconciler.plan.actions import RefusalCode, WarningCode
from reconciler.plan.model import Plan, load_plan
from reconciler.plan.planner import build_plan
from reconciler.render.json import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.spec.loader import LoadedSpec, load_spec

CASES = Path(__file__).parent / "cases"
CREATED_AT = "2024-01-01T00:00:00Z"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "spec.yaml").exists())


def build(case: Path) -> Plan:
    """Load the case like `reconciler plan` does (so refusals cite spec.yaml:line:col)."""
    previous = Path.cwd()
    os.chdir(case)  # locations name the file as given: keep them relative and stable
    try:
        loaded = load_spec(["spec.yaml"])
    finally:
        os.chdir(previous)
    observed = ObservedState.model_validate_json((case / "observed.json").read_text())
    if (case / "candidates.json").exists():
        return _fleet_plan(case, loaded, observed)
    return build_plan(loaded.spec, observed, created_at=CREATED_AT, locations=loaded.locations)


def _fleet_plan(case: Path, loaded: LoadedSpec, observed: ObservedState) -> Plan:
    """A case with fleets: candidates.json holds what the fleets' reads found (each listed
    instance and its tags); the plan is made as app/plan.py makes it, the fleets expanded."""
    from dataclasses import replace

    from reconciler.app.fleets import with_fleet_notes
    from reconciler.core.facts import ObservedInstance
    from reconciler.kinds.rds_encryption.fleets import Candidate, expand

    listed = json.loads((case / "candidates.json").read_text())
    candidates = [
        Candidate(ObservedInstance.model_validate(c["instance"]), c["tags"]) for c in listed
    ]
    expansion = expand(loaded.spec, candidates)
    expanded = replace(loaded, spec=expansion.spec, fleets=expansion, written=loaded.spec)
    plan = build_plan(expanded.spec, observed, created_at=CREATED_AT, locations=expanded.locations)
    return with_fleet_notes(expanded, plan)


def _compare(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual)
        return
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_text(), f"{path} differs (UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize("name", CASE_NAMES)
def test_golden_case(name: str) -> None:
    case = CASES / name
    plan = build(case)
    _compare(case / "plan.txt", render_text(plan))
    _compare(case / "plan.json", render_json(plan))
    _compare(case / "plan.md", render_markdown(plan))
    assert load_plan(render_json(plan)) == plan, "the saved plan must load back unchanged"
    assert build(case) == plan, "the same inputs must give the same plan"


def _all_plans() -> list[dict]:
    return [json.loads((CASES / n / "plan.json").read_text()) for n in CASE_NAMES]


def test_every_refusal_code_has_a_case() -> None:
    seen = {r["code"] for p in _all_plans() for r in p["refusals"]}
    assert {c.value for c in RefusalCode} - seen == set()


def test_every_warning_code_has_a_case() -> None:
    seen = {w["code"] for p in _all_plans() for w in p["warnings"]}
    assert {c.value for c in WarningCode} - seen == set()
