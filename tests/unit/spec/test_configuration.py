"""Rules over a whole configuration: what the spec alone decides, checked offline."""

from __future__ import annotations

from pathlib import Path

from tests.unit.spec.conftest import WriteFile, errors_of, load

INSTANCE = "instances:\n  pgm-bp1aaaa0000001: {encryption: {key: service}}\n"


def test_a_missing_version_is_an_error(write: WriteFile) -> None:
    assert errors_of(write("a.yaml", INSTANCE)) == [
        "a.yaml:1:1: `version` is required: add `version: 1` at the top"
    ]


def test_a_configuration_of_several_files_needs_version_in_one(
    write: WriteFile, tmp_path: Path
) -> None:
    write("b.yaml", INSTANCE)
    write("a.yaml", "defaults: {region: cn-hangzhou}\n")
    assert errors_of(tmp_path) == [
        "a.yaml:1:1: `version` is required: add `version: 1` to one file of the configuration"
    ]
    write("c.yaml", "version: 1\n")
    assert load(tmp_path).spec.version == 1


def test_version_is_not_asked_for_while_a_file_is_unreadable(write: WriteFile) -> None:
    a, b = write("a.yaml", "version: [\n"), write("b.yaml", INSTANCE)
    found = errors_of(a, b)
    assert len(found) == 1 and found[0].startswith("a.yaml:2:1: YAML syntax error")
