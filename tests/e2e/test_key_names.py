"""A key named by id, ARN or alias, and the service key by Terraform's spellings (`ServiceKey`,
`alias/acs/rds`), through the CLI against the emulator: the same key plans no change whatever
its spelling (issue 20, "No surprises"); an ARN of another region or account is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import plan_json, run_cli


@pytest.fixture
def cmk(emulator) -> dw.CmkWorld:  # type: ignore[no-untyped-def]
    return dw.build_cmk_world(emulator.endpoint)


def _arn(w: dw.CmkWorld) -> str:
    meta = world.kms(w.endpoint).describe_key(dw.kms_models().DescribeKeyRequest(key_id=w.key_id))
    return str(meta.body.key_metadata.arn)


def _spec(w: dw.CmkWorld, cmk_ref: str, service_ref: str = "service") -> dict[str, Any]:
    spec = w.spec()
    spec["instances"] = {
        w.cmk_instance: {"encryption": {"key": cmk_ref}},
        w.service_instance: {"encryption": {"key": service_ref}},
    }
    return spec


@pytest.mark.parametrize("spelling", ["prod", "id", "arn", "alias"])
def test_the_key_an_instance_uses_plans_no_change_by_any_name(cmk, write_spec, spelling) -> None:  # type: ignore[no-untyped-def]
    ref = {"prod": "prod", "id": cmk.key_id, "arn": _arn(cmk), "alias": "alias/rds-prod"}[spelling]
    run = plan_json(cmk.endpoint, write_spec(_spec(cmk, ref)), "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.plan["changes"] == [] and run.plan["refusals"] == []


@pytest.mark.parametrize("spelling", ["arn", "alias"])
def test_a_key_outside_kms_keys_by_arn_or_alias_plans_no_change(cmk, write_spec, spelling) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(cmk, _arn(cmk) if spelling == "arn" else "alias/rds-prod")
    del spec["kms_keys"]
    run = plan_json(cmk.endpoint, write_spec(spec), "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.plan["changes"] == []


@pytest.mark.parametrize("spelling", ["ServiceKey", "alias/acs/rds"])
def test_terraforms_spellings_of_the_service_key_mean_service(cmk, write_spec, spelling) -> None:  # type: ignore[no-untyped-def]
    run = plan_json(cmk.endpoint, write_spec(_spec(cmk, "prod", spelling)), "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.plan["changes"] == []
    # ... and a CMK instance named with one is planned onto the service key
    moved = plan_json(cmk.endpoint, write_spec(_spec(cmk, spelling, spelling)))
    assert [c["address"] for c in moved.plan["changes"]] == [f"rds_encryption.{cmk.cmk_instance}"]


def test_an_arn_of_another_region_is_a_spec_error_at_its_line(cmk, write_spec) -> None:  # type: ignore[no-untyped-def]
    arn = _arn(cmk).replace(":cn-hangzhou:", ":cn-shanghai:")
    folder = write_spec(_spec(cmk, arn))
    for command in ("validate", "plan"):
        run = run_cli("--endpoint", cmk.endpoint, command, folder)
        assert run.exit_code != 0
        out = run.stdout + run.stderr
        assert "spec.yaml:" in out and "cn-shanghai" in out and "cn-hangzhou" in out, out


def test_an_arn_of_another_account_is_refused_as_cross_account(cmk, write_spec) -> None:  # type: ignore[no-untyped-def]
    arn = _arn(cmk)
    account = arn.split(":")[3]
    other = arn.replace(f":{account}:", ":9999999999999999:")
    run = plan_json(cmk.endpoint, write_spec(_spec(cmk, other)))
    assert run.exit_code == 1
    messages = " ".join(r["message"] for r in run.plan["refusals"])
    assert "9999999999999999" in messages and "cross-account" in messages, messages
    # with defaults.account set, the same ARN is a spec error at its line
    spec = _spec(cmk, other)
    spec["defaults"]["account"] = account
    check = run_cli("validate", write_spec(spec))
    assert check.exit_code != 0 and "9999999999999999" in check.stdout + check.stderr


def test_a_malformed_arn_is_a_spec_error(cmk, write_spec) -> None:  # type: ignore[no-untyped-def]
    check = run_cli("validate", write_spec(_spec(cmk, "acs:kms:cn-hangzhou:123:key/x")))
    assert check.exit_code != 0
    assert "acs:kms:<region>:<account>:key/<id>" in check.stdout + check.stderr
