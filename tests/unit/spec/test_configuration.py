"""Rules over a whole configuration: what the spec alone decides, checked offline."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec import load_configurations, load_spec
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


def test_a_key_that_is_not_enabled_is_an_error_where_an_instance_names_it(
    write: WriteFile,
) -> None:
    text = """\
    version: 1
    kms_keys:
      cold: {alias: alias/cold, state: disabled}
      gone: {alias: alias/gone, state: pending-deletion}
      warm: {alias: alias/warm}
    instances:
      pgm-bp1aaaa0000001: {encryption: {key: cold}}
      pgm-bp1aaaa0000002: {encryption: {key: gone}}
      pgm-bp1aaaa0000003: {encryption: {key: warm}}
    """
    path = write("a.yaml", textwrap.dedent(text))
    with pytest.raises(SpecError) as caught:
        load_spec([path], planner_checks=True)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"{path}:7:37: kms_key `cold` has state disabled, so RDS cannot use it: set its state: "
        "enabled, or pick another key",
        f"{path}:8:37: kms_key `gone` has state pending-deletion, so RDS cannot use it: set its "
        "state: enabled, or pick another key",
    ]


def test_deleting_a_deletion_protected_key_is_an_error_at_its_state(write: WriteFile) -> None:
    text = "version: 1\nkms_keys:\n  k:\n    alias: alias/k\n    deletion_protection: true\n"
    path = write("a.yaml", text + "    state: pending-deletion\n")
    assert len(load(path).spec.kms_keys) == 1  # plan refuses it: KeyDeletionProtected
    with pytest.raises(SpecError) as caught:
        load_spec([path], planner_checks=True)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"{path}:6:5: state pending-deletion with deletion_protection: true: KMS refuses to "
        "delete a protected key; set deletion_protection: false to delete it, or state: "
        "enabled to keep it"
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


# --- what a folder holds, and one configuration per folder ------------------------------------


def test_a_folder_ignores_dotfiles(write: WriteFile, tmp_path: Path) -> None:
    write("a.yaml", "version: 1\n")
    write(".draft.yaml", "instances: {pgm-bp1aaaa0000001: {encryption: {key: nokey}}}\n")
    write(".hidden.yml", "not: [valid\n")
    loaded = load(tmp_path)
    assert [Path(f).name for f in loaded.files] == ["a.yaml"]
    assert loaded.spec.instances == {}


def test_a_dotfile_named_on_its_own_is_read(write: WriteFile) -> None:
    assert load(write(".draft.yaml", "version: 1\n")).spec.version == 1


def test_a_folder_of_dotfiles_only_says_they_are_ignored(write: WriteFile, tmp_path: Path) -> None:
    write("only/.draft.yaml", "version: 1\n")
    assert errors_of(tmp_path / "only") == [
        "only:0:0: no *.yaml or *.yml files in folder (dotfiles are ignored)"
    ]


def _configuration(tmp_path: Path, name: str, body: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "spec.yaml").write_text(body, encoding="utf-8")
    return folder


def test_each_folder_is_validated_as_its_own_configuration(tmp_path: Path) -> None:
    same_instance = "version: 1\n" + INSTANCE
    one = _configuration(tmp_path, "one", same_instance)
    two = _configuration(tmp_path, "two", same_instance.replace("version: 1", "version: 1\n"))
    bad = _configuration(tmp_path, "bad", INSTANCE)
    found = load_configurations([one, two, bad, one])
    assert [c.paths for c in found] == [(str(one),), (str(two),), (str(bad),)]
    assert [c.valid for c in found] == [True, True, False]
    assert found[0].loaded is not None and found[0].diagnostics == ()
    assert [str(d) for d in found[2].diagnostics] == [
        f"{bad / 'spec.yaml'}:1:1: `version` is required: add `version: 1` at the top"
    ]


def test_files_named_together_are_one_configuration(write: WriteFile, tmp_path: Path) -> None:
    a = write("a.yaml", "version: 1\nkms_keys: {k: {alias: alias/k}}\n")
    b = write("b.yaml", "instances:\n  pgm-bp1aaaa0000001: {encryption: {key: k}}\n")
    folder = _configuration(tmp_path, "folder", "version: 1\n")
    found = load_configurations([folder, a, tmp_path / "nope.yaml", b])
    assert [c.paths for c in found] == [
        (str(folder),),
        (str(a), str(tmp_path / "nope.yaml"), str(b)),
    ]
    assert found[0].valid
    assert [str(d) for d in found[1].diagnostics] == [
        f"{tmp_path / 'nope.yaml'}: no such file or folder"
    ]


def test_configurations_run_the_planner_checks(write: WriteFile) -> None:
    (found,) = load_configurations([write("a.yaml", MISMATCH)])
    assert len(found.diagnostics) == 1
    assert "KMS keys are regional" in found.diagnostics[0].message


def test_every_example_folder_validates_alone_and_all_of_them_together() -> None:
    repo = Path(__file__).parents[3]
    examples = sorted((repo / "specs" / "examples").iterdir())
    found = load_configurations([repo / "specs", *examples])
    assert len(found) == 1 + len(examples) >= 6
    assert [c.diagnostics for c in found] == [()] * len(found)
