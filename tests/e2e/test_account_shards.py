"""`plan --shard I/N` and `drift --shard I/N` of a spec with `accounts:` (issue 21 item 4): the
units are (account, region) pairs, so a shard assumes only the roles of the accounts it has
units of, and `reconciler merge` of the shards' JSON equals one unsharded run of the whole
spec (changes, refusals, warnings, findings, addresses with `<account>/`), against an emulator
seeded with two accounts over three regions (tests/emulator/accounts_world.py)."""

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
    CLOSED_ARN,
    ROLE_ARN,
    A,
    B,
)

HZ, SH, BJ = "cn-hangzhou", "cn-shanghai", "cn-beijing"
A_SH, A_SSD, A_SSD_HZ = "pgm-uf6aaaa000000001", "pgm-uf6aaaa000000002", "pgm-bp1aaaa000000009"
B_SH, B_BJ, B_CMK = "pgm-uf6bbbb000000001", "pgm-2zebbbb000000001", "pgm-bp1bbbb000000002"
PROD = {"env": "prod"}
N = 3


def _instance(instance_id: str, region: str, **more: Any) -> dict[str, Any]:
    body = {"id": instance_id, "region": region, "class": "pg.x4.large.2c", "encryption": "off"}
    return {**body, **more}


def _sharded_world() -> dict[str, Any]:
    """Account A in cn-hangzhou and cn-shanghai (a tagged instance a fleet selects, an SSD one
    in each region the fleet reports in one warning, though two shards read them); account B
    in three regions, without the RDS encryption role (its CMK instance needs the RAM change),
    with a tagged instance in cn-shanghai and an unmanaged one in cn-beijing."""
    seed = _two_account_world()
    other = seed["accounts"][B]
    seed["regions"], other["regions"] = [HZ, SH], [HZ, SH, BJ]
    seed["rds_instances"] += [
        _instance(A_SH, SH, tags=PROD),
        _instance(A_SSD, SH, storage_type="local_ssd", tags=PROD),
        _instance(A_SSD_HZ, HZ, storage_type="local_ssd", tags=PROD),
    ]
    other["rds_instances"] += [
        _instance(B_SH, SH, tags=PROD),
        _instance(B_BJ, BJ),
        _instance(B_CMK, HZ),
    ]
    roles = other["ram"]["roles"]
    other["ram"]["roles"] = [r for r in roles if r["name"].startswith("reconciler")]
    return seed


def _doc(a_role: str = A_ROLE, b_role: str = ROLE_ARN) -> dict[str, Any]:
    """alpha: one listed instance and a fleet over its two regions; beta: listed instances in
    its three regions (one with its own CMK) and a fleet in cn-shanghai."""
    fleet = {"select": {"tags": PROD}, "encryption": {"key": "service"}}
    doc = {
        "accounts": {
            "alpha": {"role_arn": a_role, "account_id": A, "regions": [HZ, SH]},
            "beta": {"role_arn": b_role, "account_id": B, "regions": [HZ, SH, BJ]},
        },
        "defaults": {"region": HZ, "restart": "immediate"},
        "kms_keys": {"b-key": {"alias": "alias/b-key", "account": "beta"}},
        "fleets": {
            "web": {**fleet, "account": "alpha", "select": {"regions": [HZ, SH], "tags": PROD}},
            "pay": {**fleet, "account": "beta", "select": {"regions": [SH], "tags": PROD}},
        },
        "instances": {
            A_INSTANCE: {"account": "alpha", "encryption": {"key": "service"}},
            B_INSTANCE: {"account": "beta", "encryption": {"key": "service"}},
            B_CMK: {"account": "beta", "encryption": {"key": "b-key"}},
            B_BJ: {"account": "beta", "region": BJ, "encryption": "disabled"},
        },
    }
    return json.loads(json.dumps(doc))  # no shared dicts: the spec loader refuses YAML aliases


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(_sharded_world()), encoding="utf-8")
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        yield emu.endpoint


def _json(tmp_path: Path, endpoint: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = run(tmp_path, endpoint, *args, "--format", "json")
    assert result.exit_code in (0, 1, 2) and result.stdout.startswith("{"), result.output
    return result.exit_code, json.loads(result.stdout)


def _shards(tmp_path: Path, endpoint: str, command: str, spec: str, count: int = N) -> list[str]:
    files = []
    for index in range(1, count + 1):
        _code, doc = _json(tmp_path, endpoint, command, spec, "--shard", f"{index}/{count}")
        assert (doc["shard"]["index"], doc["shard"]["count"]) == (index, count)
        path = tmp_path / f"{command}-{index}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        files.append(str(path))
    return files


def _units(files: list[str]) -> list[list[str]]:
    shards = [json.loads(Path(f).read_text(encoding="utf-8"))["shard"] for f in files]
    return [[f"{u['account']}/{u['region']}" for u in s["units"]] for s in shards]


def _tokenless(change: dict[str, Any]) -> dict[str, Any]:
    """The change without its ClientTokens: they derive from each plan's own id."""
    for op in change["operations"]:
        op["params"].pop("ClientToken", None)
    return change


def test_three_plan_shards_of_two_accounts_merged_equal_the_unsharded_plan(
    tmp_path: Path, endpoint: str
) -> None:
    spec = _spec(tmp_path, _doc())
    code, whole = _json(tmp_path, endpoint, "plan", spec)
    files = _shards(tmp_path, endpoint, "plan", spec)
    assert _units(files) == [
        ["alpha/cn-hangzhou", "beta/cn-hangzhou"],
        ["alpha/cn-shanghai", "beta/cn-shanghai"],
        ["beta/cn-beijing"],
    ]
    merged_run = run(tmp_path, endpoint, "merge", *files, "--format", "json")
    assert merged_run.exit_code == code == 0, merged_run.output
    merged = json.loads(merged_run.stdout)
    changes = [_tokenless(c) for c in whole["changes"]]
    assert [c["address"] for c in merged["changes"]] == [c["address"] for c in changes]
    for one, other in zip(merged["changes"], changes, strict=True):
        assert _tokenless(one) == other
    addresses = {c["address"]: c.get("via") for c in changes}
    assert addresses[f"alpha/rds_encryption.{A_SH}"] == "fleets.web"
    assert addresses[f"beta/rds_encryption.{B_SH}"] == "fleets.pay"
    assert [a for a in addresses if a.startswith("beta/ram_")], "beta's RAM role is planned"
    assert not [a for a in addresses if a.startswith("alpha/ram_")]
    assert all(a.startswith(("alpha/", "beta/")) for a in addresses)
    [fleet] = [w for w in whole["warnings"] if w["code"] == "FleetMembersUnencryptable"]
    assert fleet["address"] == "alpha/fleets.web" and fleet["message"].startswith("2 instance")
    assert A_SSD in fleet["message"] and A_SSD_HZ in fleet["message"]
    for field in ("refusals", "warnings", "summary", "spec_digest"):
        assert merged[field] == whole[field], field
    for fmt in ("text", "markdown"):
        shown = run(tmp_path, endpoint, "merge", *files, "--format", fmt)
        unsharded = run(tmp_path, endpoint, "plan", spec, "--format", fmt)
        assert shown.exit_code == 0 and f"beta/rds_encryption.{B_CMK}" in shown.stdout, fmt
        assert f"beta/rds_encryption.{B_CMK}" in unsharded.stdout, fmt


def test_the_owner_shard_keeps_the_accounts_ram_the_cmk_shard_waits_for_it(
    tmp_path: Path, endpoint: str
) -> None:
    files = _shards(tmp_path, endpoint, "plan", _spec(tmp_path, _doc()))
    plans = [json.loads(Path(f).read_text(encoding="utf-8")) for f in files]
    ram = [[c["address"] for c in p["changes"] if "/ram_" in c["address"]] for p in plans]
    assert ram[0] == [] and ram[1] == [] and ram[2], "beta's first unit is cn-beijing (shard 3)"
    [cmk] = [c for c in plans[0]["changes"] if c["address"] == f"beta/rds_encryption.{B_CMK}"]
    assert set(cmk["depends_on"]) <= set(ram[2]) and cmk["depends_on"]


def test_a_shard_assumes_only_the_roles_of_its_accounts(tmp_path: Path, endpoint: str) -> None:
    """alpha's role refuses the base identity: the shard of beta alone plans, the shards that
    hold alpha's units fail naming alpha, and a shard with no unit assumes nothing."""
    spec = _spec(tmp_path, _doc(a_role=CLOSED_ARN.replace(B, A)))
    only_beta = run(tmp_path, endpoint, "plan", spec, "--shard", "3/3", "--format", "json")
    assert only_beta.exit_code == 0, only_beta.output
    planned = {c["address"] for c in json.loads(only_beta.stdout)["changes"]}
    assert planned and all(a.startswith("beta/") for a in planned)
    with_alpha = run(tmp_path, endpoint, "plan", spec, "--shard", "1/3")
    assert with_alpha.exit_code == 1 and "account alpha: cannot assume role" in with_alpha.output
    spec = _spec(tmp_path, _doc(a_role=CLOSED_ARN.replace(B, A), b_role=CLOSED_ARN))
    empty = run(tmp_path, endpoint, "plan", spec, "--shard", "6/6", "--format", "json")
    assert empty.exit_code == 0, empty.output
    doc = json.loads(empty.stdout)
    assert doc["changes"] == [] and doc["shard"]["units"] == []
    assert "Shard 6/6 has no unit: nothing to plan." in empty.stderr


def test_three_drift_shards_of_two_accounts_merged_equal_the_unsharded_report(
    tmp_path: Path, endpoint: str
) -> None:
    spec = _spec(tmp_path, _doc())
    code, whole = _json(tmp_path, endpoint, "drift", spec)
    files = _shards(tmp_path, endpoint, "drift", spec)
    assert _units(files)[2] == ["beta/cn-beijing"]
    merged_run = run(tmp_path, endpoint, "merge", *files, "--format", "json")
    assert merged_run.exit_code == code == 2, merged_run.output
    merged = json.loads(merged_run.stdout)
    for field in ("items", "coverage", "summary", "checked", "ignored", "spec_files"):
        assert merged[field] == whole[field], field
    for field in ("regions_read", "account_id", "regions_scope", "spec_digest", "tool_version"):
        assert merged["run"][field] == whole["run"][field], field
    assert merged["run"]["account_id"] == f"{A},{B}"
    assert set(merged["coverage"]["regions"]) == {
        "alpha/cn-hangzhou",
        "alpha/cn-shanghai",
        "beta/cn-beijing",
        "beta/cn-hangzhou",
        "beta/cn-shanghai",
    }
    kinds = {i["address"]: i["kind"] for i in merged["items"]}
    assert kinds[f"beta/rds_encryption.{B_CMK}"] == "changed"
    for fmt in ("text", "markdown", "junit", "sarif", "html"):
        shown = run(tmp_path, endpoint, "merge", *files, "--format", fmt)
        assert shown.exit_code == 2 and f"rds_encryption.{B_CMK}" in shown.stdout, fmt


def test_drift_shards_need_each_accounts_regions_before_any_read(
    tmp_path: Path, endpoint: str
) -> None:
    """Every shard must deal the same units without reading: an account that declares no
    `regions` (drift would list every region of it) needs --region when sharded."""
    doc = _doc()
    del doc["accounts"]["beta"]["regions"]
    spec = _spec(tmp_path, doc)
    refused = run(tmp_path, endpoint, "drift", "--stats", spec, "--shard", "1/2")
    assert refused.exit_code == 1
    assert "accounts.beta.regions" in refused.output and "--region" in refused.output
    assert "API calls: 0" in refused.output
    given = run(tmp_path, endpoint, "drift", spec, "--shard", "2/2", "--region", BJ)
    assert given.exit_code in (0, 2), given.output


def test_merge_refuses_missing_and_foreign_shards_of_two_accounts(
    tmp_path: Path, endpoint: str
) -> None:
    plans = _shards(tmp_path, endpoint, "plan", _spec(tmp_path, _doc()))
    missing = run(tmp_path, endpoint, "merge", plans[0], plans[2])
    assert missing.exit_code == 1 and "shard 2 of 3 is missing" in missing.output
    other = tmp_path / "other"
    other.mkdir()
    doc = _doc()
    doc["instances"][B_BJ]["encryption"] = {"key": "service"}
    foreign = _shards(other, endpoint, "plan", _spec(other, doc))
    mixed = run(tmp_path, endpoint, "merge", plans[0], foreign[1], plans[2])
    assert mixed.exit_code == 1 and "different spec digests" in mixed.output


def test_a_saved_shard_plan_of_two_accounts_is_not_applied(tmp_path: Path, endpoint: str) -> None:
    spec = _spec(tmp_path, _doc())
    saved = tmp_path / "shard-1.json"
    planned = run(tmp_path, endpoint, "plan", spec, "--shard", "1/3", "-o", str(saved))
    assert planned.exit_code == 0, planned.output
    applied = run(
        tmp_path, endpoint, "apply", "--plan", str(saved), "--auto-approve", "--allow-restart", spec
    )
    assert applied.exit_code == 1 and "shard 1/3" in applied.output
    _code, whole = _json(tmp_path, endpoint, "plan", spec)
    assert f"alpha/rds_encryption.{A_INSTANCE}" in {c["address"] for c in whole["changes"]}


def test_a_shard_reads_its_accounts_at_once_with_one_progress(
    tmp_path: Path, endpoint: str
) -> None:
    """Shard 1 of 3 holds alpha's and beta's cn-hangzhou: both accounts are read at once, as
    the unsharded plan reads them (app/accounts.read_together), so the shard's progress is one
    count of both that never goes back (read one after the other, it counted alpha's reads,
    then started over at beta's), and the shard plans what the unsharded plan does there."""
    from reconciler.app.plan import load
    from reconciler.app.shard import plan_shard
    from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
    from tests.e2e.test_accounts import USER_KEY, USER_SECRET

    loaded = load([_spec(tmp_path, _doc())])
    base = CloudClients(
        CloudSettings(endpoint=endpoint, credentials=StaticCredentials(USER_KEY, USER_SECRET))
    )
    world.admin(endpoint, "POST", "latency", {"ms": 150})  # the progress has moments to show
    seen: list[tuple[int, int]] = []
    plan = plan_shard(loaded, base, 1, N, progress=lambda done, total: seen.append((done, total)))
    assert seen, "the shard shows its progress"
    totals = [total for _done, total in seen]
    assert totals == sorted(totals), f"the progress started over: {seen}"
    done = [d for d, _total in seen]
    assert done == sorted(done), f"the progress went back: {seen}"
    assert seen[-1][0] == seen[-1][1]
    assert f"beta/rds_encryption.{B_CMK}" in {c.address for c in plan.changes}


def test_a_drift_shard_reads_its_accounts_at_once_with_one_progress(
    tmp_path: Path, endpoint: str
) -> None:
    """As a plan shard: drift's shard 1 of 3 (alpha's and beta's cn-hangzhou) reads both
    accounts at once, with one progress that never goes back."""
    from reconciler.app.plan import load
    from reconciler.app.shard import drift_shard
    from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
    from tests.e2e.test_accounts import USER_KEY, USER_SECRET

    loaded = load([_spec(tmp_path, _doc())])
    base = CloudClients(
        CloudSettings(endpoint=endpoint, credentials=StaticCredentials(USER_KEY, USER_SECRET))
    )
    world.admin(endpoint, "POST", "latency", {"ms": 150})
    seen: list[tuple[int, int]] = []
    report = drift_shard(
        loaded, base, 1, N, progress=lambda done, total: seen.append((done, total))
    )
    assert seen and [d for d, _ in seen] == sorted(d for d, _ in seen), seen
    assert [t for _, t in seen] == sorted(t for _, t in seen), seen
    assert sorted(report.coverage.regions) == ["alpha/cn-hangzhou", "beta/cn-hangzhou"]
