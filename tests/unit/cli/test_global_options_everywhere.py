"""Global options are accepted by every command, and listed only where they matter."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import __version__
from reconciler.cli import cli

REPO = Path(__file__).resolve().parents[3]
GLOBAL = ["--endpoint", "--region", "--profile", "--emulator", "--emulator-state", "--stats"]
EVERY_GLOBAL = [
    "--endpoint", "127.0.0.1:9", "--region", "cn-hangzhou", "--profile", "p", "--emulator",
    "--emulator-state", "x.sqlite", "--stats",
]  # fmt: skip


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_schema_accepts_the_global_options_before_and_after_its_name() -> None:
    plain = run("schema").stdout
    assert run("schema", *EVERY_GLOBAL).stdout == plain
    assert run(*EVERY_GLOBAL, "schema").stdout == plain


def test_validate_accepts_the_global_options_and_ignores_them() -> None:
    result = run("validate", str(REPO / "specs"), *EVERY_GLOBAL)
    assert result.exit_code == 0, result.output
    assert result.stdout == "4 files, 3 keys, 6 instances: valid\n"


@pytest.mark.parametrize("command", [["validate"], ["schema"], ["emulator", "serve"]])
def test_offline_commands_do_not_list_cloud_options(command: list[str]) -> None:
    text = run(*command, "--help").stdout
    assert not [name for name in GLOBAL if f"{name} " in text or f"{name}\n" in text], text
    assert "global options" in " ".join(text.split()).lower()


def test_plan_lists_the_global_options() -> None:
    text = run("plan", "--help").stdout
    assert all(name in text for name in GLOBAL)


def test_root_help_says_where_global_options_apply() -> None:
    text = " ".join(run("--help").stdout.split())
    assert "accepted by every command" in text


def test_version_is_the_packages_and_its_metadata() -> None:
    """reconciler/__init__.py is the one source (docs/releases.md); the installed metadata is
    built from it (make install reinstalls when it changes)."""
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"reconciler {__version__}\n"
    assert version("rds-encryption-reconciler") == __version__
