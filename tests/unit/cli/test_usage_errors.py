"""Usage errors exit 1 with one line and a hint, never 2: in CI, 2 means "changes"
(docs/exit-codes.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from reconciler.cli import cli


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    ("args", "names", "hint"),
    [
        (["plan", "--detailed-exitcodes"], ["--detailed-exitcodes"], "reconciler plan --help"),
        (["plan", "--format", "yaml"], ["--format", "yaml"], "reconciler plan --help"),
        (["plan", "--parallelism", "0"], ["--parallelism"], "reconciler plan --help"),
        (["plna"], ["plna"], "reconciler --help"),
        (["--no-such-flag", "plan"], ["--no-such-flag"], "reconciler --help"),
        (["validate", "--strict"], ["--strict"], "reconciler validate --help"),
        (["emulator", "serve", "--port", "x"], ["--port"], "reconciler emulator serve --help"),
    ],
)
def test_usage_error_is_one_line_with_a_hint_and_exit_1(
    args: list[str], names: list[str], hint: str
) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert all(name in lines[0] for name in names)
    assert f"Try '{hint}'" in lines[0]


def test_a_misspelt_option_gets_a_did_you_mean() -> None:
    result = run("plan", "--detailed-exitcodes")
    assert "--detailed-exitcode'?" in result.stderr


def test_no_did_you_mean_for_an_option_the_command_ignores() -> None:
    result = run("validate", "--strict")
    assert "--stats" not in result.stderr, "validate does not list --stats: do not suggest it"


def test_bare_command_prints_the_help_and_exits_1() -> None:
    result = run()
    assert result.exit_code == 1
    assert "Usage: reconciler [OPTIONS] COMMAND" in result.stderr
    assert "Commands:" in result.stderr
    assert "without a command" in " ".join(result.stderr.split()).lower()


def test_bare_subgroup_prints_its_help_and_exits_1() -> None:
    result = run("emulator")
    assert result.exit_code == 1
    assert "serve" in result.stderr


def test_help_still_exits_0() -> None:
    for args in (["--help"], ["plan", "--help"], ["-h"], ["emulator", "serve", "--help"]):
        assert run(*args).exit_code == 0, args


def test_a_real_process_exits_1_on_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--detailed-exitcodes"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "Try 'reconciler plan --help'" in done.stderr
