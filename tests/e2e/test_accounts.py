"""Several accounts through the CLI (README, "Several accounts"), against an emulator seeded
with two accounts (tests/emulator/accounts_world.py): the base credentials are a RAM user of
account A that assumes a role in A and one in B (alibabacloud-credentials' RamRoleArn
provider pointed at the emulator's STS), each account planned with its own clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.emulator.accounts_world import (
    A_INSTANCE,
    B_INSTANCE,
    CLOSED_ARN,
    ROLE_ARN,
    USER_KEY,
    USER_SECRET,
    A,
    B,
    world,
)

A_ROLE = f"acs:ram::{A}:role/reconciler"


def _two_account_world() -> dict[str, Any]:
    """accounts_world's, with a role in A too (trusting A) and both roles able to read RAM
    and KMS as a plan does, and to write RDS as apply does."""
    seed = world()
    trust = {
        "Version": "1",
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"RAM": [f"acs:ram::{A}:root"]},
            }
        ],
    }
    seed["ram"]["roles"].append({"name": "reconciler", "trust": trust})
    for roles in (seed["ram"]["roles"], seed["accounts"][B]["ram"]["roles"]):
        for role in roles:
            if role["name"] == "reconciler":
                role["policies"] = ["AdministratorAccess"]
    return seed


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(_two_account_world()), encoding="utf-8")
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        yield emu.endpoint


def _spec(tmp_path: Path, doc: dict[str, Any]) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"version": 1, **doc}, sort_keys=False), encoding="utf-8")
    return str(path)


def two_accounts(b_role: str = ROLE_ARN, **b_extra: Any) -> dict[str, Any]:
    return {
        "accounts": {
            "alpha": {"role_arn": A_ROLE, "account_id": A},
            "beta": {"role_arn": b_role, **b_extra},
        },
        "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
        "instances": {
            A_INSTANCE: {"account": "alpha", "encryption": {"key": "service"}},
            B_INSTANCE: {"account": "beta", "encryption": {"key": "service"}},
        },
    }


def run(tmp_path: Path, endpoint: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--endpoint", endpoint, *args], env=base_env(tmp_path))


def base_env(tmp_path: Path) -> dict[str, str | None]:
    """The base credentials (account A's RAM user) and nothing else of the caller's: None
    unsets a variable."""
    return {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": USER_KEY,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": USER_SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": None,
        "ALIBABA_CLOUD_PROFILE": None,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
        "ALIBABA_CLOUD_CREDENTIALS_FILE": str(tmp_path / "none.ini"),
        "RECONCILER_STATE_HOME": str(tmp_path / "state"),
        "HOME": str(tmp_path),
        "USER": "alice",
        "GITHUB_ACTOR": None,
        "GITHUB_RUN_ID": None,
        "GITLAB_USER_LOGIN": None,
        "CI_JOB_ID": None,
        "CI": "1",
    }


def _plan(tmp_path: Path, endpoint: str, spec: str) -> dict[str, Any]:
    result = run(tmp_path, endpoint, "plan", "--format", "json", spec)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_plan_of_two_accounts_shows_both_with_the_account_in_each_address(
    tmp_path: Path, endpoint: str
) -> None:
    plan = _plan(tmp_path, endpoint, _spec(tmp_path, two_accounts()))
    addresses = [change["address"] for change in plan["changes"]]
    assert addresses == [
        f"alpha/rds_encryption.{A_INSTANCE}",
        f"beta/rds_encryption.{B_INSTANCE}",
    ]
    assert plan["summary"]["update"] == 2
    text = run(tmp_path, endpoint, "plan", _spec(tmp_path, two_accounts()))
    assert f"beta/rds_encryption.{B_INSTANCE}" in text.output


def test_a_plan_of_two_accounts_carries_the_whole_specs_digest(
    tmp_path: Path, endpoint: str
) -> None:
    """The accounts' own plans are made without a digest (only the joined plan's is ever
    checked): the joined plan still carries the whole spec's, never an account's or none."""
    from reconciler.app.accounts import account_loaded
    from reconciler.app.plan import load
    from reconciler.plan.digest import spec_digest

    spec = _spec(tmp_path, two_accounts())
    loaded = load([spec])
    plan = _plan(tmp_path, endpoint, spec)
    assert plan["spec_digest"] == spec_digest(loaded.spec)
    assert plan["spec_digest"] not in {
        spec_digest(account_loaded(loaded, name).spec) for name in ("alpha", "beta")
    }


def test_apply_of_two_accounts_then_the_plan_is_empty(tmp_path: Path, endpoint: str) -> None:
    spec = _spec(tmp_path, two_accounts())
    applied = run(tmp_path, endpoint, "apply", "--auto-approve", "--allow-restart", spec)
    assert applied.exit_code == 0, applied.output
    assert f"beta/rds_encryption.{B_INSTANCE}" in applied.output
    assert _plan(tmp_path, endpoint, spec)["changes"] == []


def test_apply_reads_both_accounts_at_once_once_both_are_locked(
    tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As plan does (state/observe.observe_accounts): one reading of both accounts, not one
    account after the other, and begun only once every lock of both is held (nothing read
    before a lock may be used for a write)."""
    import fcntl

    import reconciler.state.observe as observe_module

    readings: list[tuple[list[str], dict[str, bool]]] = []
    real = observe_module.observe_accounts

    def held(path: Path) -> bool:
        with path.open("a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False

    def recording(reads: Any, **kw: Any) -> Any:
        locks = {p.name: held(p) for p in sorted((tmp_path / "state").glob("apply-*.lock"))}
        readings.append((sorted(reads), locks))
        return real(reads, **kw)

    monkeypatch.setattr(observe_module, "observe_accounts", recording)
    spec = _spec(tmp_path, two_accounts())
    applied = run(tmp_path, endpoint, "apply", "--auto-approve", "--allow-restart", spec)
    assert applied.exit_code == 0, applied.output
    assert [names for names, _locks in readings] == [["alpha", "beta"]], "one reading of both"
    [(_names, locks)] = readings
    assert any(A in name for name in locks) and any(B in name for name in locks), locks
    assert all(locks.values()), f"a lock was not yet held when the reading began: {locks}"


def test_apply_of_a_saved_plan_of_two_accounts(tmp_path: Path, endpoint: str) -> None:
    spec = _spec(tmp_path, two_accounts())
    saved = str(tmp_path / "plan.json")
    planned = run(tmp_path, endpoint, "plan", "-o", saved, spec)
    assert planned.exit_code == 0, planned.output
    applied = run(
        tmp_path, endpoint, "apply", "--plan", saved, "--auto-approve", "--allow-restart", spec
    )
    assert applied.exit_code == 0, applied.output
    assert _plan(tmp_path, endpoint, spec)["changes"] == []


def test_a_role_whose_trust_policy_refuses_is_a_clear_error_and_nothing_is_read(
    tmp_path: Path, endpoint: str
) -> None:
    result = run(tmp_path, endpoint, "plan", _spec(tmp_path, two_accounts(b_role=CLOSED_ARN)))
    assert result.exit_code == 1
    assert "account beta: cannot assume role " + CLOSED_ARN in result.output
    assert "NoPermission" in result.output
    assert "reconciler permissions --account beta" in result.output
    assert "pgm-" not in result.output  # no plan: nothing of either account was shown


def test_an_account_id_that_is_not_where_the_role_leads_stops_before_reading(
    tmp_path: Path, endpoint: str
) -> None:
    spec = _spec(tmp_path, two_accounts(account_id="3334567890123456"))
    result = run(tmp_path, endpoint, "plan", "--stats", spec)
    assert result.exit_code == 1
    assert f"account beta: the credentials act in account {B}" in result.output
    assert "accounts.beta.account_id is 3334567890123456" in result.output
    assert "DescribeDBInstances" not in result.output  # no instance was read


def test_accounts_are_connected_at_once_and_the_first_failure_in_the_spec_is_told(
    tmp_path: Path, endpoint: str
) -> None:
    """Both roles refuse: the accounts are connected at once (app/accounts.connect_accounts),
    and the error is alpha's, the first in the spec, every time, not whichever answered
    first; nothing is read or shown."""
    doc = two_accounts(b_role=CLOSED_ARN)
    doc["accounts"]["alpha"]["role_arn"] = f"acs:ram::{A}:role/closed"
    spec = _spec(tmp_path, doc)
    for _ in range(3):
        result = run(tmp_path, endpoint, "plan", spec)
        assert result.exit_code == 1, result.output
        assert "account alpha: cannot assume role" in result.output
        assert "account beta" not in result.output
        assert "pgm-" not in result.output


def test_a_single_declared_account_keeps_addresses_without_a_prefix(
    tmp_path: Path, endpoint: str
) -> None:
    doc = {
        "accounts": {"beta": {"role_arn": ROLE_ARN, "account_id": B}},
        "instances": {B_INSTANCE: {"encryption": {"key": "service"}}},
    }
    plan = _plan(tmp_path, endpoint, _spec(tmp_path, doc))
    assert [c["address"] for c in plan["changes"]] == [f"rds_encryption.{B_INSTANCE}"]


def test_the_session_name_says_who_ran_it() -> None:
    from reconciler.cloud.assume import session_name

    assert session_name({"USER": "x", "GITHUB_ACTOR": "octo cat", "GITHUB_RUN_ID": "42"}) == (
        "reconciler-octo-cat-42"
    )
    assert session_name({"GITLAB_USER_LOGIN": "a" * 80}) == ("reconciler-" + "a" * 80)[:64]


def test_permissions_of_an_account_print_its_policy_and_the_trust_it_needs(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path, two_accounts())
    result = CliRunner().invoke(
        cli, ["permissions", "--account", "beta", "--mode", "plan", "--principal", A, spec]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert list(document) == ["beta"]
    assert document["beta"]["role_arn"] == ROLE_ARN
    assert "rds:DescribeDBInstances" in json.dumps(document["beta"]["policy"])
    [statement] = document["beta"]["trust_policy"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"RAM": [f"acs:ram::{A}:root"]},
    }
    unknown = CliRunner().invoke(cli, ["permissions", "--account", "bet", "--principal", A, spec])
    assert unknown.exit_code == 1 and "did you mean beta?" in unknown.output


def test_the_printed_trust_policy_lets_the_base_identity_assume_the_role(
    tmp_path: Path,
) -> None:
    """A role of account B whose trust policy is the one `permissions --account` prints (and
    nothing else) is assumed by the base identity, a RAM user of account A."""
    role_arn = f"acs:ram::{B}:role/printed"
    spec = _spec(tmp_path, two_accounts(b_role=role_arn))
    printed = CliRunner().invoke(
        cli, ["permissions", "--account", "beta", "--mode", "plan", "--principal", A, spec]
    )
    trust = json.loads(printed.output)["beta"]["trust_policy"]
    seed = _two_account_world()
    role = {"name": "printed", "trust": trust, "policies": ["AdministratorAccess"]}
    seed["accounts"][B]["ram"]["roles"].append(role)
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed), encoding="utf-8")
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(path)) as emu:
        result = run(tmp_path, emu.endpoint, "plan", spec)
    assert result.exit_code == 0, result.output
    assert f"beta/rds_encryption.{B_INSTANCE}" in result.output


def test_each_account_has_its_own_rate_limits(tmp_path: Path, endpoint: str) -> None:
    """API quotas are an account's own: two accounts read in one process do not wait for each
    other's tokens (a 1 QPS read, kms:DescribeAccountKmsStatus, would add a second per account),
    and each keeps the limits the run declared (--rate-limit)."""
    from reconciler.app.accounts import connect_accounts
    from reconciler.app.plan import load
    from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
    from reconciler.cloud.ratelimit import RateLimiter

    limits = {"kms:DescribeAccountKmsStatus": 1.0, "rds:DescribeDBInstances": 7.0}
    base = CloudClients(
        CloudSettings(endpoint=endpoint, credentials=StaticCredentials(USER_KEY, USER_SECRET)),
        limiter=RateLimiter(limits=limits),
    )
    loaded = load([_spec(tmp_path, two_accounts())])
    parts = connect_accounts(loaded, base)
    limiters = [part.clients.limiter for part in parts]
    assert len({id(limiter) for limiter in [base.limiter, *limiters]}) == 3
    assert all(limiter.limits == limits for limiter in limiters)
    assert all(part.clients.counter is base.counter for part in parts)  # one count of calls
