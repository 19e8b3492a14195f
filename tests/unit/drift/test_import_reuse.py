"""import_spec makes its spec once (app/importer.py): the settled draft's dumps, check and plan
are reused for the files and the document. The text written must be what making everything
anew writes (as import_spec did before), byte for byte, for an import of several hundred
instances that takes more than one settling round (a CMK without the RAM role RDS uses)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.app import importer as app_importer
from reconciler.core.facts import ObservedState
from reconciler.drift.importer import (
    EntryTexts,
    Held,
    held_back,
    import_document,
    import_files,
    plan_imported,
    planned_lines,
)
from reconciler.drift.yaml_blocks import YamlEntry
from tests.unit.drift import test_importer as base

REGIONS = ["cn-hangzhou", "cn-shanghai"]


def _world(count: int) -> ObservedState:
    keys = [base._key("key-hzcmk001", "cn-hangzhou", ["alias/prod"])]
    instances = []
    for n in range(count):
        region = REGIONS[n % 2]
        key: str | None = "key-svchz000" if region == "cn-hangzhou" else "key-svcsh000"
        if n % 7 == 0:
            key = None  # unencrypted
        elif n % 11 == 0 and region == "cn-hangzhou":
            key = "key-hzcmk001"  # a CMK, and no RAM role: settling leaves CMK users out
        instances.append(base._instance(f"pgm-{region[3:5]}{n:012d}", region, key))
    return base._state(instances, keys)


def _made_anew(observed: ObservedState) -> tuple[dict[str, str], str]:
    """What import_spec wrote before it reused its draft: every step made again."""
    held = Held()
    for _ in range(app_importer.MAX_SETTLING_ROUNDS):
        draft = app_importer._check(import_files(observed, REGIONS, (), held))
        more = held_back(plan_imported(draft, observed), held)
        if more is None:
            break
        held = more
    spec = app_importer._check(import_files(observed, REGIONS, (), held))
    planned = planned_lines(plan_imported(spec, observed))
    return (
        import_files(observed, REGIONS, planned, held),
        import_document(observed, REGIONS, planned, held),
    )


def test_an_import_of_hundreds_writes_what_making_everything_anew_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    observed = _world(400)
    monkeypatch.setattr("reconciler.state.observe.observe", lambda *_, **__: observed)
    made = app_importer.import_spec(None, REGIONS)  # type: ignore[arg-type]
    files, document = _made_anew(observed)
    assert made.files == files
    assert made.document == document
    assert "Left out" in files["00-defaults.yaml"]  # settling took more than one round
    assert len(files["cn-hangzhou.yaml"].splitlines()) > 400


def test_a_settled_reading_carries_the_plan_of_its_own_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    observed = _world(60)
    monkeypatch.setattr("reconciler.state.observe.observe", lambda *_, **__: observed)
    reading = app_importer.read_and_settle(None, REGIONS)  # type: ignore[arg-type]
    assert reading.imported is not None and reading.plan is not None
    written = import_files(observed, REGIONS, (), reading.held, imported=reading.imported)
    again = plan_imported(app_importer._check(written), observed)
    assert reading.plan.model_dump() == again.model_dump()
    assert not reading.plan.changes and not reading.plan.refusals


def test_entry_texts_dump_each_entry_as_itself() -> None:
    texts = EntryTexts()
    first: dict[str, Any] = {"encryption": {"key": "service"}}
    one, other = YamlEntry("pgm-a", first), YamlEntry("pgm-a", {"encryption": "off"})
    assert texts.of(one) == "pgm-a:\n  encryption:\n    key: service\n"
    assert texts.of(other) == "pgm-a:\n  encryption: 'off'\n"
    assert texts.of(one) == "pgm-a:\n  encryption:\n    key: service\n"
