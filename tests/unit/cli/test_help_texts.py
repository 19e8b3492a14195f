"""Help texts point to the docs a user has (docs/), never to the design notes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

COMMANDS = [
    [],
    ["validate"],
    ["schema"],
    ["plan"],
    ["permissions"],
    ["emulator"],
    ["emulator", "serve"],
]


@pytest.mark.parametrize("command", COMMANDS)
def test_no_help_cites_the_design_notes(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "DESIGN" not in result.stdout


def test_plan_help_points_to_the_format_and_exit_code_docs() -> None:
    text = " ".join(CliRunner().invoke(cli, ["plan", "--help"]).stdout.split())
    assert "docs/plan-format.md" in text
    assert "docs/exit-codes.md" in text
    assert "130/143" in text


def test_root_help_points_to_the_exit_code_docs() -> None:
    assert "docs/exit-codes.md" in CliRunner().invoke(cli, ["--help"]).stdout
