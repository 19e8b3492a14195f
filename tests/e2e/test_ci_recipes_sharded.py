"""The SHARDED CI recipes (docs/ci/github-actions-sharded.yml, docs/ci/gitlab-ci-sharded.yml) run
as their CI runs them (tests/e2e/ci_harness.py: a matrix job once per shard with its matrix
variables, artifacts handed to the merge job) against a world over four regions, and compared
with the unsharded recipes on the same pull request and night (issue 21, item 4):

- the merged comment is the comment the unsharded recipe posts, but for the job-log line;
- ONE comment, edited in place on the next run; a refused shard's refusal reaches it;
- apply applies the whole reviewed plan (a shard's plan would be refused);
- the nightly merge leaves ONE SARIF (code scanning), JUnit and HTML, with the drift exit code
  of the unsharded drift job.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import __version__
from reconciler.emulator.server import Emulator
from tests.e2e import world as cloud
from tests.e2e.ci_gitlab_api import FakeGitLab
from tests.e2e.ci_harness import GitHubEvent, JobResult, World, git, resolve_gitlab_job
from tests.e2e.test_ci_recipes_run import (
    GITHUB,
    GITLAB,
    MARKER,
    PIN,
    ROOT,
    bot_notes,
    commit,
    github,
    gitlab,
    load,
    merge,
    merged_push,
    mr_pipeline,
    pull_request,
    set_encryption,
)

GITHUB_SHARDED = ROOT / "docs" / "ci" / "github-actions-sharded.yml"
GITLAB_SHARDED = ROOT / "docs" / "ci" / "gitlab-ci-sharded.yml"
DRIFTED = "pgm-bp1ded0000000002"
SERVERLESS = "  pgm-bp1sls0000000001: {encryption: {key: service}}\n"  # refused


@pytest.fixture
def gitlab_api() -> Iterator[FakeGitLab]:
    api = FakeGitLab()
    yield api
    api.close()


@pytest.fixture
def spread_ci(tmp_path: Path, demo: Emulator) -> Iterator[World]:
    """The demo's specs plus an instance to encrypt in cn-beijing and one to decrypt in
    ap-northeast-1 (four regions planned, three shards), and an unmanaged one in cn-shenzhen."""
    world = World(tmp_path / "ci", demo.endpoint, PIN)
    specs = world.repo / "specs"
    shutil.copytree(ROOT / "specs", specs, ignore=shutil.ignore_patterns("examples"))
    beijing = cloud.create_instance(demo.endpoint, region="cn-beijing")
    tokyo = cloud.create_instance(
        demo.endpoint, region="ap-northeast-1", encryption_key="ServiceKey"
    )
    cloud.create_instance(demo.endpoint, region="cn-shenzhen")
    (specs / "more.yaml").write_text(
        "instances:\n"
        f"  {beijing}: {{region: cn-beijing, encryption: {{key: service}}}}\n"
        f"  {tokyo}: {{region: ap-northeast-1, encryption: disabled}}\n"
    )
    git("-C", str(world.repo), "init", "-q", "-b", "main")
    commit(world, "specs")
    git("-C", str(world.repo), "checkout", "-q", "-b", "pr")
    yield world


RAM_USERS = re.compile(r"\. TDE instances that depend on the role: [^\n]*")


def shard_free(body: str) -> str:
    """The comment without its last line (the job log's link names the run), and without the
    RAM change's list of the TDE instances that depend on the role: the shard owning RAM lists
    only its own regions' (reconciler/shard.py), so a merged plan may name fewer."""
    return RAM_USERS.sub("", re.sub(r"<sub>commit .*</sub>\n?$", "", body))


def only_comment(repo: Any) -> dict[str, Any]:
    (comment,) = repo.state["comments"]
    return comment


def spec_edit(world: World, add: str = "", drop: str = "") -> dict[str, str | None]:
    text = (world.repo / "specs/more.yaml").read_text()
    return {"specs/more.yaml": text.replace(drop, "") + add}


def assert_same_drift(sharded: JobResult, whole: JobResult, files: Path, whole_files: Path) -> None:
    """The merged nightly report: the unsharded job's outcome, items and coverage, four files."""
    assert (sharded.status, sharded.exit_code) == (whole.status, whole.exit_code), sharded.log
    assert (files / "drift.html").read_text().startswith("<!DOCTYPE html>")
    assert "<testsuite" in (files / "drift.xml").read_text()
    merged = json.loads((files / "drift.json").read_text())
    one = json.loads((whole_files / "drift.json").read_text())
    assert merged["items"] == one["items"] and merged["coverage"] == one["coverage"]
    assert DRIFTED in json.dumps(merged["items"])
    sarif = json.loads((files / "drift.sarif").read_text())["runs"][0]["results"]
    assert sarif == json.loads((whole_files / "drift.sarif").read_text())["runs"][0]["results"]


def test_github_sharded_recipe_equals_the_unsharded_one(spread_ci: World) -> None:
    whole_doc, doc = load(GITHUB), load(GITHUB_SHARDED)
    whole_repo, repo = github(spread_ci), github(spread_ci)

    refused = pull_request(
        repo, doc, commit(spread_ci, "refused", spec_edit(spread_ci, SERVERLESS))
    )
    assert [k for k in refused if k.startswith("plan-shard")] == [
        "plan-shard (1)", "plan-shard (2)", "plan-shard (3)",
    ]  # fmt: skip
    assert all(refused[f"plan-shard ({i})"].ok for i in (1, 2, 3))  # a refusal is merged
    assert refused["merge"].status == "failed" and "pgm-bp1sls0000000001" in refused["merge"].log
    first = only_comment(repo)
    assert "pgm-bp1sls0000000001" in first["body"] and "the plan cannot be applied" in first["body"]

    head = commit(spread_ci, "fixed", spec_edit(spread_ci, drop=SERVERLESS))
    assert pull_request(whole_repo, whole_doc, head)["plan"].ok
    jobs = pull_request(repo, doc, head)
    assert jobs["merge"].ok and jobs["plan"].ok, jobs["merge"].log
    edited = only_comment(repo)  # one comment, edited in place
    assert edited["id"] == first["id"] and edited["body"].startswith(MARKER)
    assert shard_free(edited["body"]) == shard_free(only_comment(whole_repo)["body"])
    shards = sorted(
        c.args[c.args.index("--shard") + 1] for c in spread_ci.calls() if "--shard" in c.args
    )
    assert shards == ["1/3", "1/3", "2/3", "2/3", "3/3", "3/3"]

    apply = merged_push(repo, doc, merge(spread_ci), head)  # the whole plan `reconciler-plan`
    assert apply.ok, apply.log
    assert json.loads((apply.artifacts["reconciler-apply"] / "apply.json").read_text())["ok"]

    set_encryption(spread_ci.endpoint, DRIFTED, "disabled")  # after the apply: drift (exit 2)
    night = GitHubEvent(
        "schedule", git("-C", str(spread_ci.repo), "rev-parse", "main"), "refs/heads/main"
    )
    whole = whole_repo.run_workflow(whole_doc, night)["drift"]
    sharded = repo.run_workflow(doc, night)["drift"]
    assert sharded.status == "failed" and "the cloud drifted" in sharded.log  # exit 2 notifies
    assert_same_drift(
        sharded, whole, sharded.artifacts["reconciler-drift"], whole.artifacts["reconciler-drift"]
    )
    assert [u["category"] for u in repo.code_scanning] == ["reconciler-drift"]  # ONE SARIF


def test_gitlab_sharded_recipe_equals_the_unsharded_one(
    spread_ci: World, gitlab_api: FakeGitLab
) -> None:
    whole_doc, doc = load(GITLAB), load(GITLAB_SHARDED)
    project = gitlab(spread_ci, gitlab_api)

    refused = mr_pipeline(
        project, doc, commit(spread_ci, "refused", spec_edit(spread_ci, SERVERLESS))
    )
    assert all(refused[f"plan-shard {i}/3"].ok for i in (1, 2, 3))
    assert refused["plan-merge"].status == "failed"
    (first,) = bot_notes(gitlab_api)
    assert "pgm-bp1sls0000000001" in first["body"] and "the plan cannot be applied" in first["body"]

    head = commit(spread_ci, "fixed", spec_edit(spread_ci, drop=SERVERLESS))
    assert mr_pipeline(project, whole_doc, head)["plan"].ok
    (whole_note,) = bot_notes(gitlab_api)
    expected = whole_note["body"]
    jobs = mr_pipeline(project, doc, head)
    assert jobs["plan-merge"].ok, jobs["plan-merge"].log
    (note,) = bot_notes(gitlab_api)  # one note, edited in place
    assert note["id"] == first["id"]
    assert shard_free(note["body"]) == shard_free(expected)

    merge_sha = merge(spread_ci)
    gitlab_api.commit_mrs[merge_sha] = [{"iid": 3, "state": "merged"}]
    apply = project.run_pipeline(doc, "push", merge_sha, "main")["apply"]
    assert apply.ok, apply.log  # the whole plan of the job `plan`

    set_encryption(spread_ci.endpoint, DRIFTED, "disabled")  # after the apply: drift (exit 2)
    whole = project.run_pipeline(whole_doc, "schedule", merge_sha, "main")["drift"]
    sharded = project.run_pipeline(doc, "schedule", merge_sha, "main")["drift"]
    assert sharded.status == "allowed_failure" and sharded.exit_code == 2  # drift: a warning
    assert_same_drift(sharded, whole, sharded.artifacts["drift"], whole.artifacts["drift"])
    assert doc["drift"]["artifacts"]["reports"]["junit"] == "drift.xml"


def test_the_sharded_recipes_pin_this_release_and_give_the_apply_role_to_apply_alone() -> None:
    """As the unsharded recipes (tests/e2e/test_drift_ci_recipes.py): the merge jobs read no
    cloud, so they hold no role and no OIDC token."""
    github_doc, gitlab_doc = load(GITHUB_SHARDED), load(GITLAB_SHARDED)
    for path in (GITHUB_SHARDED, GITLAB_SHARDED):
        assert f'RECONCILER_VERSION: "{__version__}"' in path.read_text()
    roles = {
        n: j.get("env", {}).get("ALIBABA_CLOUD_ROLE_ARN") for n, j in github_doc["jobs"].items()
    }
    read, write = "${{ vars.RECONCILER_READ_ROLE_ARN }}", "${{ vars.RECONCILER_APPLY_ROLE_ARN }}"
    assert roles == {
        "plan-shard": read, "plan": read, "merge": None,
        "apply": write, "drift-shard": read, "drift": None,
    }  # fmt: skip
    assert "id-token" not in github_doc["jobs"]["merge"]["permissions"]
    jobs = {
        n: resolve_gitlab_job(gitlab_doc, n)
        for n in gitlab_doc
        if n[0] != "." and "script" in gitlab_doc[n]
    }
    gl_roles = {n: j.get("variables", {}).get("ALIBABA_CLOUD_ROLE_ARN") for n, j in jobs.items()}
    assert [n for n, r in gl_roles.items() if r == "$RECONCILER_APPLY_ROLE_ARN"] == ["apply"]
    assert gl_roles["plan-merge"] is None and "id_tokens" not in jobs["plan-merge"]


def test_a_cloud_that_moves_between_the_shards_and_the_whole_plan_fails_the_merge(
    spread_ci: World,
) -> None:
    """The comment shows the shards' merge, apply applies the whole plan: when they differ (the
    cloud moved between their reads) the merge job fails and the comment names the address, so
    no successful run holds a plan the comment did not show."""
    doc, repo = load(GITHUB_SHARDED), github(spread_ci)
    change = (
        f'"{sys.executable}" -c "from tests.e2e.test_ci_recipes_run import set_encryption; '
        f"set_encryption('{spread_ci.endpoint}', '{DRIFTED}', 'disabled')\""
    )
    steps = doc["jobs"]["plan"]["steps"]
    steps.insert(next(i for i, s in enumerate(steps) if s.get("id") == "plan"), {"run": change})
    jobs = pull_request(repo, doc, commit(spread_ci, "a review"))
    assert jobs["plan"].ok and all(jobs[f"plan-shard ({i})"].ok for i in (1, 2, 3))
    assert jobs["merge"].status == "failed"
    body = only_comment(repo)["body"]
    assert "the cloud moved between their reads" in body and DRIFTED in body
    assert repo.state["runs"][-1]["conclusion"] == "failure"  # apply will not take this plan
