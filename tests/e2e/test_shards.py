"""`plan --shard I/N` and `drift --shard I/N` on three shards of a demo-like world spread over
four regions (six for drift), merged with `reconciler merge`, equal one unsharded run: the same
changes (ClientTokens aside: they derive from each plan's own id), refusals, warnings, summary,
drift items and coverage (issue 21 item 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import world
from tests.e2e.conftest import only_reads, run_cli

SPECS = Path(__file__).resolve().parents[2] / "specs"
N = 3


def _spread(endpoint: str, folder: Path) -> Path:
    """The demo spec plus instances in cn-beijing and ap-northeast-1 (4 regions planned), and
    an unmanaged one in cn-shenzhen (drift reads it); the demo's serverless instance is refused."""
    spec = folder / "spec"
    spec.mkdir()
    for path in SPECS.glob("*.yaml"):
        shutil.copy(path, spec / path.name)
    beijing = world.create_instance(endpoint, region="cn-beijing")
    tokyo = world.create_instance(endpoint, region="ap-northeast-1", encryption_key="ServiceKey")
    world.create_instance(endpoint, region="cn-shenzhen")
    (spec / "more.yaml").write_text(
        "instances:\n"
        f"  {beijing}: {{region: cn-beijing, encryption: {{key: service}}}}\n"
        f"  {tokyo}: {{region: ap-northeast-1, encryption: disabled}}\n"
        "  pgm-bp1sls0000000001: {encryption: {key: service}}\n"  # serverless: refused
    )
    return spec


def _json(endpoint: str, *args: str) -> tuple[int, dict[str, Any]]:
    run = run_cli("--endpoint", endpoint, *args, "--format", "json")
    assert run.exit_code in (0, 1, 2), run.stderr
    return run.exit_code, json.loads(run.stdout)


def _shards(endpoint: str, command: str, spec: Path, out: Path) -> list[str]:
    files = []
    for index in range(1, N + 1):
        _code, doc = _json(endpoint, command, str(spec), "--shard", f"{index}/{N}")
        assert doc["shard"]["index"] == index and doc["shard"]["count"] == N
        path = out / f"{command}-{index}.json"
        path.write_text(json.dumps(doc))
        files.append(str(path))
    return files


def _tokenless(change: dict[str, Any]) -> dict[str, Any]:
    """The change without its ClientTokens, and for RAM without its reason: the owner shard's
    RAM reason names only its own shard's TDE instances (reconciler/shard.py)."""
    for op in change["operations"]:
        op["params"].pop("ClientToken", None)
    if change["region"] is None:
        change.pop("reason")
    return change


@pytest.fixture
def spread(demo, tmp_path: Path) -> tuple[str, Path]:  # type: ignore[no-untyped-def]
    return demo.endpoint, _spread(demo.endpoint, tmp_path)


def test_three_plan_shards_merged_equal_the_unsharded_plan(spread, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint, spec = spread
    code, whole = _json(endpoint, "plan", str(spec))
    files = _shards(endpoint, "plan", spec, tmp_path)
    units = [json.loads(Path(f).read_text())["shard"]["units"] for f in files]
    regions = [[u["region"] for u in one] for one in units]
    assert regions == [["ap-northeast-1", "cn-shanghai"], ["cn-beijing"], ["cn-hangzhou"]]
    merged_run = run_cli("merge", *files, "--format", "json")
    merged = json.loads(merged_run.stdout)
    assert merged_run.exit_code == code == 1  # the demo refuses serverless and SSD instances
    by_address = {c["address"]: _tokenless(c) for c in whole["changes"]}
    assert {c["address"]: _tokenless(c) for c in merged["changes"]} == by_address
    order = [c["address"] for c in merged["changes"]]
    assert order == [c["address"] for c in whole["changes"]]  # the unsharded apply order
    assert any(a.startswith("ram_") for a in by_address)  # RAM is planned, by one shard
    for field in ("refusals", "warnings", "summary", "spec_digest"):
        assert merged[field] == whole[field], field
    assert "shard" not in merged and "shard" not in whole


def test_merge_renders_text_and_markdown_and_the_detailed_exit_code(spread, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint, spec = spread
    files = _shards(endpoint, "plan", spec, tmp_path)
    text = run_cli("merge", *files)
    assert "rds_encryption.pgm-uf6ded0000000001" in text.stdout
    md = run_cli("merge", *files, "--format", "markdown", "-o", str(tmp_path / "m.md"))
    assert md.exit_code == 1 and (tmp_path / "m.md").read_text() == md.stdout
    sarif = run_cli("merge", *files, "--format", "sarif")
    assert sarif.exit_code == 1 and "a plan is printed as text, json, markdown" in sarif.stderr


def test_three_drift_shards_merged_equal_the_unsharded_report(spread, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint, spec = spread
    code, whole = _json(endpoint, "drift", str(spec))
    files = _shards(endpoint, "drift", spec, tmp_path)
    merged_run = run_cli("merge", *files, "--format", "json")
    assert merged_run.exit_code == code == 2
    merged = json.loads(merged_run.stdout)
    for field in ("items", "coverage", "summary", "checked", "ignored", "spec_files"):
        assert merged[field] == whole[field], field
    assert merged["coverage"]["regions"]["cn-shenzhen"]["not_encrypted"] == 1
    run, one = merged["run"], whole["run"]
    for field in ("regions_read", "account_id", "regions_scope", "spec_digest", "tool_version"):
        assert run[field] == one[field], field
    sarif = run_cli("merge", *files, "-o", str(tmp_path / "d.sarif"))
    assert sarif.exit_code == 2
    assert json.loads((tmp_path / "d.sarif").read_text())["runs"][0]["results"]


def test_missing_duplicate_mixed_and_foreign_shards_are_refused(spread, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint, spec = spread
    plans = _shards(endpoint, "plan", spec, tmp_path)
    missing = run_cli("merge", plans[0], plans[2])
    assert missing.exit_code == 1 and "shard 2 of 3 is missing" in missing.stderr
    twice = run_cli("merge", plans[0], plans[1], plans[1], plans[2])
    assert twice.exit_code == 1 and "shard 2/3 is given twice" in twice.stderr
    drift = _shards(endpoint, "drift", spec, tmp_path)
    mixed = run_cli("merge", plans[0], plans[1], drift[2])
    assert mixed.exit_code == 1 and "mix plans and drift reports" in mixed.stderr
    foreign = json.loads(Path(plans[1]).read_text())
    foreign["spec_digest"] = "0" * 64
    Path(plans[1]).write_text(json.dumps(foreign))
    other = run_cli("merge", *plans)
    assert other.exit_code == 1 and "different spec digests" in other.stderr
    unsharded = tmp_path / "whole.json"
    unsharded.write_text(json.dumps(_json(endpoint, "plan", str(spec))[1]))
    plain = run_cli("merge", str(unsharded))
    assert plain.exit_code == 1 and "not a shard" in plain.stderr


def test_a_shard_without_units_plans_nothing(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, doc = _json(demo.endpoint, "plan", str(SPECS), "--shard", "3/3")
    run = run_cli("--endpoint", demo.endpoint, "plan", str(SPECS), "--shard", "3/3")
    assert code == 0 and doc["changes"] == [] and doc["shard"]["units"] == []
    assert "Shard 3/3 has no unit: nothing to plan." in run.stderr
    bad = run_cli("--endpoint", demo.endpoint, "plan", str(SPECS), "--shard", "4/3")
    assert bad.exit_code == 1 and "I must be between 1 and N" in bad.stderr


def test_a_saved_shard_plan_is_not_applied_and_apply_says_why(spread, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """apply plans the whole spec afresh, so a shard's plan would look stale for every other
    shard's change: it is refused up front, naming the shard, before any write."""
    endpoint, spec = spread
    saved = tmp_path / "shard-2.json"
    run = run_cli("--endpoint", endpoint, "plan", str(spec), "--shard", "2/3", "-o", str(saved))
    assert run.exit_code == 0, run.stderr
    assert json.loads(saved.read_text())["changes"], "shard 2 has changes to apply"
    world.reset_calls(endpoint)
    applied = run_cli(
        "--endpoint", endpoint, "apply", str(spec), "--plan", str(saved), "--auto-approve",
        "--allow-restart", "--allow-irreversible",
    )  # fmt: skip
    assert applied.exit_code == 1
    assert "shard 2/3" in applied.stdout + applied.stderr
    assert only_reads(world.calls(endpoint)) == []


def _tag(endpoint: str, region: str, instance_id: str) -> None:
    from alibabacloud_rds20140815 import models

    world.rds(endpoint, region).tag_resources(
        models.TagResourcesRequest(
            region_id=region,
            resource_type="INSTANCE",
            resource_id=[instance_id],
            tag=[models.TagResourcesRequestTag(key="env", value="prod")],
        )
    )


def test_a_fleet_over_two_shards_regions_merged_equals_the_unsharded_plan(
    spread, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Each shard selects in its own regions only (the fleet was planned whole in every
    shard: the merge refused the overlap), and the fleet's one warning names the instances it
    leaves out in both shards (the demo's SSD one in cn-hangzhou, tagged here, and a new one
    in cn-beijing)."""
    endpoint, spec = spread
    member = world.create_instance(endpoint, region="cn-beijing")
    ssd = world.create_instance(endpoint, region="cn-beijing", storage_type="cloud_ssd")
    for instance_id in (member, ssd):
        _tag(endpoint, "cn-beijing", instance_id)
    _tag(endpoint, "cn-hangzhou", "pgm-bp1ssd0000000001")
    (spec / "fleet.yaml").write_text(
        "fleets:\n  prod:\n    select: {regions: [cn-hangzhou, cn-beijing], tags: {env: prod}}\n"
        "    encryption: {key: service}\n"
    )
    code, whole = _json(endpoint, "plan", str(spec))
    files = _shards(endpoint, "plan", spec, tmp_path)
    merged_run = run_cli("merge", *files, "--format", "json")
    assert merged_run.exit_code == code, merged_run.stderr
    merged = json.loads(merged_run.stdout)
    assert {c["address"]: c.get("via") for c in merged["changes"]}[
        f"rds_encryption.{member}"
    ] == "fleets.prod"
    [left_out] = [w for w in merged["warnings"] if w["address"] == "fleets.prod"]
    assert left_out["message"].startswith("2 instance(s)"), left_out
    assert ssd in left_out["message"] and "pgm-bp1ssd0000000001" in left_out["message"]
    by_address = {c["address"]: _tokenless(c) for c in whole["changes"]}
    assert {c["address"]: _tokenless(c) for c in merged["changes"]} == by_address
    for field in ("refusals", "warnings", "summary"):
        assert merged[field] == whole[field], field
