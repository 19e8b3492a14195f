"""Fleets in a spec of several accounts (README, "Several accounts" and "Fleets (selectors)"):
a fleet names its account and selects only that account's instances, through the CLI against
an emulator seeded with two accounts (tests/emulator/accounts_world.py), instances tagged with
the SDK's TagResources in each account."""

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
from tests.e2e.test_accounts import A_ROLE, _spec, _two_account_world, run
from tests.emulator.accounts_world import (
    A_INSTANCE,
    B_INSTANCE,
    B_ROOT_KEY,
    B_ROOT_SECRET,
    ROLE_ARN,
    A,
)

HZ = "cn-hangzhou"
PROD = {"env": "prod"}


def rds_of_b(endpoint: str) -> Any:
    """An RDS client acting in account B (its own AccessKey)."""
    from alibabacloud_rds20140815.client import Client

    config = world.sdk_config(endpoint, HZ)
    config.access_key_id, config.access_key_secret = B_ROOT_KEY, B_ROOT_SECRET
    return Client(config)


def tag(client: Any, instance_id: str, tags: dict[str, str]) -> None:
    from alibabacloud_rds20140815 import models

    client.tag_resources(
        models.TagResourcesRequest(
            region_id=HZ,
            resource_type="INSTANCE",
            resource_id=[instance_id],
            tag=[models.TagResourcesRequestTag(key=k, value=v) for k, v in tags.items()],
        )
    )


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    """The two-account world with the instance of each account tagged env=prod."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(_two_account_world()), encoding="utf-8")
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        tag(world.rds(emu.endpoint, HZ), A_INSTANCE, PROD)
        tag(rds_of_b(emu.endpoint), B_INSTANCE, PROD)
        yield emu.endpoint


def fleet(account: str | None, **more: Any) -> dict[str, Any]:
    body = {
        "select": {"regions": [HZ], "tags": dict(PROD)},
        "encryption": {"key": "service"},
        **more,
    }
    return {**body, "account": account} if account else body


def fleets_of_two_accounts(**fleets: dict[str, Any]) -> dict[str, Any]:
    return {
        "accounts": {
            "alpha": {"role_arn": A_ROLE, "account_id": A},
            "beta": {"role_arn": ROLE_ARN},
        },
        "defaults": {"region": HZ, "restart": "immediate"},
        "fleets": fleets,
    }


def plan_of(tmp_path: Path, endpoint: str, spec: str) -> dict[str, Any]:
    result = run(tmp_path, endpoint, "plan", "--format", "json", spec)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def changed(plan: dict[str, Any]) -> dict[str, str | None]:
    return {c["address"]: c.get("via") for c in plan["changes"]}


def test_each_fleet_selects_in_its_own_account(tmp_path: Path, endpoint: str) -> None:
    # different wants: were a fleet to select in the other account too, the two would conflict
    doc = fleets_of_two_accounts(
        web=fleet("alpha"), pay=fleet("beta", restart="maintenance-window")
    )
    plan = plan_of(tmp_path, endpoint, _spec(tmp_path, doc))
    assert changed(plan) == {
        f"alpha/rds_encryption.{A_INSTANCE}": "fleets.web",
        f"beta/rds_encryption.{B_INSTANCE}": "fleets.pay",
    }
    assert plan["refusals"] == []
    text = run(tmp_path, endpoint, "plan", _spec(tmp_path, doc))
    assert f"beta/rds_encryption.{B_INSTANCE}" in text.output
    assert "via fleets.pay" in text.output


def test_fleets_of_two_accounts_apply_replan_empty_and_pick_up_a_new_instance(
    tmp_path: Path, endpoint: str
) -> None:
    spec = _spec(tmp_path, fleets_of_two_accounts(web=fleet("alpha"), pay=fleet("beta")))
    applied = run(tmp_path, endpoint, "apply", "--auto-approve", "--allow-restart", spec)
    assert applied.exit_code == 0, applied.output
    assert f"beta/rds_encryption.{B_INSTANCE}" in applied.output
    assert plan_of(tmp_path, endpoint, spec)["changes"] == []
    b_client = rds_of_b(endpoint)
    created = world.create_instance(endpoint, client=b_client)
    tag(b_client, created, PROD)
    assert changed(plan_of(tmp_path, endpoint, spec)) == {
        f"beta/rds_encryption.{created}": "fleets.pay"
    }


def test_defaults_account_places_a_fleet_that_names_none(tmp_path: Path, endpoint: str) -> None:
    doc = fleets_of_two_accounts(pay=fleet(None))
    doc["defaults"]["account"] = "beta"
    plan = plan_of(tmp_path, endpoint, _spec(tmp_path, doc))
    assert changed(plan) == {f"beta/rds_encryption.{B_INSTANCE}": "fleets.pay"}


def test_one_declared_account_owns_every_fleet_without_a_prefix(
    tmp_path: Path, endpoint: str
) -> None:
    doc = {
        "accounts": {"beta": {"role_arn": ROLE_ARN}},
        "defaults": {"region": HZ},
        "fleets": {"pay": fleet(None)},
    }
    plan = plan_of(tmp_path, endpoint, _spec(tmp_path, doc))
    assert changed(plan) == {f"rds_encryption.{B_INSTANCE}": "fleets.pay"}


def spec_lines(tmp_path: Path, doc: dict[str, Any], key: str) -> tuple[str, int]:
    """The spec file, and the 1-based line of the first line holding `key`."""
    path = _spec(tmp_path, doc)
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return path, next(n for n, line in enumerate(lines, 1) if key in line)


def test_a_fleet_of_an_undeclared_account_is_refused_at_its_line(
    tmp_path: Path, endpoint: str
) -> None:
    doc = fleets_of_two_accounts(pay=fleet("betta"))
    path, line = spec_lines(tmp_path, doc, "account: betta")
    result = run(tmp_path, endpoint, "--stats", "plan", path)
    assert result.exit_code == 1
    assert f"{path}:{line}" in result.output
    assert "account `betta` is not declared in accounts: did you mean `beta`?" in result.output
    assert "DescribeDBInstances" not in result.output  # refused before any read


def test_a_fleet_naming_no_account_among_several_is_refused_at_its_line(
    tmp_path: Path, endpoint: str
) -> None:
    doc = fleets_of_two_accounts(pay=fleet(None))
    path, line = spec_lines(tmp_path, doc, "pay:")
    result = run(tmp_path, endpoint, "plan", path)
    assert result.exit_code == 1
    assert f"{path}:{line}" in result.output
    assert "fleet `pay` names no account: add `account: NAME` (alpha, beta)" in result.output


def test_a_fleet_using_a_key_of_another_account_is_refused(tmp_path: Path, endpoint: str) -> None:
    doc = fleets_of_two_accounts(pay={**fleet("beta"), "encryption": {"key": "a-key"}})
    doc["kms_keys"] = {"a-key": {"alias": "alias/a-key", "account": "alpha"}}
    result = run(tmp_path, endpoint, "plan", _spec(tmp_path, doc))
    assert result.exit_code == 1
    assert "fleet `pay` (account beta) uses key `a-key` of account alpha" in result.output


def test_drift_of_fleets_of_two_accounts_names_account_and_fleet(
    tmp_path: Path, endpoint: str
) -> None:
    spec = _spec(tmp_path, fleets_of_two_accounts(web=fleet("alpha"), pay=fleet("beta")))
    result = run(tmp_path, endpoint, "drift", "--format", "json", spec)
    assert result.exit_code == 2, result.output
    items = {i["address"]: (i["kind"], i.get("via")) for i in json.loads(result.stdout)["items"]}
    assert items[f"alpha/rds_encryption.{A_INSTANCE}"] == ("changed", "fleets.web")
    assert items[f"beta/rds_encryption.{B_INSTANCE}"] == ("changed", "fleets.pay")
