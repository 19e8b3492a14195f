"""The RDS role's attachments are exclusive, through the CLI, the emulator and the real SDK:
a policy attached by hand that the spec does not list (here Alibaba's AliyunKMSFullAccess) is
planned for DetachPolicyFromRole, apply detaches it, and plan and drift then agree it is gone;
`ram.extra_policies` keeps it, and `import` writes it there."""

from __future__ import annotations

from typing import Any

import yaml

from tests.e2e import world
from tests.e2e.conftest import PlanRun, plan_json, run_cli
from tests.e2e.test_ram_policy_types import (
    ROLE,
    attach,
    cmk_spec,
    cmk_world,
    create_custom_policy,
    create_role,
    rds_accepts_the_key,
)

EXTRA = "AliyunKMSFullAccess"
ADDRESS = f"ram_attachment.{ROLE}/{EXTRA}"
KEPT = {"manage": True, "extra_policies": [{"name": EXTRA, "type": "system"}]}


def attached(endpoint: str) -> list[tuple[str, str]]:
    from alibabacloud_ram20150501 import models

    answer = world.ram(endpoint).list_policies_for_role(
        models.ListPoliciesForRoleRequest(role_name=ROLE)
    )
    return sorted((p.policy_name, p.policy_type) for p in answer.body.policies.policy)


def ready_world_with_extra(endpoint: str) -> str:
    """RAM as the manual steps leave it, the instance on the CMK, and AliyunKMSFullAccess
    attached to the role by hand: the instance id."""
    instance, key_id = cmk_world(endpoint)
    create_custom_policy(endpoint)
    create_role(endpoint)
    attach(endpoint, "Custom")
    assert rds_accepts_the_key(endpoint, instance, key_id)
    attach(endpoint, "System", EXTRA)
    return instance


def drift(endpoint: str, folder: str) -> PlanRun:
    return run_cli("--endpoint", endpoint, "drift", folder, "--format", "json")


def serious(report: dict[str, Any]) -> list[str]:
    return [i["address"] for i in report["items"] if i["severity"] in ("critical", "high")]


def test_an_extra_policy_is_detached_and_plan_and_drift_then_agree(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    folder = write_spec(cmk_spec(ready_world_with_extra(endpoint), {"manage": True}))

    before = drift(endpoint, folder)
    assert before.exit_code == 2 and serious(before.plan) == [ADDRESS], before.stdout
    planned = plan_json(endpoint, folder)
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    [change] = planned.plan["changes"]
    assert change["address"] == ADDRESS and change["action"] == "delete"
    assert change["operations"] == [
        {
            "op": "ram:DetachPolicyFromRole",
            "params": {"PolicyType": "System", "PolicyName": EXTRA, "RoleName": ROLE},
        }
    ]
    assert "allows kms:* on *" in change["reason"]

    applied = run_cli("--endpoint", endpoint, "apply", folder, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert (EXTRA, "System") not in attached(endpoint)
    assert ("AliyunRDSInstanceEncryptionRolePolicy", "Custom") in attached(endpoint)

    again = run_cli("--endpoint", endpoint, "plan", folder, "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.stdout, again.stdout
    after = drift(endpoint, folder)
    assert after.exit_code == 0 and after.plan["items"] == [], after.stdout


def test_extra_policies_keep_it_and_import_writes_them(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    instance = ready_world_with_extra(endpoint)
    folder = write_spec(cmk_spec(instance, KEPT))

    planned = run_cli("--endpoint", endpoint, "plan", folder, "--detailed-exitcode")
    assert planned.exit_code == 0 and "No changes." in planned.stdout, planned.stdout
    report = drift(endpoint, folder)
    assert report.exit_code == 0 and serious(report.plan) == [], report.stdout
    assert ADDRESS in report.plan["checked"]

    imported = run_cli("--endpoint", endpoint, "import", "--region", "cn-hangzhou")
    assert imported.exit_code == 0, imported.stderr
    assert yaml.safe_load(imported.stdout)["ram"]["extra_policies"] == [
        {"name": EXTRA, "type": "system"}
    ]
    assert (EXTRA, "System") in attached(endpoint), "nothing was detached"


def test_a_lost_detach_answer_is_read_back_not_sent_again(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    folder = write_spec(cmk_spec(ready_world_with_extra(endpoint), {"manage": True}))
    world.admin(
        endpoint, "POST", "faults", {"action": "DetachPolicyFromRole", "drop_answer": "drop"}
    )
    world.reset_calls(endpoint)

    applied = run_cli("--endpoint", endpoint, "apply", folder, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert "answer lost; read back: it took effect" in applied.stdout + applied.stderr
    assert world.calls(endpoint).get("ram:DetachPolicyFromRole") == 1, "sent once"
    assert (EXTRA, "System") not in attached(endpoint)


def test_verify_only_refuses_an_extra_policy_and_writes_nothing(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    folder = write_spec(cmk_spec(ready_world_with_extra(endpoint), {"manage": False}))
    planned = plan_json(endpoint, folder)
    assert planned.exit_code == 1 and planned.codes() == {"RamNotReady"}, planned.stdout
    assert [r["address"] for r in planned.plan["refusals"]] == [ADDRESS]
    assert planned.plan["changes"] == []


def test_a_policy_detached_since_the_plan_is_not_detached_again(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    """Compare-and-set: the detach needs its policy still attached right before the write."""
    from alibabacloud_ram20150501 import models

    from reconciler.apply.executor import apply_plan
    from tests.apply.conftest import FakeTime, clients_for, make_plan, options

    endpoint = emulator.endpoint
    instance = ready_world_with_extra(endpoint)
    clients = clients_for(emulator)
    plan = make_plan(clients, cmk_spec(instance, {"manage": True}))
    world.ram(endpoint).detach_policy_from_role(
        models.DetachPolicyFromRoleRequest(policy_type="System", policy_name=EXTRA, role_name=ROLE)
    )
    world.reset_calls(endpoint)

    result = apply_plan(plan, clients, options(FakeTime(emulator)))

    outcome = result.outcome(ADDRESS)
    assert outcome is not None and outcome.status == "failed"
    assert f"system policy {EXTRA} is no longer attached to role {ROLE}" in outcome.detail
    assert "ram:DetachPolicyFromRole" not in world.calls(endpoint)
