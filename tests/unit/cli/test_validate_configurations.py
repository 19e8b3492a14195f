"""`validate` with several PATHs: all together one configuration, as plan loads them (issue 20:
validate accepted folders that plan then rejected together); with --each, each folder is its
own configuration and the files given together are one more."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(str(p) for p in (REPO / "specs" / "examples").iterdir() if p.is_dir())
KEY = "version: 1\nkms_keys:\n  prod: {alias: alias/rds-prod}\n"
USES_KEY = "instances:\n  pgm-bp1aaaa0000001: {encryption: {key: prod}}\n"
"""Needs `version: 1` from a file of its configuration, and the key from KEY."""


def validate(*paths: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["validate", "--each", *paths], catch_exceptions=False)


def validate_together(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["validate", *args], catch_exceptions=False)


def _two_folders_with_one_key(tmp_path: Path) -> tuple[str, str]:
    for name, alias in (("a", "alias/rds-prod"), ("b", "alias/rds-other")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "keys.yaml").write_text(
            f"version: 1\nkms_keys:\n  prod: {{alias: {alias}}}\n"
        )
    return str(tmp_path / "a"), str(tmp_path / "b")


def test_folders_that_plan_rejects_together_are_rejected_with_both_places(tmp_path: Path) -> None:
    a, b = _two_folders_with_one_key(tmp_path)
    result = validate_together(a, b)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{a}/keys.yaml:3:3: key `prod` is also declared in {b}/keys.yaml:3:3: declare it once",
        f"{b}/keys.yaml:3:3: key `prod` is also declared in {a}/keys.yaml:3:3: declare it once",
        "2 errors in 2 files",
    ]
    plan = CliRunner().invoke(cli, ["--endpoint", "127.0.0.1:9", "plan", a, b])
    assert plan.exit_code == 1 and "also declared" in plan.stderr
    assert validate(a, b).exit_code == 0  # --each: each folder alone is valid


def test_every_example_folder_is_valid_on_its_own() -> None:
    result = validate(*EXAMPLES)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == EXAMPLES
    assert all(line.endswith(": valid") for line in lines)


def test_the_fleet_and_an_example_are_two_configurations() -> None:
    result = validate(str(REPO / "specs"), EXAMPLES[0])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{REPO / 'specs'}: 4 files, 3 keys, 6 instances: valid"


def test_files_given_together_are_one_configuration(tmp_path: Path) -> None:
    (tmp_path / "keys.yaml").write_text(KEY)
    (tmp_path / "db.yaml").write_text(USES_KEY)
    result = validate(str(tmp_path / "keys.yaml"), str(tmp_path / "db.yaml"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "2 files, 1 keys, 1 instances: valid\n"


def test_an_invalid_folder_fails_alone_and_the_others_still_report(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "spec.yaml").write_text("version: 1\n" + USES_KEY)  # the key is defined nowhere here
    result = validate(EXAMPLES[0], str(bad))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        line for line in validate(*EXAMPLES).stdout.splitlines() if line.startswith(EXAMPLES[0])
    ]
    errors = result.stderr.splitlines()
    assert errors[0].startswith(f"{bad / 'spec.yaml'}:3:")
    assert errors[-1] == "1 error in 1 file"


def test_a_key_in_one_folder_is_not_visible_from_another(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "keys.yaml").write_text(KEY)
    (tmp_path / "b" / "db.yaml").write_text(USES_KEY)
    result = validate(str(tmp_path / "a"), str(tmp_path / "b"))
    assert result.exit_code == 1
    assert "key `prod` is not defined" in result.stderr
