"""`make demo-fleet` (README, "A company fleet"): two accounts x four regions selected by tags,
on the emulator's company-fleet world with the real SDK. The script is run whole once (its exit
code and the lines a user reads); the steps are checked in JSON through the CLI in-process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator

REPO = Path(__file__).resolve().parents[2]
SPEC = str(REPO / "specs" / "examples" / "company-fleet")
SCRIPT = REPO / "scripts" / "demo-fleet.sh"
PAY, RETAIL = "fleets.payments-prod", "fleets.retail-prod"
FIRST_CHANGES = {
    "payments/rds_encryption.pgm-2zepay0000000001": PAY,
    "payments/rds_encryption.pgm-bp1pay0000000001": PAY,
    "payments/rds_encryption.pgm-uf6pay0000000001": PAY,
    "payments/rds_encryption.pgm-wz9pay0000000001": PAY,
    "retail/rds_encryption.pgm-2zeret0000000002": RETAIL,
    "retail/rds_encryption.pgm-bp1ret0000000001": RETAIL,
    "retail/rds_encryption.pgm-uf6ret0000000001": RETAIL,
    "retail/rds_encryption.pgm-wz9ret0000000001": RETAIL,
}
"""Every env=prod instance without encryption, in both accounts and all four regions, except
pgm-2zeret0000000001, which the spec lists explicitly with `encryption: disabled`."""


def _new_instance_module() -> Any:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        return __import__("demo-fleet-new-instance")
    finally:
        sys.path.remove(str(REPO / "scripts"))


@pytest.fixture
def endpoint() -> Iterator[str]:
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed="company-fleet") as emu:
        yield emu.endpoint


def run(tmp_path: Path, endpoint: str, *args: str, key: str = "fleet-deployer") -> Result:
    """The CLI as the script runs it: the RAM user that may only assume the accounts' roles."""
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": f"{key}-key",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": f"{key}-secret",
        "ALIBABA_CLOUD_SECURITY_TOKEN": None,
        "ALIBABA_CLOUD_PROFILE": None,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
        "ALIBABA_CLOUD_CREDENTIALS_FILE": str(tmp_path / "none.ini"),
        "RECONCILER_STATE_HOME": str(tmp_path / "state"),
        "CI": "1",
    }
    return CliRunner().invoke(cli, ["--endpoint", endpoint, *args], env=env)


def plan(tmp_path: Path, endpoint: str, spec: str = SPEC) -> dict[str, Any]:
    result = run(tmp_path, endpoint, "plan", "--format", "json", spec)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def changes(doc: dict[str, Any]) -> dict[str, str | None]:
    return {c["address"]: c.get("via") for c in doc["changes"]}


def unencryptable(doc: dict[str, Any]) -> dict[str, str]:
    """FleetMembersUnencryptable warnings: the fleet's address -> their message."""
    found = [w for w in doc["warnings"] if w["code"] == "FleetMembersUnencryptable"]
    return {w["address"]: w["message"] for w in found}


def test_the_first_plan_selects_by_tags_in_both_accounts_and_four_regions(
    tmp_path: Path, endpoint: str
) -> None:
    doc = plan(tmp_path, endpoint)
    assert changes(doc) == FIRST_CHANGES
    in_each = {(c["address"].split("/")[0], c["region"]) for c in doc["changes"]}
    assert len(in_each) == 8  # one change in each account-region
    assert doc["refusals"] == []
    warned = unencryptable(doc)
    assert sorted(warned) == ["payments/fleets.payments-prod", "retail/fleets.retail-prod"]
    assert "pgm-bp1paysls0000001" in warned["payments/fleets.payments-prod"]
    assert "pgm-wz9retssd0000001" in warned["retail/fleets.retail-prod"]


def test_apply_then_the_plan_is_empty_and_a_new_tagged_instance_is_in_the_next_plan(
    tmp_path: Path, endpoint: str
) -> None:
    applied = run(tmp_path, endpoint, "apply", SPEC, "--auto-approve", "--allow-restart")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete! 8 changed, 0 scheduled." in applied.output
    assert changes(plan(tmp_path, endpoint)) == {}
    created = _new_instance_module().create_tagged_instance(endpoint)
    assert changes(plan(tmp_path, endpoint)) == {f"retail/rds_encryption.{created}": RETAIL}


@pytest.mark.parametrize(
    ("processes", "workers"), [("4", {"payments": 2, "retail": 2}), ("3", {"payments": 2})]
)
def test_both_accounts_apply_at_once_sharing_the_worker_processes(
    tmp_path: Path,
    endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    processes: str,
    workers: dict[str, int],
) -> None:
    """`--processes N`: both accounts at once, sharing one stop flag and the N worker
    processes (app/apply_accounts.py): memory stays one account's however many a spec
    declares. An account left one process applies in this one. Every change is made once."""
    monkeypatch.chdir(tmp_path)
    applied = run(
        tmp_path,
        endpoint,
        "--processes",
        processes,
        "apply",
        SPEC,
        "--auto-approve",
        "--allow-restart",
    )
    assert applied.exit_code == 0, applied.output
    said = re.findall(r"Account (\w+): applying 4 regions' changes in (\d+) worker", applied.output)
    assert {account: int(count) for account, count in said} == workers
    assert "Apply complete! 8 changed, 0 scheduled." in applied.output
    assert changes(plan(tmp_path, endpoint)) == {}
    journal = (tmp_path / ".reconciler" / "journal.jsonl").read_text(encoding="utf-8")
    writes = [json.loads(line) for line in journal.splitlines() if '"before"' in line]
    assert sorted(e["address"] for e in writes) == sorted(FIRST_CHANGES)


def test_a_new_instance_without_the_fleet_tag_is_left_alone(
    tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _new_instance_module()
    monkeypatch.setattr(module, "TAGS", {"env": "staging", "team": "search"})
    created = module.create_tagged_instance(endpoint)
    assert f"retail/rds_encryption.{created}" not in changes(plan(tmp_path, endpoint))


def test_the_base_user_alone_reads_nothing(tmp_path: Path, endpoint: str) -> None:
    """The demo's base credentials may only assume roles: a spec without `accounts:` (read
    with them directly) stops at the first read instead of planning an empty fleet."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\ndefaults: {region: cn-hangzhou}\n"
        "fleets:\n  prod: {select: {tags: {env: prod}}, encryption: {key: service}}\n",
        encoding="utf-8",
    )
    result = run(tmp_path, endpoint, "plan", str(spec))
    assert result.exit_code == 1, result.output
    assert "reading the fleets' instances failed" in result.output
    assert "user/fleet-deployer is not authorized to perform: rds:DescribeDBInstances" in (
        result.output
    )


def test_make_demo_fleet_plans_applies_replans_empty_and_covers_a_new_instance(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DEMO_FLEET_REPORT_DIR": str(tmp_path), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    first, _, rest = out.partition("== reconciler apply")
    assert "Plan: 0 to create, 8 to update, 0 to delete; 8 restart(s), 0 refused" in first
    for address, via in FIRST_CHANGES.items():
        assert f"{address} (via {via})" in first
    applied, _, rest = rest.partition("(after apply: no changes, exit 0)")
    assert "Apply complete! 8 changed, 0 scheduled." in applied
    replan, _, rest = rest.partition("== a team creates")
    assert "No changes. The cloud matches the spec." in replan
    assert "-- exit code 0" in replan
    assert "the 4 shards merged equal the unsharded plan: 0 change(s)" in replan
    created = re.search(r"^created (pgm-\w+) ", rest, re.M)
    assert created, rest
    after, _, drift = rest.partition("== reconciler drift")
    assert f"retail/rds_encryption.{created.group(1)} (via fleets.retail-prod)" in after
    assert "Plan: 0 to create, 1 to update, 0 to delete; 1 restart(s), 0 refused" in after
    assert "the 4 shards merged equal the unsharded plan: 1 change(s)" in after
    assert f"HIGH     changed   retail/rds_encryption.{created.group(1)}" in drift
    assert drift.rstrip().endswith("-- exit code 2")
    assert (tmp_path / "fleet-drift-report.html").is_file()
    assert not list(tmp_path.glob("reconciler-demo-fleet.*"))  # its work folder is removed


def _checkout_copy(tmp_path: Path, reconciler: str | None) -> Path:
    """The script, the spec and the new-instance helper in a checkout of their own, whose
    `.venv/bin/reconciler` is `reconciler` (a bash script body) or absent."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    for name in ("demo-fleet.sh", "demo-fleet-new-instance.py", "demo-fleet-compare.py"):
        (root / "scripts" / name).write_bytes((REPO / "scripts" / name).read_bytes())
    (root / "specs" / "examples").mkdir(parents=True)
    (root / "specs" / "examples" / "company-fleet").symlink_to(SPEC)
    if reconciler is not None:
        bin_dir = root / ".venv" / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "python").symlink_to(REPO / ".venv" / "bin" / "python")
        wrapper = bin_dir / "reconciler"
        wrapper.write_text(f"#!/usr/bin/env bash\n{reconciler}\n", encoding="utf-8")
        wrapper.chmod(0o755)
    return root


def _run_script(root: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEMO_FLEET_REPORT_DIR": str(tmp_path), "TMPDIR": str(tmp_path)}
    script = root / "scripts" / "demo-fleet.sh"
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)


def test_the_script_fails_when_the_plan_after_apply_is_not_empty(tmp_path: Path) -> None:
    # an apply that changes nothing yet exits 0: the replan still has the eight changes
    real = REPO / ".venv" / "bin" / "reconciler"
    body = f'for a in "$@"; do [ "$a" = apply ] && exit 0; done\nexec "{real}" "$@"'
    done = _run_script(_checkout_copy(tmp_path, body), tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "demo-fleet: expected exit 0 from 'reconciler plan" in done.stderr
    assert "got 2" in done.stderr
    assert "== a team creates" not in done.stdout  # it stopped at the failed step


def test_the_script_without_a_venv_says_to_run_make(tmp_path: Path) -> None:
    done = _run_script(_checkout_copy(tmp_path, None), tmp_path)
    assert done.returncode == 1
    assert "run make demo-fleet (it creates .venv/ first)" in done.stderr


def test_the_demo_fails_when_the_merged_shards_differ(tmp_path: Path) -> None:
    """The comparison the demo runs can fail: a change missing from the merge is named."""
    change = {"address": "a", "operations": [{"params": {"ClientToken": "x", "DBInstanceId": "a"}}]}
    whole = {"changes": [change], "refusals": [], "warnings": [], "summary": {}, "spec_digest": "d"}
    merged = {**whole, "changes": []}
    files = []
    for name, doc in (("whole", whole), ("merged", merged)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(doc), encoding="utf-8")
    script = REPO / "scripts" / "demo-fleet-compare.py"
    done = subprocess.run(
        [sys.executable, str(script), *map(str, files)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "differ from the unsharded plan in: changes" in done.stdout
    same = subprocess.run(
        [sys.executable, str(script), str(files[0]), str(files[0])], capture_output=True, text=True
    )
    assert same.returncode == 0 and "1 change(s)" in same.stdout
