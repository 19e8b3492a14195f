"""Malformed inputs are one line and exit 1, never a traceback or "unexpected <Exception>":
a hostile saved plan file, a journal path that cannot be written, a --region that is not a
region id (docs/exit-codes.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.conftest import PlanRun, only_reads, run_cli

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
DEEP = 100_000


@pytest.fixture(autouse=True)
def own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_one_line_error(run: PlanRun, *says: str) -> None:
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.stderr.startswith("Error: ") and run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr and "unexpected" not in run.stderr, run.stderr
    for words in says:
        assert words in run.stderr, run.stderr


# --- a saved plan file -------------------------------------------------------------------------


@pytest.fixture
def real_plan(demo: Emulator, tmp_path: Path) -> str:
    """The text of a plan the CLI saved from the demo world."""
    path = tmp_path / "real.json"
    made = run_cli("--endpoint", demo.endpoint, "plan", SPECS, "-o", str(path))
    assert made.exit_code == 0, made.stderr
    return path.read_text()


def _nested_changes(real: str) -> str:
    return '{"format_version": "1", "changes": ' + "[" * DEEP + "]" * DEEP + "}"


def _nested_objects(real: str) -> str:
    return '{"a": ' * DEEP + "1" + "}" * DEEP


def _moderately_nested(real: str) -> str:
    """Deep enough to be no plan, shallow enough for the JSON parser to accept."""
    return real.replace('"changes": [', '"changes": [' + "[" * 500 + "]" * 500 + ",", 1)


def _summary_value(value: str):  # type: ignore[no-untyped-def]
    def make(real: str) -> str:
        document = json.loads(real)
        count = document["summary"]["create"]
        return real.replace(f'"create": {count}', f'"create": {value}', 1)

    return make


def _duplicate_changes(real: str) -> str:
    return real.replace('"changes": [', '"changes": [], "changes": [', 1)


def _change_entry(value: str):  # type: ignore[no-untyped-def]
    return lambda real: real.replace('"changes": [', f'"changes": [{value}, ', 1)


def _changes_as(value: str):  # type: ignore[no-untyped-def]
    def make(real: str) -> str:
        document = json.loads(real)
        document["changes"] = json.loads(value)
        return json.dumps(document)

    return make


MALFORMED = {
    "100,000 nested arrays": (_nested_changes, "nested"),
    "100,000 nested objects": (_nested_objects, "nested"),
    "500 nested arrays": (_moderately_nested, "nested"),
    "NaN": (_summary_value("NaN"), "NaN"),
    "Infinity": (_summary_value("Infinity"), "Infinity"),
    "-Infinity": (_summary_value("-Infinity"), "Infinity"),
    "1e999": (_summary_value("1e999"), "number"),
    "a 5000-digit number": (_summary_value("9" * 5000), "number"),
    "duplicate changes": (_duplicate_changes, "`changes` twice"),
    "a number as a change": (_change_entry("1"), "not a valid plan"),
    "a string as a change": (_change_entry('"x"'), "not a valid plan"),
    "null as a change": (_change_entry("null"), "not a valid plan"),
    "changes an object": (_changes_as("{}"), "not a valid plan"),
    "changes null": (_changes_as("null"), "not a valid plan"),
    "a top-level list": (lambda real: "[" + real + "]", "not a plan document"),
    "a top-level string": (lambda real: '"plan"', "not a plan document"),
    "an empty file": (lambda real: "", "not JSON"),
    "a lone surrogate": (lambda real: real.replace('"update"', '"\\ud800"', 1), "not Unicode"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_plan_file_is_one_line_before_any_cloud_call(
    demo: Emulator, tmp_path: Path, real_plan: str, case: str
) -> None:
    make, says = MALFORMED[case]
    path = tmp_path / "plan.json"
    path.write_text(make(real_plan), encoding="utf-8")
    world.reset_calls(demo.endpoint)
    run = run_cli(
        "--endpoint", demo.endpoint, "apply", "--plan", str(path), SPECS, "--auto-approve"
    )
    assert_one_line_error(run, str(path), says)
    assert world.calls(demo.endpoint) == {}, "refused before reading the cloud"


def test_the_unaltered_plan_file_is_accepted(
    demo: Emulator, tmp_path: Path, real_plan: str
) -> None:
    """The cases above fail for what they change, not for the plan they start from."""
    path = tmp_path / "plan.json"
    path.write_text(real_plan)
    run = run_cli(
        "--endpoint", demo.endpoint, "apply", "--plan", str(path), SPECS, "--auto-approve",
        "--allow-restart", "--allow-irreversible",
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr


# --- the journal -------------------------------------------------------------------------------


def _journal_a_folder(folder: Path) -> None:
    (folder / ".reconciler" / "journal.jsonl").mkdir(parents=True)


def _journal_read_only(folder: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write a read-only file")
    journal = folder / ".reconciler" / "journal.jsonl"
    journal.parent.mkdir()
    journal.write_text("")
    journal.chmod(0o444)


def _journal_a_dangling_link(folder: Path) -> None:
    (folder / ".reconciler").mkdir()
    (folder / ".reconciler" / "journal.jsonl").symlink_to(folder / "missing" / "journal.jsonl")


def _state_folder_a_file(folder: Path) -> None:
    (folder / ".reconciler").write_text("not a folder")


JOURNALS = {
    "a folder": _journal_a_folder,
    "read-only": _journal_read_only,
    "a link into a missing folder": _journal_a_dangling_link,
    "its folder a file": _state_folder_a_file,
}


@pytest.mark.parametrize("case", list(JOURNALS))
def test_a_journal_that_cannot_be_written_stops_apply_before_any_write(
    demo: Emulator, own_folder: Path, case: str
) -> None:
    JOURNALS[case](own_folder)
    world.reset_calls(demo.endpoint)
    run = run_cli(
        "--endpoint",
        demo.endpoint,
        "apply",
        SPECS,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert_one_line_error(run, "journal", ".reconciler")
    assert only_reads(world.calls(demo.endpoint)) == [], "no write was made"


# --- --region ----------------------------------------------------------------------------------

BAD_REGIONS = [
    "",
    "cn-hangzhou/../x",
    "CN HANGZHOU",
    "Cn-Hangzhou",
    "cn--hangzhou",
    "-cn-hangzhou",
    "cn-hangzhou-",
    "cn-hangzhou\n",
    "cn-hangzhou\x00",
    "../../etc",
    "x" * 10_000,
]


@pytest.mark.parametrize("region", BAD_REGIONS)
@pytest.mark.parametrize("command", ["plan", "drift", "apply", "import"])
def test_a_region_that_is_not_a_region_id_is_a_usage_error(
    demo: Emulator, tmp_path: Path, command: str, region: str
) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "spec.yaml").write_text("version: 1\n")  # no region: --region would be used
    paths = [] if command == "import" else [str(spec)]
    world.reset_calls(demo.endpoint)
    run = run_cli("--endpoint", demo.endpoint, command, *paths, "--region", region)
    assert_one_line_error(run, "--region", "cn-hangzhou")
    assert "--help" in run.stderr, "a usage error says where to look"
    assert world.calls(demo.endpoint) == {}


def test_a_region_before_the_command_name_is_checked_too(demo: Emulator, tmp_path: Path) -> None:
    run = run_cli("--endpoint", demo.endpoint, "--region", "cn-hangzhou/../x", "plan", SPECS)
    assert_one_line_error(run, "--region")


@pytest.mark.parametrize("region", ["cn-hangzhou", "ap-southeast-1", "cn-shanghai-finance-1"])
def test_a_known_region_is_accepted(demo: Emulator, tmp_path: Path, region: str) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "spec.yaml").write_text("version: 1\n")
    run = run_cli("--endpoint", demo.endpoint, "plan", str(spec), "--region", region)
    assert run.exit_code == 0, run.stderr
