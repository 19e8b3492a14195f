"""Every bad input in tests/cases/spec_errors/ yields exactly its expected diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec import load_spec

CASES = Path(__file__).parents[2] / "cases" / "spec_errors"


def _expected(case: Path) -> list[tuple[str, int, str]]:
    rows = []
    for line in case.with_suffix(".expected").read_text(encoding="utf-8").splitlines():
        file, number, fragment = line.split(":", 2)
        rows.append((file, int(number), fragment.strip()))
    return rows


@pytest.mark.parametrize("case", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_input_is_reported_at_its_line(case: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec([case])
    found = caught.value.diagnostics
    expected = _expected(case)
    assert len(found) == len(expected), "\n".join(map(str, found))
    for diagnostic, (file, line, fragment) in zip(found, expected, strict=True):
        assert Path(diagnostic.file).name == file
        assert diagnostic.line == line, str(diagnostic)
        assert fragment in diagnostic.message, str(diagnostic)
        assert diagnostic.col >= 1


def test_every_case_has_a_sidecar() -> None:
    cases = {p.stem for p in CASES.glob("*.yaml")}
    sidecars = {p.stem for p in CASES.glob("*.expected")}
    assert cases == sidecars
    assert len(cases) >= 30
