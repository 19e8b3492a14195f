"""Rules over a whole configuration: what the spec alone decides, checked offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec import load_spec
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


MISMATCH = """\
version: 1
defaults: {region: cn-hangzhou}
kms_keys:
  sh: {alias: alias/sh, region: cn-shanghai}
  hz: {alias: alias/hz}
instances:
  pgm-bp1aaaa0000001:
    encryption: {key: sh}
  pgm-uf6aaaa0000001:
    region: cn-shanghai
    encryption: {key: sh}
  pgm-bp1aaaa0000002:
    encryption: {key: 0b9a7c5e-1d2f-4a3b-8c9d-0e1f2a3b4c5d}
"""


def test_a_key_of_another_region_is_an_error_at_the_instance(write: WriteFile) -> None:
    path = write("a.yaml", MISMATCH)
    with pytest.raises(SpecError) as caught:
        load_spec([path], planner_checks=True)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"{path}:7:3: kms_key `sh` is in cn-shanghai but the instance is in cn-hangzhou; "
        "KMS keys are regional: use a key of cn-hangzhou"
    ]


def test_plan_leaves_the_region_mismatch_to_the_planner(write: WriteFile) -> None:
    """`plan` reports it as a KeyRegionMismatch refusal in the plan document instead."""
    assert len(load(write("a.yaml", MISMATCH)).spec.instances) == 3


def test_the_region_option_fills_defaults_region_for_the_checks(write: WriteFile) -> None:
    text = MISMATCH.replace("defaults: {region: cn-hangzhou}\n", "").replace(
        "  hz: {alias: alias/hz}\n", ""
    )
    text = text.replace("    encryption: {key: 0b9a7c5e-1d2f-4a3b-8c9d-0e1f2a3b4c5d}\n", "")
    text = text.replace("  pgm-bp1aaaa0000002:\n", "")
    loaded = load_spec([write("a.yaml", text)], default_region="cn-shanghai", planner_checks=True)
    assert loaded.spec.instance_region("pgm-bp1aaaa0000001") == "cn-shanghai"
    assert "region" in loaded.spec.defaults.model_fields_set


def test_a_region_set_in_the_files_wins_over_the_region_option(write: WriteFile) -> None:
    path = write("a.yaml", "version: 1\ndefaults: {region: cn-beijing}\n")
    assert load_spec([path], default_region="cn-shanghai").spec.defaults.region == "cn-beijing"


def test_an_unknown_region_option_is_an_error(write: WriteFile) -> None:
    path = write("a.yaml", "version: 1\n")
    with pytest.raises(SpecError) as caught:
        load_spec([path], default_region="cn-hangzho")
    assert [str(d) for d in caught.value.diagnostics] == [
        "--region: `cn-hangzho` is not an Alibaba Cloud region: did you mean `cn-hangzhou`?"
    ]
