"""The CI recipes (docs/ci/*.yml) and .pre-commit-hooks.yaml parse as YAML, have the jobs the
README promises, and every `reconciler ...` command in them runs against the emulator's demo
world with an exit code the recipe handles. Commands of a command this build does not have
yet are only checked to be named."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import cli
from tests.e2e.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"


def _commands(scripts: list[str]) -> list[list[str]]:
    """Every `reconciler ...` command line of the scripts, cut at a shell operator."""
    found = []
    for script in scripts:
        for line in script.splitlines():
            words = shlex.split(line.strip(), comments=True)
            if not words or words[0] != "reconciler":
                continue
            cut = next((i for i, w in enumerate(words) if w in (">", "||", "|", "&&")), None)
            found.append(words[1:cut])
    return found


def _github_scripts(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {
        name: [step["run"] for step in job["steps"] if "run" in step]
        for name, job in doc["jobs"].items()
    }


def _gitlab_scripts(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {
        name: list(job["script"])
        for name, job in doc.items()
        if isinstance(job, dict) and "script" in job
    }


def test_the_recipes_parse_and_have_their_jobs() -> None:
    github = yaml.safe_load(GITHUB.read_text())
    assert set(github["jobs"]) == {"plan", "apply", "drift"}
    assert github["permissions"]["id-token"] == "write"  # OIDC (RRSA)
    triggers = github[True] if True in github else github["on"]  # YAML 1.1 reads `on` as true
    assert {"pull_request", "push", "schedule"} <= set(triggers)
    uploads = [s.get("uses", "") for s in github["jobs"]["drift"]["steps"]]
    assert any(u.startswith("github/codeql-action/upload-sarif") for u in uploads)
    gitlab = yaml.safe_load(GITLAB.read_text())
    assert gitlab["drift"]["artifacts"]["reports"]["junit"] == "drift.xml"
    assert "merge_requests" in " ".join(gitlab["plan"]["script"])
    assert gitlab[".cloud"]["id_tokens"]["ALIBABA_CLOUD_OIDC_TOKEN"]["aud"] == "sts.aliyuncs.com"
    (hook,) = yaml.safe_load(HOOKS.read_text())
    assert hook["id"] == "reconciler-validate"
    assert shlex.split(hook["entry"]) == ["reconciler", "validate"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A specs repo: the demo fleet in specs/, as the cwd."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("examples"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


EXPECTED = {"validate": {0}, "plan": {0, 2}, "drift": {0, 2}, "apply": {1}}
"""The demo fleet restarts instances immediately: the recipes' apply has no --allow-restart, so
it refuses (exit 1, naming the flag) and writes nothing, the safe default for a pipeline."""


@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_every_reconciler_command_of_a_recipe_runs(demo, repo: Path, recipe: str) -> None:  # type: ignore[no-untyped-def]
    if recipe == "github":
        scripts = _github_scripts(yaml.safe_load(GITHUB.read_text()))
    else:
        scripts = _gitlab_scripts(yaml.safe_load(GITLAB.read_text()))
    commands = [c for job in scripts.values() for c in _commands(job)]
    names = {c[0] for c in commands}
    assert {"validate", "plan", "drift", "apply"} <= names
    ran = set()
    for command in commands:
        if command[0] not in cli.commands:
            continue  # not built in this version: named only
        run = run_cli("--endpoint", demo.endpoint, *command)
        assert run.exit_code in EXPECTED[command[0]], (command, run.stderr)
        if command[0] == "apply":
            assert "--allow-restart", "--allow-irreversible" in run.stdout + run.stderr
        ran.add(command[0])
    assert ran == {"validate", "plan", "drift", "apply"}
    assert json.loads((repo / "drift.json").read_text())["format_version"] == "2"
    assert (repo / "drift.sarif").exists() and (repo / "drift.xml").exists()
    assert (repo / "drift.html").read_text().startswith("<!DOCTYPE html>")


def test_the_pre_commit_hook_command_validates_the_specs(repo: Path) -> None:
    (hook,) = yaml.safe_load(HOOKS.read_text())
    run = run_cli(*shlex.split(hook["entry"])[1:])
    assert run.exit_code == 0, run.stderr
