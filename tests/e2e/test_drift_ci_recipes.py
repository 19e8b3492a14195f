"""The CI recipes (docs/ci/*.yml) and .pre-commit-hooks.yaml parse as YAML, have the jobs the
README promises, and give the write role to the apply job alone. Running the recipes' steps is
tests/e2e/test_ci_recipes_run.py."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"


EXPECTED_JOBS = ("plan", "apply", "drift")


def test_the_recipes_parse_and_have_their_jobs() -> None:
    github = yaml.safe_load(GITHUB.read_text())
    assert set(github["jobs"]) == set(EXPECTED_JOBS)
    assert github["permissions"] == {"contents": "read"}  # each job asks for what it needs
    for job in github["jobs"].values():
        assert job["permissions"]["id-token"] == "write"  # OIDC (RRSA)
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


def test_only_the_apply_jobs_name_the_apply_role() -> None:
    """A pull request's job can never ask for the write role: the plan and drift jobs name the
    read-only role, the apply job alone the apply role, in its protected environment
    (docs/permissions.md has the trust conditions that enforce it in the cloud)."""
    github = yaml.safe_load(GITHUB.read_text())
    roles = {name: job["env"]["ALIBABA_CLOUD_ROLE_ARN"] for name, job in github["jobs"].items()}
    assert roles == {
        "plan": "${{ vars.RECONCILER_READ_ROLE_ARN }}",
        "apply": "${{ vars.RECONCILER_APPLY_ROLE_ARN }}",
        "drift": "${{ vars.RECONCILER_READ_ROLE_ARN }}",
    }
    assert "ALIBABA_CLOUD_ROLE_ARN" not in github["env"]
    assert github["jobs"]["apply"]["environment"] == "production"
    gitlab = yaml.safe_load(GITLAB.read_text())
    roles = {name: gitlab[name]["variables"]["ALIBABA_CLOUD_ROLE_ARN"] for name in EXPECTED_JOBS}
    assert roles == {
        "plan": "$RECONCILER_READ_ROLE_ARN",
        "apply": "$RECONCILER_APPLY_ROLE_ARN",
        "drift": "$RECONCILER_READ_ROLE_ARN",
    }
    assert "ALIBABA_CLOUD_ROLE_ARN" not in gitlab["variables"]
    assert gitlab["apply"]["environment"] == "production"


def test_the_pre_commit_hook_command_validates_the_specs(repo: Path) -> None:
    (hook,) = yaml.safe_load(HOOKS.read_text())
    run = run_cli(*shlex.split(hook["entry"])[1:])
    assert run.exit_code == 0, run.stderr
