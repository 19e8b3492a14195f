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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from tests.e2e import world as cloud
from tests.e2e.ci_harness import GitHubEvent, World, git
from tests.e2e.test_ci_recipes_run import (
    GITHUB,
    MARKER,
    PIN,
    ROOT,
    commit,
    github,
    load,
    merge,
    merged_push,
    pull_request,
)

GITHUB_SHARDED = ROOT / "docs" / "ci" / "github-actions-sharded.yml"
SERVERLESS = "  pgm-bp1sls0000000001: {encryption: {key: service}}\n"  # refused


@pytest.fixture
def spread_ci(tmp_path: Path, demo: Emulator) -> Iterator[World]:
    """The demo's specs plus an instance to encrypt in cn-beijing and one to decrypt in
    ap-northeast-1 (four regions planned, three shards), and an unmanaged one in cn-shenzhen."""
    world = World(tmp_path / "ci", demo.endpoint, PIN)
    specs = world.repo / "specs"
    shutil.copytree(ROOT / "specs", specs, ignore=shutil.ignore_patterns("examples"))
    beijing = cloud.create_instance(demo.endpoint, region="cn-beijing")
    tokyo = cloud.create_instance(demo.endpoint, region="ap-northeast-1", encryption_key="ServiceKey")
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


def test_github_sharded_recipe_equals_the_unsharded_one(spread_ci: World) -> None:
    whole_doc, sharded_doc = load(GITHUB), load(GITHUB_SHARDED)
    head = commit(spread_ci, "a review")
    whole_repo = github(spread_ci)
    assert pull_request(whole_repo, whole_doc, head)["plan"].ok
    expected = only_comment(whole_repo)["body"]

    repo = github(spread_ci)
    jobs = pull_request(repo, sharded_doc, head)
    shards = [k for k in jobs if k.startswith("plan-shard (")]
    assert shards == ["plan-shard (1)", "plan-shard (2)", "plan-shard (3)"]
    assert all(jobs[k].ok for k in shards) and jobs["merge"].ok, jobs["merge"].log
    first = only_comment(repo)
    assert first["body"].startswith(MARKER)
    Path("/tmp/shardci-a.md").write_text(shard_free(first["body"]))
    Path("/tmp/shardci-b.md").write_text(shard_free(expected))
    assert shard_free(first["body"]) == shard_free(expected)
    shard_calls = [c for c in spread_ci.calls() if "--shard" in c.args]
    assert sorted(c.args[c.args.index("--shard") + 1] for c in shard_calls) == [
        "1/3", "2/3", "3/3",
    ]  # fmt: skip

    refused = commit(spread_ci, "refused", {"specs/more.yaml": (spread_ci.repo / "specs/more.yaml").read_text() + SERVERLESS})
    assert pull_request(whole_repo, whole_doc, refused)["plan"].status == "failed"
    again = pull_request(repo, sharded_doc, refused)
    assert again["merge"].status == "failed"
    edited = only_comment(repo)  # edited in place
    assert edited["id"] == first["id"] and "pgm-bp1sls0000000001" in edited["body"]
    assert "the plan cannot be applied" in edited["body"]

    fixed = commit(spread_ci, "fixed", {"specs/more.yaml": (spread_ci.repo / "specs/more.yaml").read_text().replace(SERVERLESS, "")})
    jobs = pull_request(repo, sharded_doc, fixed)
    assert jobs["merge"].ok
    assert only_comment(repo)["id"] == first["id"]
    apply = merged_push(repo, sharded_doc, merge(spread_ci), fixed)
    assert apply.ok, apply.log
    assert json.loads((apply.artifacts["reconciler-apply"] / "apply.json").read_text())["ok"]

    night_sha = git("-C", str(spread_ci.repo), "rev-parse", "main")
    whole_night = whole_repo.run_workflow(whole_doc, GitHubEvent("schedule", night_sha, "refs/heads/main"))
    night = repo.run_workflow(sharded_doc, GitHubEvent("schedule", night_sha, "refs/heads/main"))
    drift, whole_drift = night["drift"], whole_night["drift"]
    assert drift.status == whole_drift.status
    files = drift.artifacts["reconciler-drift"]
    assert (files / "drift.html").read_text().startswith("<!DOCTYPE html>")
    assert "<testsuite" in (files / "drift.xml").read_text()
    (upload,) = repo.code_scanning
    (whole_upload,) = whole_repo.code_scanning
    assert len(upload["sarif"]["runs"][0]["results"]) == len(whole_upload["sarif"]["runs"][0]["results"])
    merged = json.loads((files / "drift.json").read_text())
    whole = json.loads((whole_drift.artifacts["reconciler-drift"] / "drift.json").read_text())
    assert merged["items"] == whole["items"] and merged["coverage"] == whole["coverage"]
