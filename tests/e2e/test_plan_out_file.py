"""`plan -o FILE`: written atomically and only when the plan succeeds; a failed, refused or
interrupted plan leaves no plan file behind, not even an old one (docs/exit-codes.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.plan.model import load_plan
from tests.e2e import world
from tests.e2e.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
REFUSALS = str(REPO / "specs" / "examples" / "refusals")
OLD = '{"format_version": "1", "old": true}\n'


@pytest.fixture
def old_plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(OLD)
    return path


def plan_to(endpoint: str, folder: str, out: str, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli("--endpoint", endpoint, "plan", folder, "-o", out, *extra)


def test_success_replaces_the_file_and_leaves_no_temporary_file(demo, old_plan: Path) -> None:  # type: ignore[no-untyped-def]
    run = plan_to(demo.endpoint, SPECS, str(old_plan), "--detailed-exitcode")
    assert run.exit_code == 2, run.stderr
    assert load_plan(old_plan.read_text()).changes
    assert sorted(p.name for p in old_plan.parent.iterdir()) == ["plan.json"]
    assert f"Plan saved to {old_plan}." in run.stderr


def test_invalid_spec_removes_an_old_plan_file(demo, old_plan: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "spec.yaml").write_text("version: 1\ninstances: {pgm-bp1x0000: {encryption: on}}\n")
    run = plan_to(demo.endpoint, str(bad), str(old_plan))
    assert run.exit_code == 1
    assert not old_plan.exists()
    assert f"Removed the old {old_plan}" in run.stderr


def test_cloud_error_removes_an_old_plan_file(demo, old_plan: Path) -> None:  # type: ignore[no-untyped-def]
    world.admin(
        demo.endpoint,
        "POST",
        "faults",
        {"action": "rds:DescribeDBInstances", "code": "Forbidden.RAM", "status": 403, "times": 50},
    )
    run = plan_to(demo.endpoint, SPECS, str(old_plan))
    assert run.exit_code == 1
    assert "Forbidden.RAM" in run.stderr
    assert not old_plan.exists()
    assert f"Removed the old {old_plan}" in run.stderr


def test_refused_plan_writes_no_file_and_removes_an_old_one(demo, old_plan: Path) -> None:  # type: ignore[no-untyped-def]
    run = plan_to(demo.endpoint, REFUSALS, str(old_plan), "--format", "json")
    assert run.exit_code == 1
    assert run.plan["refusals"], "the refused plan is still shown"
    assert not old_plan.exists()
    assert f"Removed the old {old_plan}" in run.stderr
    fresh = old_plan.parent / "fresh.json"
    run = plan_to(demo.endpoint, REFUSALS, str(fresh))
    assert run.exit_code == 1
    assert not fresh.exists()
    assert f"Plan not saved to {fresh}" in run.stderr


def test_dash_means_stdout(demo, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    run = plan_to(demo.endpoint, SPECS, "-")
    assert run.exit_code == 0, run.stderr
    assert load_plan(run.stdout).changes, "stdout holds the saved plan (JSON) alone"
    assert "The plan makes these changes" in run.stderr, "the text view moves to stderr"
    assert not (tmp_path / "-").exists()
    as_json = plan_to(demo.endpoint, SPECS, "-", "--format", "json")
    assert json.loads(as_json.stdout)["changes"] and "{" not in as_json.stderr


def test_dash_with_a_refused_plan_prints_no_plan_on_stdout(demo) -> None:  # type: ignore[no-untyped-def]
    run = plan_to(demo.endpoint, REFUSALS, "-")
    assert run.exit_code == 1
    assert run.stdout == ""
    assert "Refused" in run.stderr


def test_missing_folder_fails_before_reading_the_cloud(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world.reset_calls(demo.endpoint)
    target = tmp_path / "nonexistent" / "x.json"
    run = plan_to(demo.endpoint, SPECS, str(target))
    assert run.exit_code == 1
    assert world.calls(demo.endpoint) == {}
    assert run.stderr.count("\n") == 1
    assert str(tmp_path / "nonexistent") in run.stderr and "does not exist" in run.stderr


def test_a_folder_as_the_out_file_fails_before_reading_the_cloud(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world.reset_calls(demo.endpoint)
    run = plan_to(demo.endpoint, SPECS, str(tmp_path))
    assert run.exit_code == 1
    assert world.calls(demo.endpoint) == {}
    assert tmp_path.is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_fails_before_reading_the_cloud(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    world.reset_calls(demo.endpoint)
    try:
        run = plan_to(demo.endpoint, SPECS, str(folder / "x.json"))
    finally:
        folder.chmod(0o755)
    assert run.exit_code == 1
    assert world.calls(demo.endpoint) == {}
    assert "not writable" in run.stderr
