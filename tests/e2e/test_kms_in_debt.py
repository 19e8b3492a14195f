"""KMS InDebt end to end: the emulator's switch (POST /_emulator/kms {"status": "InDebt"}),
observe's read of DescribeAccountKmsStatus, and the plan: new key use and key changes refused
with KmsInDebt (not KmsNotActivated: the keys are still read), and every instance already on a
KMS key reported at risk (InstanceAtRisk)."""

from __future__ import annotations

import pytest

from tests.e2e import world
from tests.e2e.conftest import plan_json


@pytest.mark.parametrize("status", ["InDebt", "Suspended"])
def test_in_debt_refuses_new_key_use_and_reports_the_instances_at_risk(  # type: ignore[no-untyped-def]
    emulator, write_spec, status: str
) -> None:
    endpoint = emulator.endpoint
    on_service = world.create_instance(endpoint, encryption_key="ServiceKey")
    off = world.create_instance(endpoint)
    world.admin(endpoint, "POST", "clock", {"advance_seconds": 60})
    assert world.admin(endpoint, "POST", "kms", {"status": status})["status"] == status
    folder = write_spec(
        {
            "kms_keys": {"prod": {"alias": "alias/rds-prod"}},
            "instances": {
                on_service: {"encryption": {"key": "service"}},
                off: {"encryption": {"key": "prod"}},
            },
        }
    )
    run = plan_json(endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    refusals = {r["address"]: r["code"] for r in run.plan["refusals"]}
    assert refusals == {"kms_key.prod": "KmsInDebt", f"rds_encryption.{off}": "KmsInDebt"}
    assert status in run.plan["refusals"][0]["message"]
    warnings = {(w["address"], w["code"]) for w in run.plan["warnings"]}
    assert (f"rds_encryption.{on_service}", "InstanceAtRisk") in warnings
    assert (f"rds_encryption.{off}", "InstanceAtRisk") not in warnings  # not encrypted
    changed = [c["address"] for c in run.plan["changes"]]
    assert not [a for a in changed if a.startswith(("kms_key.", "rds_encryption."))], changed


def test_enabled_again_plans_as_before(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    instance = world.create_instance(endpoint)
    world.admin(endpoint, "POST", "clock", {"advance_seconds": 60})
    world.admin(endpoint, "POST", "kms", {"status": "InDebt"})
    world.admin(endpoint, "POST", "kms", {"status": "Enabled"})
    folder = write_spec({"instances": {instance: {"encryption": {"key": "service"}}}})
    run = plan_json(endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 2, run.stdout + run.stderr
    assert not run.plan["refusals"]
    assert "InstanceAtRisk" not in {w["code"] for w in run.plan["warnings"]}


def test_drift_reports_every_instance_on_a_key_as_critical_while_in_debt(  # type: ignore[no-untyped-def]
    emulator, write_spec
) -> None:
    """The nightly job sees it too: the managed instance in sync with the spec, and one not in
    the spec, both on a KMS key, are critical at-risk items; drift exits 2."""
    import json

    from tests.e2e.conftest import run_cli

    endpoint = emulator.endpoint
    managed = world.create_instance(endpoint, encryption_key="ServiceKey")
    world.create_instance(endpoint, encryption_key="ServiceKey")  # not in the spec
    world.admin(endpoint, "POST", "clock", {"advance_seconds": 60})
    folder = write_spec({"instances": {managed: {"encryption": {"key": "service"}}}})
    calm = run_cli("--endpoint", endpoint, "drift", folder, "--format", "json")
    assert calm.exit_code == 0, calm.stdout + calm.stderr

    world.admin(endpoint, "POST", "kms", {"status": "InDebt"})
    run = run_cli("--endpoint", endpoint, "drift", folder, "--format", "json")
    assert run.exit_code == 2, run.stdout + run.stderr
    items = {i["address"]: i for i in json.loads(run.stdout)["items"]}
    at_risk = items[f"rds_encryption.{managed}"]
    assert (at_risk["kind"], at_risk["severity"]) == ("at-risk", "critical")
    assert "InDebt" in at_risk["message"]
