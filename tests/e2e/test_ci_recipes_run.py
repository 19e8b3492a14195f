"""The CI recipes (docs/ci/*.yml) run as their CI runs them (tests/e2e/ci_harness.py: every job's
steps in order with bash, stand-ins for gh, curl, pip and GitLab's API, the reconciler against
the emulator's demo world), through a pull request's life (issue 20, item 1):

- a refused plan fails the job, and its refusals are in the job log AND in the comment;
- a plan that fails (an invalid spec) comments that it failed and what stderr said, no secret;
- ONE comment per project, found by its hidden marker and edited in place on the next run
  (someone else's comment carrying the marker is left alone);
- the plan job runs with the read-only role and a pull-request OIDC subject;
- after the merge, apply applies THE REVIEWED PLAN (the pull request's plan artifact) with the
  apply role in the protected environment, with exactly the consent flags that plan needs, and
  keeps the journal and the apply result; a plan whose facts moved since is refused, naming
  what moved, with no write;
- the nightly drift job hands SARIF to code scanning, JUnit as the test report, and the HTML.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import __version__
from reconciler.emulator.server import Emulator
from tests.e2e import world as cloud
from tests.e2e.ci_gitlab_api import BOT_ID, TOKEN, FakeGitLab
from tests.e2e.ci_harness import GitHubEvent, GitHubRepo, GitLabProject, World, git
from tests.e2e.conftest import only_reads

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"
PIN = f"rds-encryption-reconciler=={__version__}"
MARKER = "<!-- reconciler-plan: specs -->"
READ_ROLE = "acs:ram::1234567890123456:role/reconciler-read"
APPLY_ROLE = "acs:ram::1234567890123456:role/reconciler-apply"
PROVIDER = "acs:ram::1234567890123456:oidc-provider/ci"
SECRET = "emulator-secret"
MISSING = "  pgm-bp1missing000001:\n    encryption: {key: rds-prod}\n"
MOVED = "rds_encryption.pgm-bp1ded0000000002"


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


@pytest.fixture
def ci(tmp_path: Path, demo: Emulator) -> Iterator[World]:
    """The shims, and a git repository (branch main) holding the demo fleet's specs."""
    world = World(tmp_path / "ci", demo.endpoint, PIN)
    world.repo.mkdir()
    shutil.copytree(ROOT / "specs", world.repo / "specs", ignore=shutil.ignore_patterns("examples"))
    git("-C", str(world.repo), "init", "-q", "-b", "main")
    commit(world, "specs")
    yield world


def commit(world: World, message: str, edit: dict[str, str | None] | None = None) -> str:
    """Commit `edit` (file -> new text, None to restore it from main's first commit)."""
    for name, text in (edit or {}).items():
        path = world.repo / name
        if text is None:
            git("-C", str(world.repo), "checkout", "-q", "main~0", "--", name)
        else:
            path.write_text(text)
    git("-C", str(world.repo), "add", "-A")
    git("-C", str(world.repo), "commit", "-q", "--allow-empty", "-m", message)
    return git("-C", str(world.repo), "rev-parse", "HEAD")


def refused_edit(world: World) -> dict[str, str | None]:
    text = (world.repo / "specs/hangzhou.yaml").read_text()
    return {"specs/hangzhou.yaml": text + MISSING}


def invalid_edit(world: World) -> dict[str, str | None]:
    text = (world.repo / "specs/00-defaults.yaml").read_text()
    return {"specs/00-defaults.yaml": text + "bogus_setting: 1\n", "specs/hangzhou.yaml": None}


def merge(world: World) -> str:
    git("-C", str(world.repo), "checkout", "-q", "main")
    git("-C", str(world.repo), "merge", "-q", "--no-ff", "-m", "merge", "pr")
    return git("-C", str(world.repo), "rev-parse", "HEAD")


def artifact(job: Any, name: str, file: str) -> Path:
    return job.artifacts[name] / file


def assert_refused_visible(job: Any, body: str) -> None:
    assert job.ran and not job.ok
    assert "InstanceNotFound" in job.log and "pgm-bp1missing000001" in job.log  # the job log
    assert body.startswith(MARKER)
    assert "InstanceNotFound" in body and "the plan cannot be applied" in body  # the comment


def assert_failure_commented(body: str) -> None:
    assert body.startswith(MARKER)
    assert "The plan failed" in body
    assert "bogus_setting" in body  # what stderr said: the spec problem, FILE:LINE:COL
    assert SECRET not in body


def assert_applied_the_reviewed_plan(world: World, apply: Any, reviewed: Path, name: str) -> None:
    assert apply.ok, apply.log
    result = json.loads(artifact(apply, name, "apply.json").read_text())
    assert result["ok"] is True
    journal = artifact(apply, name, ".reconciler/journal.jsonl").read_text().splitlines()
    assert journal
    applied = json.loads(artifact(apply, name, "reviewed/plan.json").read_text())
    assert applied["plan_id"] == json.loads(reviewed.read_text())["plan_id"]
    (call,) = [c for c in world.calls() if c.args[:1] == ["apply"]]
    assert call.role == APPLY_ROLE
    assert "--plan" in call.args and "reviewed/plan.json" in call.args
    # The demo plan restarts instances and enables TDE: both consents, read from the plan.
    assert {"--allow-restart", "--allow-irreversible"} <= set(call.args)


def assert_read_only_role_for(world: World, command: str, subject: str) -> None:
    calls = [c for c in world.calls() if c.args[:1] == [command]]
    assert calls and all(c.role == READ_ROLE and c.subject == subject for c in calls)


# --- GitHub Actions --------------------------------------------------------------------------


def github(world: World) -> GitHubRepo:
    variables = {
        "RECONCILER_OIDC_PROVIDER_ARN": PROVIDER,
        "RECONCILER_READ_ROLE_ARN": READ_ROLE,
        "RECONCILER_APPLY_ROLE_ARN": APPLY_ROLE,
    }
    return GitHubRepo(world, "acme/specs", variables)


def pull_request(repo: GitHubRepo, doc: dict[str, Any], sha: str) -> Any:
    return repo.run_workflow(doc, GitHubEvent("pull_request", sha, "refs/pull/7/merge", 7))


def merged_push(repo: GitHubRepo, doc: dict[str, Any], merge_sha: str, head: str) -> Any:
    def record(state: dict[str, Any]) -> None:
        state["commit_pulls"] = {merge_sha: [{"number": 7, "merged_at": "2026-01-01T00:00:00Z"}]}
        state["pulls"]["7"] = {"number": 7, "head": {"sha": head}}

    repo.update(record)
    return repo.run_workflow(doc, GitHubEvent("push", merge_sha, "refs/heads/main"))["apply"]


def test_github_recipe_through_a_pull_request_merge_and_a_night(ci: World) -> None:
    doc, repo = load(GITHUB), github(ci)
    git("-C", str(ci.repo), "checkout", "-q", "-b", "pr")

    refused = pull_request(repo, doc, commit(ci, "refused", refused_edit(ci)))
    assert not refused["apply"].ran and not refused["drift"].ran
    (comment,) = repo.state["comments"]
    assert_refused_visible(refused["plan"], comment["body"])
    assert "plan.json" not in str(list(refused["plan"].artifacts["reconciler-plan"].iterdir()))

    failed = pull_request(repo, doc, commit(ci, "invalid", invalid_edit(ci)))["plan"]
    assert not failed.ok
    (same,) = repo.state["comments"]  # edited in place, not a second comment
    assert same["id"] == comment["id"]
    assert_failure_commented(same["body"])

    head = commit(ci, "fixed", {"specs/00-defaults.yaml": None})
    planned = pull_request(repo, doc, head)["plan"]
    assert planned.ok, planned.log
    (same,) = repo.state["comments"]
    assert same["id"] == comment["id"] and same["body"].startswith(MARKER)
    assert "5 restart(s), 0 refused" in same["body"] and "irreversible" in same["body"]
    assert_read_only_role_for(ci, "plan", "repo:acme/specs:pull_request")

    apply = merged_push(repo, doc, merge(ci), head)
    reviewed = artifact(planned, "reconciler-plan", "plan.json")
    assert_applied_the_reviewed_plan(ci, apply, reviewed, "reconciler-apply")
    (call,) = [c for c in ci.calls() if c.args[:1] == ["apply"]]
    assert call.subject == "repo:acme/specs:environment:production"
    assert doc["jobs"]["apply"]["concurrency"]["group"]

    night = repo.run_workflow(doc, GitHubEvent("schedule", merge(ci), "refs/heads/main"))
    drift = night["drift"]
    assert drift.ok, drift.log  # applied: in sync (exit 0)
    (upload,) = repo.code_scanning
    assert upload["sarif"]["runs"][0]["tool"]["driver"]["name"]
    files = drift.artifacts["reconciler-drift"]
    assert (files / "drift.html").read_text().startswith("<!DOCTYPE html>")
    assert "<testsuite" in (files / "drift.xml").read_text()
    assert_read_only_role_for(ci, "drift", "repo:acme/specs:ref:refs/heads/main")


# --- GitLab CI -------------------------------------------------------------------------------


@pytest.fixture
def gitlab_api() -> Iterator[FakeGitLab]:
    api = FakeGitLab()
    yield api
    api.close()


def gitlab(world: World, api: FakeGitLab) -> GitLabProject:
    variables = {
        "RECONCILER_OIDC_PROVIDER_ARN": PROVIDER,
        "RECONCILER_READ_ROLE_ARN": READ_ROLE,
        "RECONCILER_APPLY_ROLE_ARN": APPLY_ROLE,
        "RECONCILER_API_TOKEN": TOKEN,
    }
    return GitLabProject(world, "acme/specs", api, variables)


def mr_pipeline(project: GitLabProject, doc: dict[str, Any], sha: str) -> Any:
    return project.run_pipeline(doc, "merge_request_event", sha, "feature", mr_iid=3)


def bot_notes(api: FakeGitLab) -> list[dict[str, Any]]:
    return [n for n in api.notes.get(3, []) if n["author"]["id"] == BOT_ID]


def test_gitlab_recipe_through_a_merge_request_merge_and_a_night(
    ci: World, gitlab_api: FakeGitLab
) -> None:
    doc, project = load(GITLAB), gitlab(ci, gitlab_api)
    foreign = {"id": 1, "body": MARKER + " quoted by a reviewer", "author": {"id": 5}}
    gitlab_api.notes[3] = [dict(foreign)]
    git("-C", str(ci.repo), "checkout", "-q", "-b", "pr")

    refused = mr_pipeline(project, doc, commit(ci, "refused", refused_edit(ci)))
    (note,) = bot_notes(gitlab_api)
    assert_refused_visible(refused["plan"], note["body"])
    kept = refused["plan"].artifacts["plan"]  # artifacts: when: always
    assert (kept / "plan.md").exists() and not (kept / "plan.json").exists()

    failed = mr_pipeline(project, doc, commit(ci, "invalid", invalid_edit(ci)))["plan"]
    assert not failed.ok
    (same,) = bot_notes(gitlab_api)
    assert same["id"] == note["id"]
    assert_failure_commented(same["body"])

    night = project.run_pipeline(
        doc, "schedule", git("-C", str(ci.repo), "rev-parse", "main"), "main"
    )
    drift = night["drift"]
    assert drift.status == "allowed_failure" and drift.exit_code == 2, drift.log  # drift: warning
    assert "<testsuite" in (drift.artifacts["drift"] / "drift.xml").read_text()
    assert doc["drift"]["artifacts"]["reports"]["junit"] == "drift.xml"

    head = commit(ci, "fixed", {"specs/00-defaults.yaml": None})
    planned = mr_pipeline(project, doc, head)["plan"]
    assert planned.ok, planned.log
    (same,) = bot_notes(gitlab_api)
    assert same["id"] == note["id"] and "5 restart(s), 0 refused" in same["body"]
    assert gitlab_api.notes[3][0] == foreign  # someone else's note with the marker: untouched
    assert_read_only_role_for(ci, "plan", "project_path:acme/specs:ref_type:branch:ref:feature")

    merge_sha = merge(ci)
    gitlab_api.commit_mrs[merge_sha] = [{"iid": 3, "state": "merged"}]
    apply = project.run_pipeline(doc, "push", merge_sha, "main")["apply"]
    reviewed = artifact(planned, "plan", "plan.json")
    assert_applied_the_reviewed_plan(ci, apply, reviewed, "apply")
    (call,) = [c for c in ci.calls() if c.args[:1] == ["apply"]]
    assert call.subject == "project_path:acme/specs:ref_type:branch:ref:main"
    assert doc["apply"]["resource_group"] and doc["apply"]["environment"] == "production"


# --- a stale reviewed plan, both recipes -----------------------------------------------------


def set_encryption(endpoint: str, instance_id: str, value: str) -> None:
    """An out-of-band change, as someone in the console would make it."""
    from alibabacloud_rds20140815 import models

    cloud.rds(endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=instance_id,
            config_name="encryptionKey",
            config_value=value,
            switch_time_mode="Immediate",
        )
    )


@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_a_reviewed_plan_whose_facts_moved_is_not_applied(
    ci: World, gitlab_api: FakeGitLab, recipe: str
) -> None:
    git("-C", str(ci.repo), "checkout", "-q", "-b", "pr")
    head = commit(ci, "a review")
    if recipe == "github":
        doc, repo = load(GITHUB), github(ci)
        assert pull_request(repo, doc, head)["plan"].ok
    else:
        doc, project = load(GITLAB), gitlab(ci, gitlab_api)
        assert mr_pipeline(project, doc, head)["plan"].ok
    set_encryption(ci.endpoint, "pgm-bp1ded0000000002", "disabled")  # after the review
    cloud.reset_calls(ci.endpoint)
    merge_sha = merge(ci)
    if recipe == "github":
        apply = merged_push(repo, doc, merge_sha, head)
    else:
        gitlab_api.commit_mrs[merge_sha] = [{"iid": 3, "state": "merged"}]
        apply = project.run_pipeline(doc, "push", merge_sha, "main")["apply"]
    assert apply.ran and not apply.ok
    assert "stale" in apply.log and MOVED in apply.log
    assert 'encryption.key: "ServiceKey" when planned, "disabled" now' in apply.log
    assert only_reads(cloud.calls(ci.endpoint)) == []  # nothing written
    assert apply.artifacts  # the reviewed plan and the result are kept on failure


# --- the harness notices a broken recipe -----------------------------------------------------


def test_a_recipe_that_hides_a_refused_plan_fails_this_harness(
    ci: World, gitlab_api: FakeGitLab
) -> None:
    """Faithfulness: the recipes as they were before issue 20 (GitHub skips the comment on exit
    1; GitLab keeps no artifact of a failed job) are caught."""
    git("-C", str(ci.repo), "checkout", "-q", "-b", "pr")
    sha = commit(ci, "refused", refused_edit(ci))
    doc = load(GITHUB)
    for step in doc["jobs"]["plan"]["steps"]:
        if str(step.get("name", "")).startswith("Post the comment"):
            step["if"] = "always() && steps.plan.outputs.exit != '1'"
    repo = github(ci)
    assert not pull_request(repo, doc, sha)["plan"].ok
    assert repo.state["comments"] == []
    doc = load(GITLAB)
    del doc["plan"]["artifacts"]["when"]
    refused = mr_pipeline(gitlab(ci, gitlab_api), doc, sha)["plan"]
    assert not refused.ok and refused.artifacts == {}


def test_both_recipes_pin_this_release() -> None:
    """A release bumps the recipes' pin with it (docs/releases.md)."""
    for path in (GITHUB, GITLAB):
        text = path.read_text()
        assert f'RECONCILER_VERSION: "{__version__}"' in text
        assert '"rds-encryption-reconciler==${RECONCILER_VERSION}"' in text
