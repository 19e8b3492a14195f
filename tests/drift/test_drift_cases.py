"""Golden drift reports as data: every planner case of tests/cases/<name>/ (spec.yaml and
observed.json) is also a drift case, and tests/drift/cases/<name>/ may add cases of its own
(its own spec.yaml and observed.json). Expected output lives in tests/drift/cases/<name>/:
drift.txt, drift.json, drift.md (or error.txt when no report can be made).

UPDATE_GOLDEN=1 rewrites them from the current code: read the diff before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.app.fleets import with_fleet_origins
from reconciler.core.facts import ObservedState
from reconciler.drift.model import DriftReport, Kind, Severity
from reconciler.drift.report import DriftError, build_drift
from reconciler.render.drift_json import render_drift_json
from reconciler.render.drift_markdown import render_drift_markdown
from reconciler.render.drift_text import render_drift_text
from reconciler.render.html import render_html
from reconciler.spec.loader import LoadedSpec, load_spec

PLAN_CASES = Path(__file__).parents[1] / "cases"
DRIFT_CASES = Path(__file__).parent / "cases"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
HTML_CASES = frozenset({"tde-drift"})
"""Cases whose HTML report is a golden too (drift.html): the coverage of disk encryption and TDE."""


def _inputs() -> dict[str, Path]:
    found = {p.name: p for p in PLAN_CASES.iterdir() if (p / "observed.json").exists()}
    if DRIFT_CASES.is_dir():
        found.update({p.name: p for p in DRIFT_CASES.iterdir() if (p / "observed.json").exists()})
    return dict(sorted(found.items()))


INPUTS = _inputs()


def build(source: Path) -> DriftReport:
    previous = Path.cwd()
    os.chdir(source)  # locations name the file as given: relative and stable
    try:
        loaded = load_spec(["spec.yaml"])
    finally:
        os.chdir(previous)
    observed = ObservedState.model_validate_json((source / "observed.json").read_text())
    if (source / "candidates.json").exists():  # fleets: expanded as app/drift.py expands them
        loaded = _with_fleets(source, loaded)
    report = build_drift(loaded.spec, observed, locations=loaded.locations, spec_files=loaded.files)
    return with_fleet_origins(loaded, report)


def _with_fleets(source: Path, loaded: LoadedSpec) -> LoadedSpec:
    from dataclasses import replace

    from reconciler.core.facts import ObservedInstance
    from reconciler.kinds.rds_encryption.fleets import Candidate, expand

    listed = json.loads((source / "candidates.json").read_text())
    candidates = [
        Candidate(ObservedInstance.model_validate(c["instance"]), c["tags"]) for c in listed
    ]
    expansion = expand(loaded.spec, candidates)
    return replace(loaded, spec=expansion.spec, fleets=expansion, written=loaded.spec)


def _compare(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_text(), f"{path} differs (UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize("name", list(INPUTS))
def test_golden_drift(name: str) -> None:
    expected = DRIFT_CASES / name
    try:
        report = build(INPUTS[name])
    except DriftError as error:
        _compare(expected / "error.txt", str(error) + "\n")
        return
    _compare(expected / "drift.txt", render_drift_text(report))
    _compare(expected / "drift.json", render_drift_json(report))
    _compare(expected / "drift.md", render_drift_markdown(report))
    if name in HTML_CASES:
        _compare(expected / "drift.html", render_html(report))
    assert DriftReport.model_validate_json(render_drift_json(report)) == report
    assert build(INPUTS[name]) == report, "the same inputs must give the same report"


def _reports() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(DRIFT_CASES.glob("*/drift.json"))]


def test_every_kind_and_severity_has_a_case() -> None:
    items = [i for r in _reports() for i in r["items"]]
    assert {k.value for k in Kind} - {i["kind"] for i in items} == set()
    assert {s.value for s in Severity} - {i["severity"] for i in items} == set()
