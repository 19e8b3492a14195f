"""The fast builder (spec/fast_build.py) builds exactly what the general one builds, or steps aside.

For every input either `fast_build.build` refuses it (Unusual: the general builder then reads
it with every check) or the general builder finds nothing to report in it and both build the
same document and the same location tables, key for key, in the same order, with the same
types (`1` is not `true`). Inputs: the repo's spec files, a spec of many instances, the
fuzzers' structured and mutated YAML (tests/unit/spec/test_fuzz.py), and the constructs that
must take the general way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from reconciler.errors import SpecError
from reconciler.spec import fast_build, load_spec, source
from tests.unit.spec import test_fuzz as fuzz

REPO = Path(__file__).parents[3]
TABLES = ("data", "keys", "values", "written", "plain_scalars")


def built_by_both(text: str) -> bool:
    """Whether the fast builder took `text`; if so, it built what the general one builds."""
    general = source.ParsedFile("f.yaml")
    source._read_slowly(general, text)
    try:
        fast = fast_build.build(text, "f.yaml")
    except fast_build.Unusual:
        return False
    assert general.readable and not general.diagnostics and not general.earlier
    assert not general.reported
    for table in TABLES:
        assert repr(getattr(fast, table)) == repr(getattr(general, table)), table
    return True


@pytest.mark.parametrize(
    "path", sorted((REPO / "specs").rglob("*.yaml")), ids=lambda p: str(p.relative_to(REPO))
)
def test_the_repos_spec_files_take_the_fast_way_and_build_the_same(path: Path) -> None:
    assert built_by_both(path.read_text(encoding="utf-8"))


def test_a_spec_of_many_instances_takes_the_fast_way() -> None:
    lines = ["version: 1", "defaults: {region: cn-hangzhou, restart: immediate}", "instances:"]
    for n in range(300):
        lines += [f"  pgm-bp1{n:013d}:", "    encryption:", f"      key: {'service' if n else 7}"]
    assert built_by_both("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "text",
    [
        "version: !!int 1\n",
        "version: 1\nversion: 1\n",
        "version: 1\nyes: 2\n",
        "a: &x 1\nb: *x\n",
        "- 1\n",
        "just text\n",
        "",
        "a: 1\n---\nb: 2\n",
        "version: !!int abc\n",
        "version: " + "9" * 120 + "\n",
        "? [a]\n: 1\n",
        "a: [" * 40 + "]" * 40 + "\n",
        "a: !!map {b: 1}\n",
        "a: b: c\n",
    ],
    ids=repr,
)
def test_what_the_general_builder_reports_takes_the_general_way(text: str) -> None:
    with pytest.raises(fast_build.Unusual):
        fast_build.build(text, "f.yaml")


def test_an_unusual_file_is_still_reported_where_it_was_written(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\ninstances:\n  pgm-a: {}\n  pgm-a: {}\n", encoding="utf-8")
    with pytest.raises(SpecError) as error:
        load_spec([spec])
    assert any(
        (d.line, d.col) == (4, 3) and "duplicate key `pgm-a`" in d.message
        for d in error.value.diagnostics
    ), error.value.diagnostics


@fuzz.FUZZ
@given(fuzz.SPEC, fuzz.st.booleans())
def test_spec_shaped_yaml_builds_the_same_either_way(document: list[Any], flow: bool) -> None:
    built_by_both(fuzz._flow(document) if flow else fuzz._block(document, 0).lstrip("\n"))


@fuzz.FUZZ
@given(fuzz.mutated())
def test_mutated_spec_files_build_the_same_either_way(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    built_by_both(text)
