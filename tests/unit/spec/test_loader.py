"""The loader: files and folders, merging, source map, and problems reported together."""

from __future__ import annotations

from pathlib import Path

from reconciler.spec.models import KeyRef, RestartPolicy
from tests.unit.spec.conftest import WriteFile, errors_of, load

GOOD = """\
version: 1
defaults:
  region: cn-hangzhou
  account: "1234567890123456"
kms_keys:
  rds-prod:
    alias: alias/rds-prod
    rotation: {enabled: true, interval_days: 365}
instances:
  pgm-bp1aaaa0000001:
    encryption: {key: rds-prod}
  pgm-bp1aaaa0000002:
    encryption: disabled
    restart: immediate
"""


def test_loads_a_valid_file_with_defaults_applied(write: WriteFile) -> None:
    loaded = load(write("a.yaml", GOOD))
    spec = loaded.spec
    assert spec.defaults.account == "1234567890123456"
    assert spec.instances["pgm-bp1aaaa0000001"].encryption == KeyRef(key="rds-prod")
    assert spec.instances["pgm-bp1aaaa0000002"].encryption == "disabled"
    assert spec.restart_policy("pgm-bp1aaaa0000001") is RestartPolicy.MAINTENANCE_WINDOW
    assert spec.restart_policy("pgm-bp1aaaa0000002") is RestartPolicy.IMMEDIATE
    assert loaded.files == [str(write("a.yaml", GOOD))]


def test_source_map_points_at_resources_and_fields(write: WriteFile) -> None:
    loaded = load(write("a.yaml", GOOD))
    assert (loaded.where("kms_key.rds-prod").line, loaded.where("kms_key.rds-prod").col) == (6, 3)
    assert loaded.where("rds_encryption.pgm-bp1aaaa0000002").line == 12
    assert loaded.where("instances.pgm-bp1aaaa0000001.encryption.key").line == 11
    assert loaded.where("kms_keys.rds-prod.rotation.interval_days").line == 8
    assert loaded.where("rds_encryption.pgm-nothere") is None


def test_folder_merges_files_in_sorted_order_but_not_subfolders(
    write: WriteFile, tmp_path: Path
) -> None:
    write("b-instances.yaml", "instances:\n  pgm-bp1aaaa0000001:\n    encryption: {key: k}\n")
    write("a-keys.yml", "version: 1\nkms_keys:\n  k: {alias: alias/k}\n")
    write("notes.txt", "not yaml at all: [")
    write("examples/other.yaml", "this: is not loaded")
    loaded = load(tmp_path)
    assert [Path(f).name for f in loaded.files] == ["a-keys.yml", "b-instances.yaml"]
    assert set(loaded.spec.kms_keys) == {"k"}
    assert loaded.where("rds_encryption.pgm-bp1aaaa0000001").file.endswith("b-instances.yaml")


def test_same_file_twice_is_read_once(write: WriteFile, tmp_path: Path) -> None:
    path = write("a.yaml", GOOD)
    assert load(path, tmp_path).files == [str(path)]


def test_missing_path_and_empty_folder_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert errors_of(tmp_path / "nope.yaml", tmp_path / "empty") == [
        "empty:0:0: no *.yaml or *.yml files in folder",
        "nope.yaml:0:0: no such file or folder",
    ]


def test_all_problems_of_all_files_in_one_pass(write: WriteFile) -> None:
    a = write("a.yaml", "instances:\n  pgm-bp1aaaa0000001:\n    encryption: {key: nokey}\n")
    b = write("b.yaml", "defaults:\n  regoin: cn-hangzhou\n")
    found = errors_of(a, b)
    assert len(found) == 3
    assert found[0] == (
        "a.yaml:1:1: `version` is required: add `version: 1` to one file of the configuration"
    )
    assert found[1].startswith("a.yaml:3:23: key `nokey` is not defined")
    assert found[2] == "b.yaml:2:3: unknown field `regoin` in `defaults`: did you mean `region`?"


def test_same_instance_in_two_files_is_reported_at_both(write: WriteFile) -> None:
    body = "instances:\n  pgm-bp1aaaa0000001:\n    encryption: {key: service}\n"
    a, b = write("a.yaml", "version: 1\n" + body), write("b.yaml", "\n\n" + body)
    found = errors_of(a, b)
    assert found == [
        f"a.yaml:3:3: instance `pgm-bp1aaaa0000001` is also declared in {b}:4:3: declare it once",
        f"b.yaml:4:3: instance `pgm-bp1aaaa0000001` is also declared in {a}:3:3: declare it once",
    ]


def test_same_key_in_two_files_is_reported(write: WriteFile) -> None:
    a = write("a.yaml", "kms_keys:\n  k: {alias: alias/k}\n")
    b = write("b.yaml", "kms_keys:\n  k: {alias: alias/k}\n")
    assert len([e for e in errors_of(a, b) if "key `k` is also declared" in e]) == 2


def test_defaults_in_two_files_must_agree(write: WriteFile) -> None:
    a = write("a.yaml", "defaults: {region: cn-hangzhou}\nversion: 1\n")
    b = write("b.yaml", "defaults: {region: cn-hangzhou}\nversion: 1\n")
    assert load(a, b).spec.defaults.region == "cn-hangzhou"
    c = write("c.yaml", "defaults: {region: cn-shanghai}\n")
    found = errors_of(a, c)
    assert len(found) == 2 and all(
        "`defaults` is also set with different values" in e for e in found
    )


def test_merged_defaults_apply_to_instances_of_other_files(write: WriteFile) -> None:
    a = write("a.yaml", "version: 1\ndefaults: {region: cn-shanghai, restart: immediate}\n")
    b = write("b.yaml", "instances:\n  pgm-uf6aaaa0000001: {encryption: {key: service}}\n")
    spec = load(a, b).spec
    assert spec.instance_region("pgm-uf6aaaa0000001") == "cn-shanghai"
    assert spec.restart_policy("pgm-uf6aaaa0000001") is RestartPolicy.IMMEDIATE


def test_literal_key_ids_and_service_are_valid_references(write: WriteFile) -> None:
    text = """\
    version: 1
    instances:
      pgm-bp1aaaa0000001: {encryption: {key: service}}
      pgm-bp1aaaa0000002: {encryption: {key: 0b9a7c5e-1d2f-4a3b-8c9d-0e1f2a3b4c5d}}
      pgm-bp1aaaa0000003: {encryption: {key: key-hzz65f0d4b1c2d3e4f5a6}}
    """
    assert len(load(write("a.yaml", text)).spec.instances) == 3


def test_two_keys_with_one_alias_in_one_region_are_refused(write: WriteFile) -> None:
    text = """\
    version: 1
    kms_keys:
      a: {alias: alias/x}
      b: {alias: alias/x}
      c: {alias: alias/x, region: cn-shanghai}
    """
    assert errors_of(write("a.yaml", text)) == [
        "a.yaml:4:7: alias `alias/x` is also used by key `a` in cn-hangzhou"
    ]


def test_one_alias_in_two_accounts_is_two_keys(write: WriteFile) -> None:
    """Aliases are an account's own: `import --accounts` writes one per account."""
    text = """\
    version: 1
    accounts:
      alpha: {role_arn: "acs:ram::1234567890123456:role/r"}
      beta: {role_arn: "acs:ram::2234567890123456:role/r"}
    kms_keys:
      a: {alias: alias/x, account: alpha}
      b: {alias: alias/x, account: beta}
      c: {alias: alias/x, account: beta}
    """
    assert errors_of(write("a.yaml", text)) == [
        "a.yaml:8:7: alias `alias/x` is also used by key `b` in cn-hangzhou"
    ]


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    import time

    from reconciler.spec.source import MAX_FILE_BYTES

    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs nothing to create
    start = time.perf_counter()
    found = errors_of(huge)
    assert time.perf_counter() - start < 0.5
    assert found == [
        f"huge.yaml:1:1: file is {MAX_FILE_BYTES + 1} bytes; files above "
        f"{MAX_FILE_BYTES} are refused"
    ]


def test_alias_bomb_is_refused_quickly(write: WriteFile) -> None:
    import time

    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [
        f"{c}: &{c} [{','.join(['*' + p] * 10)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    path = write("bomb.yaml", "\n".join(lines) + "\n")
    start = time.perf_counter()
    found = errors_of(path)
    assert time.perf_counter() - start < 0.5
    assert len(found) == 1 and "aliases (*a) are not supported" in found[0]


def test_deep_flow_nesting_is_refused_without_crashing(write: WriteFile) -> None:
    depth = 200_000  # libyaml's own composer would overflow the C stack here
    path = write("deep.yaml", "a: " + "[" * depth + "]" * depth + "\n")
    assert "nesting deeper than" in errors_of(path)[0]


def test_utf8_bom_and_yml_suffix_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n")
    assert load(path).spec.version == 1


def test_problem_in_one_file_does_not_hide_problems_in_others(write: WriteFile) -> None:
    a = write("a.yaml", "instances: [\n")  # syntax error: its keys are unknown
    b = write(
        "b.yaml",
        "instances:\n  pgm-bp1aaaa0000001: {encryption: {key: k}}\n  x: {encryption: disabled}\n",
    )  # no `version` either: not checked while a file is unreadable, it may be there
    found = errors_of(a, b)
    assert found[0].startswith("a.yaml:2:1: YAML syntax error")
    assert found[1].startswith("b.yaml:3:3: `x` is not valid here")
    # References are not checked while a file is unreadable: `k` may be defined there.
    assert len(found) == 2
