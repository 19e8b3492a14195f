"""RAM policy types through the emulator and the real SDK: Alibaba's manual steps (a custom
policy named AliyunRDSInstanceEncryptionRolePolicy, "ApsaraDB RDS: Authorize RDS
to access KMS", docs/real-cloud.md), the built-in system policy of that name, and verify only
(`ram.manage: false`) judged by what the attached policies let RDS do, as RDS itself judges it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.cloud import ram as ram_reader
from reconciler.cloud.answers import UNEXPECTED_ANSWER
from reconciler.errors import PermanentError
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
)
from tests.e2e import world
from tests.e2e.conftest import plan_json

ROLE = "AliyunRDSInstanceEncryptionDefaultRole"
POLICY = "AliyunRDSInstanceEncryptionRolePolicy"
TAG = {"acs:rds:instance-encryption": "true"}


def _ram_models() -> Any:
    from alibabacloud_ram20150501 import models

    return models


def create_custom_policy(endpoint: str, name: str = POLICY, document: dict | None = None) -> None:
    world.ram(endpoint).create_policy(
        _ram_models().CreatePolicyRequest(
            policy_name=name,
            policy_document=json.dumps(document or RDS_ENCRYPTION_POLICY_DOCUMENT),
            description="Authorize RDS to access KMS",
        )
    )


def create_role(endpoint: str, trust: dict | None = None) -> None:
    world.ram(endpoint).create_role(
        _ram_models().CreateRoleRequest(
            role_name=ROLE,
            assume_role_policy_document=json.dumps(trust or RDS_ENCRYPTION_TRUST_DOCUMENT),
        )
    )


def attach(endpoint: str, policy_type: str, name: str = POLICY) -> None:
    world.ram(endpoint).attach_policy_to_role(
        _ram_models().AttachPolicyToRoleRequest(
            policy_type=policy_type, policy_name=name, role_name=ROLE
        )
    )


def cmk_world(endpoint: str) -> tuple[str, str]:
    """A dedicated instance and a tagged key aliased alias/rds-prod: (instance id, key id)."""
    instance = world.create_instance(endpoint)
    key_id = world.create_key(endpoint, alias="alias/rds-prod", tags=TAG)
    return instance, key_id


def cmk_spec(instance: str, ram: dict | None = None) -> dict:
    doc: dict[str, Any] = {
        "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
        "kms_keys": {"prod": {"alias": "alias/rds-prod"}},
        "instances": {instance: {"encryption": {"key": "prod"}}},
    }
    if ram is not None:
        doc["ram"] = ram
    return doc


def ram_changes(plan: dict) -> list[tuple[str, list[str], Any]]:
    return [
        (
            c["address"],
            [o["op"] for o in c["operations"]],
            (c.get("after") or {}).get("policy_type"),
        )
        for c in plan["changes"]
        if c["address"].startswith("ram_")
    ]


def rds_accepts_the_key(endpoint: str, instance: str, key_id: str) -> bool:
    """What RDS itself says: the emulator checks the role, its trust and its attached
    policies' documents when an instance is moved to a CMK (ByokNotAuthorizedToRds)."""
    from alibabacloud_rds20140815 import models

    request = models.ModifyDBInstanceConfigRequest(
        dbinstance_id=instance, config_name="encryptionKey", config_value=key_id
    )
    try:
        world.rds(endpoint).modify_dbinstance_config(request)
    except Exception as error:  # the SDK's TeaException
        assert "ByokNotAuthorizedToRds" in str(error), error
        return False
    return True


# --- the document's manual steps --------------------------------------------------------------


def test_the_documented_manual_steps_leave_nothing_for_ram(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    instance, key_id = cmk_world(endpoint)
    create_custom_policy(endpoint)
    create_role(endpoint)
    attach(endpoint, "Custom")
    for ram in (None, {"manage": True}, {"manage": False}):
        run = plan_json(endpoint, write_spec(cmk_spec(instance, ram)))
        assert run.exit_code == 0, run.stdout + run.stderr
        assert ram_changes(run.plan) == [], ram
        assert [c["address"] for c in run.plan["changes"]] == [f"rds_encryption.{instance}"]
    assert rds_accepts_the_key(endpoint, instance, key_id)


def test_a_custom_policy_beside_the_system_one_is_read_in_its_own_namespace(  # type: ignore[no-untyped-def]
    emulator, write_spec
) -> None:
    """The custom policy lost GenerateDataKey; the system one of the same name has it. The
    custom spec repairs the custom policy, never reading the system one as its own, and
    detaches the system one, which it does not list (the role's attachments are exclusive)."""
    endpoint = emulator.endpoint
    instance, _ = cmk_world(endpoint)
    broken = json.loads(json.dumps(RDS_ENCRYPTION_POLICY_DOCUMENT))
    broken["Statement"][1]["Action"].remove("kms:GenerateDataKey")
    create_custom_policy(endpoint, document=broken)
    create_role(endpoint)
    attach(endpoint, "Custom")
    attach(endpoint, "System")
    run = plan_json(endpoint, write_spec(cmk_spec(instance, {"manage": True})))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert ram_changes(run.plan) == [
        (f"ram_policy.{POLICY}", ["ram:CreatePolicyVersion"], None),
        (f"ram_attachment.{ROLE}/{POLICY}", ["ram:DetachPolicyFromRole"], None),
    ]
    [detach] = [c for c in run.plan["changes"] if c["address"].startswith("ram_attachment.")]
    assert detach["operations"][0]["params"]["PolicyType"] == "System"


# --- the system policy ------------------------------------------------------------------------


def test_verify_only_with_only_the_system_policy_attached_is_ready(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    instance, key_id = cmk_world(endpoint)
    create_role(endpoint)
    attach(endpoint, "System")
    run = plan_json(endpoint, write_spec(cmk_spec(instance, {"manage": False})))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.plan["refusals"] == []
    assert [c["address"] for c in run.plan["changes"]] == [f"rds_encryption.{instance}"]
    assert rds_accepts_the_key(endpoint, instance, key_id), "RDS agrees: ready"


def test_system_type_on_an_empty_world_creates_the_role_and_attaches_the_system_policy(  # type: ignore[no-untyped-def]
    emulator, write_spec
) -> None:
    endpoint = emulator.endpoint
    instance, _ = cmk_world(endpoint)
    spec = cmk_spec(instance, {"manage": True, "policy_type": "system"})
    run = plan_json(endpoint, write_spec(spec))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert ram_changes(run.plan) == [
        (f"ram_role.{ROLE}", ["ram:CreateRole"], None),
        (f"ram_attachment.{ROLE}/{POLICY}", ["ram:AttachPolicyToRole"], "System"),
    ]
    assert all(
        "ram:CreatePolicy" not in [o["op"] for o in c["operations"]] for c in run.plan["changes"]
    )


def test_system_type_naming_no_system_policy_is_refused(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    instance, _ = cmk_world(endpoint)
    spec = cmk_spec(instance, {"policy_type": "system", "policy": "NoSuchSystemPolicy"})
    run = plan_json(endpoint, write_spec(spec))
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.codes() == {"RamNotReady"}
    assert all(
        "ram:CreatePolicy" not in [o["op"] for o in c["operations"]] for c in run.plan["changes"]
    )


# --- verify only: what the attached policies allow, as RDS judges it --------------------------


def test_verify_only_a_deny_in_another_attached_policy_is_not_ready(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    instance, key_id = cmk_world(endpoint)
    deny = {
        "Version": "1",
        "Statement": [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}],
    }
    create_custom_policy(endpoint, name="NoDecrypt", document=deny)
    create_role(endpoint)
    attach(endpoint, "System")
    attach(endpoint, "Custom", name="NoDecrypt")
    kept = {"manage": False, "extra_policies": [{"name": "NoDecrypt", "type": "custom"}]}
    run = plan_json(endpoint, write_spec(cmk_spec(instance, kept)))
    assert run.exit_code == 1, run.stdout + run.stderr
    [refusal] = run.plan["refusals"]
    assert refusal["code"] == "RamNotReady"
    assert "kms:Decrypt denied by NoDecrypt (Custom)" in refusal["message"]
    assert not rds_accepts_the_key(endpoint, instance, key_id), "RDS agrees: not ready"


def test_verify_only_a_role_rds_cannot_assume_is_not_ready(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    instance, key_id = cmk_world(endpoint)
    ecs = json.loads(json.dumps(RDS_ENCRYPTION_TRUST_DOCUMENT))
    ecs["Statement"][0]["Principal"]["Service"] = ["ecs.aliyuncs.com"]
    create_role(endpoint, trust=ecs)
    attach(endpoint, "System")
    run = plan_json(endpoint, write_spec(cmk_spec(instance, {"manage": False})))
    assert run.exit_code == 1, run.stdout + run.stderr
    [refusal] = run.plan["refusals"]
    assert refusal["address"] == f"ram_role.{ROLE}"
    assert "does not let rds.aliyuncs.com assume it" in refusal["message"]
    assert not rds_accepts_the_key(endpoint, instance, key_id), "RDS agrees: not ready"


# --- observe: few calls, fail closed ----------------------------------------------------------


def test_observe_reads_ram_in_three_calls_plus_one_per_other_attached_policy(  # type: ignore[no-untyped-def]
    emulator, write_spec
) -> None:
    endpoint = emulator.endpoint
    instance, _ = cmk_world(endpoint)
    create_custom_policy(endpoint, name="Extra")
    create_role(endpoint)
    attach(endpoint, "System")
    attach(endpoint, "Custom", name="Extra")
    world.reset_calls(endpoint)
    kept = [{"name": "Extra", "type": "custom"}]
    spec = cmk_spec(instance, {"manage": False, "policy_type": "system", "extra_policies": kept})
    run = plan_json(endpoint, write_spec(spec))
    assert run.exit_code == 0, run.stdout + run.stderr
    ram_calls = {a: n for a, n in world.calls(endpoint).items() if a.startswith("ram:")}
    # The spec's (system) policy is attached, so it is not read twice: Extra is the only other.
    assert ram_calls == {
        "ram:GetPolicy": 2,
        "ram:GetRole": 1,
        "ram:ListPoliciesForRole": 1,
    }


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [
        ("ram:GetRole", 403, "NoPermission"),
        ("ram:GetRole", 404, "EntityNotExist.Policy"),
        ("ram:GetPolicy", 404, "EntityNotExist.Role"),
        ("ram:ListPoliciesForRole", 500, "InternalError"),
    ],
)
def test_a_ram_read_that_fails_stops_the_plan(  # type: ignore[no-untyped-def]
    emulator, write_spec, action: str, status: int, code: str
) -> None:
    """Only GetRole's EntityNotExist.Role and GetPolicy's EntityNotExist.Policy are facts."""
    endpoint = emulator.endpoint
    instance, _ = cmk_world(endpoint)
    create_role(endpoint)
    attach(endpoint, "System")
    world.admin(
        endpoint,
        "POST",
        "faults",
        {"action": action, "code": code, "status": status, "rate": 1.0},
    )
    run = plan_json(endpoint, write_spec(cmk_spec(instance, {"manage": False})))
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.stdout.strip() == ""
    assert code in run.stderr and action.split(":")[1] in run.stderr


class _Answer:
    def __init__(self, body: dict) -> None:
        self.body = self
        self._body = body

    def to_map(self) -> dict:
        return self._body


class _StubClients:
    """Answers RAM reads from a table, in place of the SDK (the reader's own rules only)."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str]] = []

    def call(self, service: str, region: str, action: str, invoke: Any, **_: Any) -> Any:
        captured: dict[str, Any] = {}

        class _Client:
            def __getattr__(self, name: str) -> Any:
                return lambda request: captured.setdefault("request", request)

        invoke(_Client())
        request = captured["request"]
        name = getattr(request, "policy_name", None) or getattr(request, "role_name", None)
        kind = getattr(request, "policy_type", None)
        key = (action, f"{name}/{kind}" if kind else str(name))
        self.calls.append(key)
        answer = self.answers[key]
        if isinstance(answer, Exception):
            raise answer
        return _Answer(answer)


def _policy_answer(document: Any) -> dict:
    return {
        "Policy": {"PolicyName": "X"},
        "DefaultPolicyVersion": {"VersionId": "v1", "PolicyDocument": document},
    }


def _world_with_attached(document: Any, attached_error: Exception | None = None) -> _StubClients:
    trust = json.dumps(RDS_ENCRYPTION_TRUST_DOCUMENT)
    return _StubClients(
        {
            ("GetPolicy", f"{POLICY}/Custom"): PermanentError(
                "ram:GetPolicy", "EntityNotExist.Policy", "absent"
            ),
            ("GetRole", ROLE): {"Role": {"RoleName": ROLE, "AssumeRolePolicyDocument": trust}},
            ("ListPoliciesForRole", ROLE): {
                "Policies": {"Policy": [{"PolicyName": "Other", "PolicyType": "Custom"}]}
            },
            ("GetPolicy", "Other/Custom"): attached_error or _policy_answer(document),
        }
    )


@pytest.mark.parametrize("document", ["{not json", '"a string"', "[]", None])
def test_an_attached_policy_whose_document_does_not_parse_stops_observe(document: Any) -> None:
    """Never "allows nothing" (which could plan a wrong attach) nor "denies nothing"."""
    clients = _world_with_attached(document)
    with pytest.raises(PermanentError) as stopped:
        ram_reader.observe_ram(clients, "cn-hangzhou", ROLE, POLICY)  # type: ignore[arg-type]
    assert stopped.value.code == UNEXPECTED_ANSWER
    assert "Other" in str(stopped.value) and "GetPolicy" in str(stopped.value)


def test_an_attached_policy_that_is_not_found_stops_observe() -> None:
    """ListPoliciesForRole just listed it: its absence is an inconsistent answer, not a fact."""
    missing = PermanentError("ram:GetPolicy", "EntityNotExist.Policy", "absent", 404, "req-1")
    clients = _world_with_attached(None, attached_error=missing)
    with pytest.raises(PermanentError) as stopped:
        ram_reader.observe_ram(clients, "cn-hangzhou", ROLE, POLICY)  # type: ignore[arg-type]
    assert stopped.value.code == "EntityNotExist.Policy"
    assert "Other" in str(stopped.value)


def test_observe_records_every_attached_policy_with_its_type_and_document() -> None:
    clients = _world_with_attached(json.dumps(RDS_ENCRYPTION_POLICY_DOCUMENT))
    observed = ram_reader.observe_ram(clients, "cn-hangzhou", ROLE, POLICY)  # type: ignore[arg-type]
    assert observed.policy is None and observed.role is not None
    [other] = observed.attached_policies
    assert (other.name, other.policy_type) == ("Other", "Custom")
    assert other.document == RDS_ENCRYPTION_POLICY_DOCUMENT
    assert clients.calls[0] == ("GetPolicy", f"{POLICY}/Custom")
    assert len(clients.calls) == 4
