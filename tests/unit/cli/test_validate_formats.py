"""`validate --format json|github` (issue 20): a machine document, and GitHub workflow commands
escaped as GitHub's runner reads them; the exit code is the text format's. And the warning for
a spec that names no region."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.cli.validate_output import github_annotations
from reconciler.errors import Diagnostic

BROKEN = (
    "version: 1\ndefaults: {region: cn-hangzhou}\ninstances:\n"
    "  pgm-bp1aaaa0000001: {encryption: {key: nope}}\n"
)
NO_REGION = "version: 1\ninstances:\n  pgm-bp1aaaa0000001: {encryption: disabled}\n"


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["validate", *args], env=env, catch_exceptions=False)


def test_json_lists_the_files_and_each_problem_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(BROKEN)
    result = run("--format", "json", str(tmp_path))
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["valid"] is False and doc["exit_code"] == 1
    assert doc["files"] == [str(tmp_path / "spec.yaml")]
    (problem,) = doc["problems"]
    assert (problem["file"], problem["line"], problem["col"]) == (
        str(tmp_path / "spec.yaml"),
        4,
        42,
    )
    assert "key `nope` is not defined" in problem["message"] and problem["code"] == "InvalidSpec"


def test_json_of_a_valid_spec_exits_0(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(BROKEN.replace("nope", "service"))
    result = run("--format", "json", str(tmp_path))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["problems"] == []


def test_github_annotations_point_at_the_line(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(BROKEN)
    result = run("--format", "github", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout.startswith(
        f"::error file={tmp_path / 'spec.yaml'},line=4,col=42,title=reconciler validate::"
    )


def test_github_escapes_percent_newlines_and_property_separators() -> None:
    text = github_annotations([Diagnostic("a:b,c%.yaml", 1, 2, "50% off\r\nnext: a,b")], [])
    assert (
        text == "::error file=a%3Ab%2Cc%25.yaml,line=1,col=2,title=reconciler validate::"
        "50%25 off%0D%0Anext: a,b\n"
    )
    whole_file = github_annotations([Diagnostic("x.yaml", 0, 0, "no such file")], [])
    assert whole_file == "::error file=x.yaml,title=reconciler validate::no such file\n"


def test_a_spec_without_a_region_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(NO_REGION)
    result = run(str(tmp_path))
    assert result.exit_code == 0
    assert "Warning: the spec names no region, so it means cn-hangzhou" in result.stderr
    doc = json.loads(run("--format", "json", str(tmp_path)).stdout)
    assert doc["warnings"][0]["code"] == "ImplicitRegion"
    named = run(str(tmp_path), env={"ALIBABA_CLOUD_REGION_ID": "cn-beijing"})
    assert "Warning" not in named.stderr
    bad = run(str(tmp_path), env={"ALIBABA_CLOUD_REGION_ID": "moon-1/.."})
    assert bad.exit_code == 1 and "ALIBABA_CLOUD_REGION_ID=moon-1/..:" in bad.stderr


def test_shell_completion_script_is_produced_and_completes_a_command() -> None:
    script = CliRunner().invoke(
        cli, [], prog_name="reconciler", env={"_RECONCILER_COMPLETE": "bash_source"}
    )
    assert "_reconciler_completion" in script.stdout
    done = CliRunner().invoke(
        cli,
        [],
        prog_name="reconciler",
        env={
            "_RECONCILER_COMPLETE": "bash_complete",
            "COMP_WORDS": "reconciler val",
            "COMP_CWORD": "1",
        },
    )
    assert "plain,validate" in done.stdout.splitlines()
