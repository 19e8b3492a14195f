"""Import of several accounts as a pure function (drift/import_accounts.py): one spec with
`accounts:`, `account:` on every entry, keys named after their account, one shared `ram:`."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.drift.import_accounts import AccountReading, accounts_document, accounts_files
from reconciler.drift.importer import Reading, plan_imported
from reconciler.errors import ReconcilerError
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
)
from reconciler.spec.accounts import account_spec
from reconciler.spec.loader import load_spec
from reconciler.spec.models import Spec
from tests.unit.drift.test_importer import _instance, _key, _ram, _state

HZ = "cn-hangzhou"
READY = _ram(
    RDS_ENCRYPTION_TRUST_DOCUMENT,
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    [("AliyunRDSInstanceEncryptionRolePolicy", "Custom")],
)


def _account(name: str, letter: str, ram=READY) -> AccountReading:  # type: ignore[no-untyped-def]
    key = _key(f"key-{letter}0000001", HZ, ["alias/prod"])
    instances = [
        _instance(f"pgm-{letter}0000001", HZ, key.key_id),
        _instance(f"pgm-{letter}0000002", HZ, None),
    ]
    observed = _state(instances, [key], ram=ram)
    return AccountReading(
        name, {"role_arn": f"acs:ram::1234567890123456:role/{name}"}, Reading(observed, [HZ])
    )


def _loaded(files: dict[str, str], tmp_path: Path) -> Spec:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return load_spec([str(tmp_path)]).spec


def test_two_accounts_with_the_same_alias_get_a_key_each_and_plan_no_change(
    tmp_path: Path,
) -> None:
    parts = [_account("alpha", "a"), _account("beta", "b")]
    files = accounts_files(parts, HZ)
    assert sorted(files) == [
        "00-defaults.yaml",
        "alpha.cn-hangzhou.yaml",
        "alpha.keys.yaml",
        "beta.cn-hangzhou.yaml",
        "beta.keys.yaml",
    ]
    spec = _loaded(files, tmp_path)
    assert sorted(spec.kms_keys) == ["alpha.prod", "beta.prod"]
    assert spec.kms_keys["beta.prod"].account == "beta"
    assert spec.instances["pgm-b0000001"].encryption.key == "beta.prod"  # type: ignore[union-attr]
    assert spec.instances["pgm-a0000002"].account == "alpha"
    assert spec.accounts["alpha"].account_id == "1234567890123456"  # as the reading found it
    for part in parts:
        plan = plan_imported(account_spec(spec, part.name), part.reading.observed)
        assert plan.changes == [] and plan.refusals == [], part.name


def test_the_one_document_holds_each_key_once_and_loads(tmp_path: Path) -> None:
    parts = [_account("alpha", "a"), _account("beta", "b")]
    spec = _loaded({"spec.yaml": accounts_document(parts, HZ)}, tmp_path)
    assert sorted(spec.instances) == [
        "pgm-a0000001",
        "pgm-a0000002",
        "pgm-b0000001",
        "pgm-b0000002",
    ]
    assert sorted(spec.kms_keys) == ["alpha.prod", "beta.prod"]


def test_one_account_keeps_its_key_names(tmp_path: Path) -> None:
    spec = _loaded(accounts_files([_account("alpha", "a")], HZ), tmp_path)
    assert list(spec.kms_keys) == ["prod"]
    assert spec.kms_keys["prod"].account == "alpha"


def test_accounts_whose_ram_imports_differently_stop_the_import() -> None:
    parts = [_account("alpha", "a"), _account("beta", "b", ram=_ram({}, None, []))]
    with pytest.raises(ReconcilerError, match="one `ram:` block for every account"):
        accounts_files(parts, HZ)


def test_fleets_of_one_tag_in_two_accounts_are_named_after_their_account(
    tmp_path: Path,
) -> None:
    tags = {"team": "pay"}
    parts = []
    for part in (_account("alpha", "a"), _account("beta", "b")):
        observed = part.reading.observed
        reading = Reading(observed, [HZ], tags={i: tags for i in observed.instances})
        parts.append(AccountReading(part.name, part.entry, reading))
    # both instances of an account carry team=pay, but with different wants: no fleet
    assert "fleets" not in accounts_document(parts, HZ)
    same = []
    for part in parts:
        observed = part.reading.observed
        off = {i: o for i, o in observed.instances.items() if i.endswith("2")}
        twin = next(iter(off.values())).model_copy(update={"instance_id": f"{next(iter(off))}9"})
        observed = observed.model_copy(update={"instances": {**off, twin.instance_id: twin}})
        reading = Reading(observed, [HZ], tags={i: tags for i in observed.instances})
        same.append(AccountReading(part.name, part.entry, reading))
    spec = _loaded(accounts_files(same, HZ), tmp_path)
    assert sorted(spec.fleets) == ["alpha.team-pay", "beta.team-pay"]
    assert spec.fleets["beta.team-pay"].account == "beta"
    assert spec.instances == {}
