"""The spec's `accounts:` checked at file:line (README, "Several accounts")."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec.accounts import account_spec
from reconciler.spec.loader import load_spec

HEAD = """version: 1
accounts:
  prod: {role_arn: "acs:ram::2234567890123456:role/reconciler", account_id: "2234567890123456"}
  staging: {profile: staging}
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec([path])
    return [f"{d.line}: {d.message}" for d in caught.value.diagnostics]


def test_an_unknown_account_name_is_refused_with_a_did_you_mean(tmp_path: Path) -> None:
    text = HEAD + "instances:\n  pgm-bp1aaaa000000001: {account: prd, encryption: {key: service}}\n"
    assert _problems(tmp_path, text) == [
        "6: account `prd` is not declared in accounts: did you mean `prod`?"
    ]


def test_a_role_arn_that_is_not_a_role_arn_is_refused(tmp_path: Path) -> None:
    text = 'version: 1\naccounts:\n  prod: {role_arn: "arn:aws:iam::1:role/x"}\n'
    [problem] = _problems(tmp_path, text)
    assert problem.startswith("3: `arn:aws:iam::1:role/x` is not valid here: a role ARN is acs:")


def test_an_account_needs_exactly_one_of_role_arn_and_profile(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, "version: 1\naccounts:\n  prod: {regions: [cn-hangzhou]}\n")
    assert "exactly one of role_arn (assumed with STS) and profile" in problem


def test_a_key_of_another_account_is_refused_at_the_instance(tmp_path: Path) -> None:
    text = HEAD + (
        "kms_keys:\n  k: {alias: alias/k, account: staging}\n"
        "instances:\n  pgm-bp1aaaa000000001: {account: prod, encryption: {key: k}}\n"
    )
    [problem] = _problems(tmp_path, text)
    assert problem.startswith("8: instance `pgm-bp1aaaa000000001` (account prod) uses key `k`")
    assert "cross-account keys are refused" in problem


def test_with_several_accounts_each_instance_names_one(tmp_path: Path) -> None:
    text = HEAD + "instances:\n  pgm-bp1aaaa000000001: {encryption: {key: service}}\n"
    [problem] = _problems(tmp_path, text)
    assert "names no account: add `account: NAME` (prod, staging)" in problem


def test_defaults_account_names_the_default_account(tmp_path: Path) -> None:
    text = HEAD.replace("version: 1\n", "version: 1\ndefaults: {account: staging}\n") + (
        "instances:\n  pgm-bp1aaaa000000001: {encryption: {key: service}}\n"
        "  pgm-bp1aaaa000000002: {account: prod, encryption: {key: service}}\n"
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_spec([path]).spec
    prod, staging = account_spec(spec, "prod"), account_spec(spec, "staging")
    assert list(prod.instances) == ["pgm-bp1aaaa000000002"]
    assert prod.defaults.account == "2234567890123456"  # the planner's own guard holds too
    assert list(staging.instances) == ["pgm-bp1aaaa000000001"]
    assert staging.defaults.account is None and not staging.accounts


def test_an_account_id_in_defaults_account_with_accounts_is_refused(tmp_path: Path) -> None:
    text = HEAD.replace("version: 1\n", 'version: 1\ndefaults: {account: "2234567890123456"}\n')
    [problem] = _problems(tmp_path, text)
    assert "give each account's id as accounts.<name>.account_id" in problem
