"""FORCE_COLOR colours a piped plan (a CI log on purpose); NO_COLOR always wins."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from tests.e2e.conftest import ENV

SPECS = str(Path(__file__).resolve().parents[2] / "specs")


def plan(endpoint: str, **env: str) -> str:
    result = CliRunner().invoke(cli, ["--endpoint", endpoint, "plan", SPECS], env={**ENV, **env})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_force_color_colours_a_piped_plan_in_ci(demo) -> None:  # type: ignore[no-untyped-def]
    assert "\x1b[" in plan(demo.endpoint, FORCE_COLOR="1")
    assert "\x1b[" not in plan(demo.endpoint)
    assert "\x1b[" not in plan(demo.endpoint, FORCE_COLOR="1", NO_COLOR="1")
