"""`reconciler validate` and `reconciler schema` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from tests.unit.spec.conftest import WriteFile

REPO = Path(__file__).parents[3]
DONE_WHEN = REPO / "tests" / "cases" / "spec_errors" / "done_when.yaml"


def test_done_when_file_prints_all_four_problems_and_exits_1() -> None:
    result = CliRunner().invoke(cli, ["validate", str(DONE_WHEN)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    name = str(DONE_WHEN)
    assert lines[0].startswith(f"{name}:7:46: ") and "must be a whole number" in lines[0]
    assert lines[1].startswith(f"{name}:11:5: ") and "did you mean `restart`?" in lines[1]
    assert lines[2].startswith(f"{name}:14:3: duplicate key `pgm-bp1aaaa0000002`")
    assert lines[3].startswith(f"{name}:15:23: key `rds-prd` is not defined")
    assert lines[4] == "4 errors in 1 file"
    assert result.stdout == ""


def test_valid_folder_prints_the_summary_and_exits_0() -> None:
    result = CliRunner().invoke(cli, ["validate", str(REPO / "specs")])
    assert result.exit_code == 0, result.output
    assert result.stdout == "4 files, 3 keys, 6 instances: valid\n"


def test_path_defaults_to_specs_folder(write: WriteFile, tmp_path: Path, monkeypatch) -> None:
    write("specs/a.yaml", "version: 1\ninstances:\n  pgm-bp1aaaa0000001: {encryption: disabled}\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 files, 0 keys, 1 instances: valid\n"


def test_missing_path_is_an_error_without_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{tmp_path / 'nope'}: no such file or folder"


def test_bad_input_never_gives_a_traceback_in_a_real_process(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe garbage: [\n")
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "not UTF-8" in done.stderr


def test_schema_prints_the_json_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {
        "version",
        "defaults",
        "ram",
        "kms_keys",
        "instances",
        "fleets",
        "accounts",
    }
    assert schema["additionalProperties"] is False
    assert "did" not in result.stderr


def test_committed_schema_is_up_to_date() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    committed = (REPO / "specs" / "spec.schema.json").read_text(encoding="utf-8")
    assert result.stdout == committed, "run: reconciler schema > specs/spec.schema.json"


def test_validate_help_explains_folders_and_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["validate", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "not its subfolders" in text
    assert "0 valid, 1 errors" in text


def test_help_does_not_import_pydantic_yaml_or_sdks() -> None:
    code = (
        "import sys; from reconciler.cli import cli;"
        "heavy = [m for m in ('pydantic', 'yaml', 'alibabacloud_rds20140815', 'deepdiff')"
        " if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
