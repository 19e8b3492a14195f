"""Drift of a spec with `accounts:` (README, "Several accounts"; docs/drift-format.md, "Several
accounts"): each account read with its own credentials (AssumeRole), one report with the
account in every address and every coverage region, against an emulator seeded with two
accounts (tests/emulator/accounts_world.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.test_account_fleets import rds_of_b
from tests.e2e.test_accounts import _spec, _two_account_world, run, two_accounts
from tests.emulator.accounts_world import A_INSTANCE, B_INSTANCE, CLOSED_ARN, A, B


@pytest.fixture
def world_of_two(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """The two-account world plus one unmanaged (unencrypted) instance in each account: the
    endpoint, A's new instance and B's."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(_two_account_world()), encoding="utf-8")
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        a_new = world.create_instance(emu.endpoint)
        b_new = world.create_instance(emu.endpoint, client=rds_of_b(emu.endpoint))
        yield emu.endpoint, a_new, b_new


def drift_json(tmp_path: Path, endpoint: str, spec: str, *extra: str) -> tuple[int, Any]:
    result = run(tmp_path, endpoint, "drift", "--format", "json", *extra, spec)
    assert result.exit_code in (0, 2), result.output
    return result.exit_code, json.loads(result.stdout)


def kinds(report: dict[str, Any]) -> dict[str, str]:
    return {i["address"]: i["kind"] for i in report["items"]}


def test_drift_of_two_accounts_reports_each_account_with_its_prefix(
    tmp_path: Path, world_of_two: tuple[str, str, str]
) -> None:
    endpoint, a_new, b_new = world_of_two
    code, report = drift_json(tmp_path, endpoint, _spec(tmp_path, two_accounts()))
    assert code == 2
    found = kinds(report)
    assert found[f"alpha/rds_encryption.{A_INSTANCE}"] == "changed"  # managed, still off
    assert found[f"beta/rds_encryption.{B_INSTANCE}"] == "changed"
    assert found[f"alpha/rds_encryption.{a_new}"] == "unmanaged"
    assert found[f"beta/rds_encryption.{b_new}"] == "unmanaged"
    assert not [a for a in found if not a.startswith(("alpha/", "beta/"))]
    assert report["run"]["account_id"] == f"{A},{B}"
    assert "cn-hangzhou" in report["run"]["regions_read"]  # every region of each account
    coverage = report["coverage"]
    regions = set(coverage["regions"])
    assert {"alpha/cn-hangzhou", "beta/cn-hangzhou"} <= regions
    assert all(r.startswith(("alpha/", "beta/")) for r in regions)
    assert len(regions) == 2 * len(report["run"]["regions_read"])
    assert coverage["regions"]["beta/cn-hangzhou"]["not_encrypted"] == 2
    assert coverage["instances"] == 4 and coverage["not_encrypted"] == 4
    assert f"beta/rds_encryption.{B_INSTANCE}" in report["checked"]
    text = run(tmp_path, endpoint, "drift", _spec(tmp_path, two_accounts()))
    assert text.exit_code == 2
    assert f"beta/rds_encryption.{b_new}" in text.output
    assert "beta/cn-hangzhou" in text.output
    for fmt in ("markdown", "junit", "sarif", "html"):
        shown = run(tmp_path, endpoint, "drift", "--format", fmt, _spec(tmp_path, two_accounts()))
        assert shown.exit_code == 2, (fmt, shown.output)
        assert f"beta/rds_encryption.{b_new}" in shown.stdout, fmt


def test_drift_of_two_accounts_in_sync_but_unmanaged_exits_0_and_2_with_strict(
    tmp_path: Path, world_of_two: tuple[str, str, str]
) -> None:
    endpoint, a_new, b_new = world_of_two
    spec = _spec(tmp_path, two_accounts())
    applied = run(tmp_path, endpoint, "apply", "--auto-approve", "--allow-restart", spec)
    assert applied.exit_code == 0, applied.output
    code, report = drift_json(tmp_path, endpoint, spec)
    assert code == 0
    assert kinds(report) == {
        f"alpha/rds_encryption.{a_new}": "unmanaged",
        f"beta/rds_encryption.{b_new}": "unmanaged",
    }
    assert drift_json(tmp_path, endpoint, spec, "--strict")[0] == 2


def test_one_declared_account_drifts_without_prefixes(
    tmp_path: Path, world_of_two: tuple[str, str, str]
) -> None:
    endpoint, _a_new, b_new = world_of_two
    doc = two_accounts()
    del doc["accounts"]["alpha"]
    del doc["instances"][A_INSTANCE]
    del doc["instances"][B_INSTANCE]["account"]
    code, report = drift_json(tmp_path, endpoint, _spec(tmp_path, doc))
    assert code == 2
    assert kinds(report) == {
        f"rds_encryption.{B_INSTANCE}": "changed",
        f"rds_encryption.{b_new}": "unmanaged",
    }
    assert report["run"]["account_id"] == B
    regions = report["coverage"]["regions"]
    assert regions["cn-hangzhou"]["not_encrypted"] == 2
    assert not [r for r in regions if "/" in r]


def test_drift_stops_when_one_account_cannot_be_reached(
    tmp_path: Path, world_of_two: tuple[str, str, str]
) -> None:
    endpoint, _a, _b = world_of_two
    spec = _spec(tmp_path, two_accounts(b_role=CLOSED_ARN))
    result = run(tmp_path, endpoint, "drift", "--stats", spec)
    assert result.exit_code == 1
    assert "account beta: cannot assume role " + CLOSED_ARN in result.output
    assert "pgm-" not in result.output  # no report of alpha alone


def test_unencrypted_instances_carry_their_account(
    tmp_path: Path, world_of_two: tuple[str, str, str]
) -> None:
    """The coverage's list of unencrypted instances names each one's account, as its region's
    coverage does: two accounts may each have a cn-hangzhou."""
    endpoint, _, b_new = world_of_two
    _, report = drift_json(tmp_path, endpoint, _spec(tmp_path, two_accounts()))
    listed = {u["instance_id"]: u["region"] for u in report["coverage"]["unencrypted"]}
    assert listed[b_new] == "beta/cn-hangzhou"
    assert set(listed.values()) <= set(report["coverage"]["regions"])
    text = run(tmp_path, endpoint, "drift", _spec(tmp_path, two_accounts()))
    assert f"{b_new} (beta/cn-hangzhou, unmanaged)" in text.output


def test_an_account_s_regions_are_not_called_a_region_option(
    tmp_path: Path, world_of_two: tuple[str, str, str]
) -> None:
    """Drift reads an account's declared `regions:` only; the report must not say --region
    narrowed it when no --region was given."""
    endpoint, _, _ = world_of_two
    spec = two_accounts()
    for account in spec["accounts"].values():
        account["regions"] = ["cn-hangzhou"]
    text = run(tmp_path, endpoint, "drift", _spec(tmp_path, spec))
    assert text.exit_code == 2, text.output
    assert "--region" not in text.output.split("Regions read:")[1].splitlines()[0]
    assert "the spec's regions only" in text.output.split("Regions read:")[1].splitlines()[0]


def test_drift_of_two_accounts_in_one_pool_of_workers_reports_the_same(
    tmp_path: Path, world_of_two: tuple[str, str, str]
) -> None:
    """`--processes 2`: both accounts' regions read in one pool of workers (state/processes.py),
    the same items, coverage and exit code as one process."""
    endpoint, _a_new, _b_new = world_of_two
    spec = _spec(tmp_path, two_accounts())
    alone = drift_json(tmp_path, endpoint, spec)
    result = run(tmp_path, endpoint, "--processes", "2", "drift", "--format", "json", spec)
    assert result.exit_code == alone[0] == 2, result.output
    split = json.loads(result.stdout)
    for field in ("items", "coverage"):
        assert split[field] == alone[1][field]
    assert split["run"]["account_id"] == alone[1]["run"]["account_id"]
