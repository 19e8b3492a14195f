"""`reconciler import --accounts FILE` (issue 21, item 2): import of several accounts, each read
with its own credentials (its role assumed with the base credentials, as plan does), into one
spec folder with the `accounts:` block, `account:` on every entry and files per account and
region, that plans empty (README, "Import of several accounts"). Against the two-account emulator
world of tests/e2e/test_accounts.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.e2e import test_accounts
from tests.e2e.test_accounts import A_ROLE, run
from tests.emulator.accounts_world import A_INSTANCE, B_INSTANCE, CLOSED_ARN, ROLE_ARN, A, B

HZ = "cn-hangzhou"
endpoint = test_accounts.endpoint
"""The two-account emulator (a fixture)."""


def _import(tmp_path: Path, endpoint: str, *args: str):  # type: ignore[no-untyped-def]
    return run(tmp_path, endpoint, "import", *args)


def _accounts_file(tmp_path: Path, b_role: str = ROLE_ARN, **more: Any) -> str:
    doc = {
        "version": 1,
        "accounts": {
            "alpha": {"role_arn": A_ROLE, "regions": [HZ]},
            "beta": {"role_arn": b_role, "regions": [HZ], **more},
        },
    }
    path = tmp_path / "accounts.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return str(path)


def _merged(out: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(out.glob("*.yaml")):
        for key, value in (yaml.safe_load(path.read_text()) or {}).items():
            if isinstance(value, dict) and key not in ("defaults",):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    return merged


def test_two_accounts_import_into_one_spec_that_plans_empty(tmp_path: Path, endpoint: str) -> None:
    out = tmp_path / "imported"
    result = run(
        tmp_path, endpoint, "import", "--accounts", _accounts_file(tmp_path), "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.glob("*.yaml"))
    assert names == ["00-defaults.yaml", "alpha.cn-hangzhou.yaml", "beta.cn-hangzhou.yaml"]
    spec = _merged(out)
    # the accounts as given, with the id each account's credentials landed in
    assert spec["accounts"] == {
        "alpha": {"role_arn": A_ROLE, "regions": [HZ], "account_id": A},
        "beta": {"role_arn": ROLE_ARN, "regions": [HZ], "account_id": B},
    }
    assert spec["instances"][A_INSTANCE]["account"] == "alpha"
    assert spec["instances"][B_INSTANCE]["account"] == "beta"
    assert "account" not in spec["defaults"]
    head = (out / "00-defaults.yaml").read_text()
    assert "accounts alpha, beta" in head
    assert "plans no changes" in head
    plan = run(tmp_path, endpoint, "plan", str(out), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.output


def test_account_narrows_the_import_to_the_named_accounts(tmp_path: Path, endpoint: str) -> None:
    out = tmp_path / "imported"
    file = _accounts_file(tmp_path)
    result = run(
        tmp_path, endpoint, "import", "--accounts", file, "--account", "beta", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    spec = _merged(out)
    assert list(spec["accounts"]) == ["beta"]
    assert list(spec["instances"]) == [B_INSTANCE]
    # one account: addresses and files as without accounts, but every entry names it
    assert spec["instances"][B_INSTANCE]["account"] == "beta"
    plan = run(tmp_path, endpoint, "plan", str(out), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_an_unknown_account_is_an_error_and_nothing_is_written(
    tmp_path: Path, endpoint: str
) -> None:
    out = tmp_path / "imported"
    file = _accounts_file(tmp_path)
    result = run(
        tmp_path, endpoint, "import", "--accounts", file, "--account", "gama", "-o", str(out)
    )
    assert result.exit_code == 1, result.output
    assert "--account gama: not declared in" in result.output
    assert "alpha, beta" in result.output
    assert not out.exists()


def test_a_role_that_cannot_be_assumed_stops_and_writes_nothing(
    tmp_path: Path, endpoint: str
) -> None:
    out = tmp_path / "imported"
    file = _accounts_file(tmp_path, b_role=CLOSED_ARN)
    result = _import(tmp_path, endpoint, "--accounts", file, "-o", str(out))
    assert result.exit_code == 1, result.output
    assert "account beta: cannot assume role " + CLOSED_ARN in result.output
    assert not out.exists() or not list(out.glob("*.yaml"))


def test_an_account_id_that_is_not_where_the_role_leads_writes_nothing(
    tmp_path: Path,
    endpoint: str,
) -> None:
    out = tmp_path / "imported"
    file = _accounts_file(tmp_path, account_id=A)
    result = _import(tmp_path, endpoint, "--accounts", file, "-o", str(out))
    assert result.exit_code == 1, result.output
    assert f"account beta: the credentials act in account {B}" in result.output
    assert not out.exists() or not list(out.glob("*.yaml"))


def test_a_file_without_accounts_is_an_error(tmp_path: Path, endpoint: str) -> None:
    path = tmp_path / "none.yaml"
    path.write_text("version: 1\n", encoding="utf-8")
    out = tmp_path / "imported"
    result = _import(tmp_path, endpoint, "--accounts", str(path), "-o", str(out))
    assert result.exit_code == 1, result.output
    assert "declares no accounts" in result.output
    assert not out.exists()


def test_account_without_accounts_is_an_error(tmp_path: Path, endpoint: str) -> None:
    result = _import(tmp_path, endpoint, "--account", "beta")
    assert result.exit_code == 1, result.output
    assert "--account needs --accounts" in result.output
