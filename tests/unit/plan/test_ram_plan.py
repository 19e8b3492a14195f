"""RAM in the plan: policy types (custom | system) and verify-only by what the role may do."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.core.facts import ObservedPolicy, ObservedRam, ObservedRole, ObservedState
from reconciler.plan.actions import RefusalCode
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
)
from reconciler.spec.models import Spec

ACCOUNT = "1234567890123456"
ROLE = "AliyunRDSInstanceEncryptionDefaultRole"
POLICY = "AliyunRDSInstanceEncryptionRolePolicy"
KEY_ARN = f"acs:kms:cn-hangzhou:{ACCOUNT}:key/key-hzprod0001"
DENY_DECRYPT = {
    "Version": "1",
    "Statement": [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}],
}
ADMIN = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _spec(ram: dict[str, Any] | None = None, key: str = "rds-prod") -> Spec:
    doc: dict[str, Any] = {
        "version": 1,
        "defaults": {"region": "cn-hangzhou", "restart": "immediate"},
        "kms_keys": {"rds-prod": {"alias": "alias/rds-prod"}},
        "instances": {"pgm-aaaa0001": {"encryption": {"key": key}}},
    }
    if ram is not None:
        doc["ram"] = ram
    return Spec.model_validate(doc)


def _policy(name: str = POLICY, policy_type: str = "Custom", document=None) -> ObservedPolicy:  # type: ignore[no-untyped-def]
    return ObservedPolicy(
        name=name,
        policy_type=policy_type,  # type: ignore[arg-type]
        default_version="v1",
        document=RDS_ENCRYPTION_POLICY_DOCUMENT if document is None else document,
    )


def _role(trust: dict | None = None) -> ObservedRole:
    return ObservedRole(
        name=ROLE,
        arn=f"acs:ram::{ACCOUNT}:role/{ROLE.lower()}",
        trust_document=RDS_ENCRYPTION_TRUST_DOCUMENT if trust is None else trust,
    )


def _observed(ram: ObservedRam | None, *, key: bool = True) -> ObservedState:
    keys: dict[str, Any] = {"rds-prod": None}
    if key:
        keys["rds-prod"] = {
            "key_id": "key-hzprod0001",
            "arn": KEY_ARN,
            "region": "cn-hangzhou",
            "state": "Enabled",
            "tags": {"acs:rds:instance-encryption": "true"},
            "aliases": ["alias/rds-prod"],
        }
    instance = {
        "instance_id": "pgm-aaaa0001",
        "region": "cn-hangzhou",
        "engine": "PostgreSQL",
        "category": "HighAvailability",
        "class_code": "pg.x4.large.2c",
        "class_type": "d",
        "storage_type": "cloud_essd",
        "status": "Running",
        "managed": True,
        "encryption": {"enabled": False},
    }
    return ObservedState.model_validate(
        {
            "account_id": ACCOUNT,
            "ram": ram.model_dump() if ram else None,
            "keys": keys,
            "instances": {"pgm-aaaa0001": instance},
            "regions_listed": ["cn-hangzhou"],
        }
    )


def _ram_changes(plan: Plan) -> list[tuple[str, list[str], Any]]:
    return [
        (c.address.split(".")[0], c.op_names, c.operations[0].params.get("PolicyType"))
        for c in plan.changes
        if c.address.startswith("ram_")
    ]


def _ram_refusals(plan: Plan) -> list[tuple[str, str]]:
    return [(r.address, r.message) for r in plan.refusals if r.code is RefusalCode.RAM_NOT_READY]


# --- manage: true, custom (the documented manual steps) ---------------------------------------


def test_custom_on_an_empty_world_creates_the_policy_the_role_and_a_custom_attachment() -> None:
    plan = build_plan(_spec({"manage": True}), _observed(ObservedRam()))
    assert _ram_changes(plan) == [
        ("ram_policy", ["ram:CreatePolicy"], None),
        ("ram_role", ["ram:CreateRole"], None),
        ("ram_attachment", ["ram:AttachPolicyToRole"], "Custom"),
    ]
    assert not plan.refusals


def test_custom_in_place_has_no_ram_change() -> None:
    policy = _policy()
    ram = ObservedRam(role=_role(), policy=policy, attached_policies=[policy])
    plan = build_plan(_spec({"manage": True}), _observed(ram))
    assert _ram_changes(plan) == [] and not plan.refusals


def test_custom_spec_is_authoritative_even_when_the_system_policy_already_allows_it() -> None:
    """The system policy of the same name is not the spec's: the custom one is attached first,
    then the system one detached (the role's attachments are exclusive), in one change."""
    system = _policy(policy_type="System")
    ram = ObservedRam(role=_role(), policy=None, attached_policies=[system])
    plan = build_plan(_spec({"manage": True}), _observed(ram))
    assert _ram_changes(plan) == [
        ("ram_policy", ["ram:CreatePolicy"], None),
        ("ram_attachment", ["ram:AttachPolicyToRole", "ram:DetachPolicyFromRole"], "Custom"),
    ]
    attachment = plan.change(f"ram_attachment.{ROLE}/{POLICY}")
    assert attachment is not None and attachment.action == "update"
    assert attachment.operations[1].params == {
        "PolicyType": "System",
        "PolicyName": POLICY,
        "RoleName": ROLE,
    }
    assert not plan.refusals


def test_the_system_policy_attached_does_not_count_as_the_custom_one_attached() -> None:
    custom, system = _policy(), _policy(policy_type="System")
    ram = ObservedRam(role=_role(), policy=custom, attached_policies=[system])
    plan = build_plan(_spec(), _observed(ram))
    assert _ram_changes(plan) == [
        ("ram_attachment", ["ram:AttachPolicyToRole", "ram:DetachPolicyFromRole"], "Custom")
    ]


# --- manage: true, system (Alibaba's built-in policy) -----------------------------------------


def test_system_on_an_empty_world_creates_the_role_and_attaches_the_system_policy() -> None:
    system = _policy(policy_type="System")
    plan = build_plan(
        _spec({"manage": True, "policy_type": "system"}),
        _observed(ObservedRam(policy=system)),
    )
    assert _ram_changes(plan) == [
        ("ram_role", ["ram:CreateRole"], None),
        ("ram_attachment", ["ram:AttachPolicyToRole"], "System"),
    ]
    assert not plan.refusals
    [attach] = [c for c in plan.changes if c.address.startswith("ram_attachment.")]
    assert attach.depends_on == [f"ram_role.{ROLE}"]


def test_system_in_place_has_no_ram_change_and_its_document_is_never_changed() -> None:
    system = _policy(policy_type="System", document=ADMIN)
    ram = ObservedRam(role=_role(), policy=system, attached_policies=[system])
    plan = build_plan(_spec({"policy_type": "system"}), _observed(ram))
    assert _ram_changes(plan) == [] and not plan.refusals


def test_system_policy_missing_is_refused_never_created() -> None:
    plan = build_plan(_spec({"policy_type": "system"}), _observed(ObservedRam(role=_role())))
    assert all("ram:CreatePolicy" not in c.op_names for c in plan.changes)
    [(address, message)] = _ram_refusals(plan)
    assert address == f"ram_policy.{POLICY}"
    assert "no system policy" in message and "policy_type: custom" in message


# --- manage: false: verify what the role may do -----------------------------------------------


def test_verify_only_with_only_the_system_policy_attached_is_ready() -> None:
    system = _policy(policy_type="System")
    ram = ObservedRam(role=_role(), policy=None, attached_policies=[system])
    plan = build_plan(_spec({"manage": False}), _observed(ram))
    assert not plan.refusals
    assert [c.address for c in plan.changes] == ["rds_encryption.pgm-aaaa0001"]


def _kept(*names: str) -> list[dict[str, str]]:
    return [{"name": n, "type": "custom"} for n in names]


def test_verify_only_accepts_any_policy_names_that_together_allow_it() -> None:
    ram = ObservedRam(role=_role(), attached_policies=[_policy("AdminForRds", document=ADMIN)])
    spec = _spec({"manage": False, "extra_policies": _kept("AdminForRds")})
    assert not build_plan(spec, _observed(ram)).refusals


def test_verify_only_a_deny_anywhere_is_not_ready_and_says_what_and_where() -> None:
    attached = [_policy(), _policy("NoDecrypt", document=DENY_DECRYPT)]
    ram = ObservedRam(role=_role(), policy=attached[0], attached_policies=attached)
    plan = build_plan(
        _spec({"manage": False, "extra_policies": _kept("NoDecrypt")}), _observed(ram)
    )
    [(address, message)] = _ram_refusals(plan)
    assert address == f"ram_attachment.{ROLE}/{POLICY}"
    assert "kms:Decrypt denied by NoDecrypt (Custom)" in message
    assert KEY_ARN in message and "remove the statements of NoDecrypt (Custom)" in message
    assert plan.change("rds_encryption.pgm-aaaa0001") is not None, "still listed"


def test_verify_only_nothing_attached_is_not_ready() -> None:
    plan = build_plan(_spec({"manage": False}), _observed(ObservedRam(role=_role())))
    [(_, message)] = _ram_refusals(plan)
    assert "attached: none" in message
    assert "kms:Encrypt, kms:Decrypt, kms:GenerateDataKey, kms:DescribeKey not allowed" in message


def test_verify_only_no_role_is_one_refusal_on_the_role() -> None:
    plan = build_plan(_spec({"manage": False}), _observed(ObservedRam(policy=_policy())))
    [(address, message)] = _ram_refusals(plan)
    assert address == f"ram_role.{ROLE}"
    assert "does not exist" in message and "trust policy for rds.aliyuncs.com" in message


@pytest.mark.parametrize(
    ("trust", "words"),
    [
        (
            {
                "Version": "1",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": "ecs.aliyuncs.com"},
                    }
                ],
            },
            "does not let rds.aliyuncs.com assume it",
        ),
        (
            {
                "Version": "1",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": ["ecs.aliyuncs.com", "rds.aliyuncs.com"]},
                    }
                ],
            },
            None,
        ),
    ],
)
def test_verify_only_judges_the_trust_by_meaning(trust: dict, words: str | None) -> None:
    policy = _policy(policy_type="System")
    ram = ObservedRam(role=_role(trust), attached_policies=[policy])
    refusals = _ram_refusals(build_plan(_spec({"manage": False}), _observed(ram)))
    if words is None:
        assert refusals == []
    else:
        [(address, message)] = refusals
        assert address == f"ram_role.{ROLE}" and words in message


def test_verify_only_checks_the_key_created_by_the_plan_in_its_region_and_account() -> None:
    only_shanghai = {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "acs:kms:cn-shanghai:*:*"}
        ],
    }
    ram = ObservedRam(role=_role(), attached_policies=[_policy("Sh", document=only_shanghai)])
    spec = _spec({"manage": False, "extra_policies": _kept("Sh")})
    [(_, message)] = _ram_refusals(build_plan(spec, _observed(ram, key=False)))
    assert f"acs:kms:cn-hangzhou:{ACCOUNT}:key/(known after apply)" in message


def test_verify_only_a_condition_it_cannot_evaluate_is_not_ready() -> None:
    by_ip = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}},
            }
        ],
    }
    ram = ObservedRam(role=_role(), attached_policies=[_policy("ByIp", document=by_ip)])
    spec = _spec({"manage": False, "extra_policies": _kept("ByIp")})
    [(_, message)] = _ram_refusals(build_plan(spec, _observed(ram)))
    assert "undecidable" in message and "ByIp (Custom)" in message


def test_verify_only_without_a_cmk_reads_nothing_and_refuses_nothing() -> None:
    plan = build_plan(_spec({"manage": False}, key="service"), _observed(ObservedRam()))
    assert not _ram_refusals(plan)


def test_attached_policies_are_kept_sorted_so_the_fingerprint_is_stable() -> None:
    a, b = _policy("B"), _policy("A", policy_type="System")
    one = ObservedRam(role=_role(), attached_policies=[a, b])
    two = ObservedRam(role=_role(), attached_policies=[b, a])
    assert one == two
    assert [(p.policy_type, p.name) for p in one.attached_policies] == [
        ("Custom", "B"),
        ("System", "A"),
    ]
    assert _observed(one).fingerprint() == _observed(two).fingerprint()


# --- the role's attachments are exclusive -----------------------------------------------------

KMS_FULL = _policy(
    "AliyunKMSFullAccess",
    policy_type="System",
    document={
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
    },
)
EXTRA_ADDRESS = f"ram_attachment.{ROLE}/AliyunKMSFullAccess"


def _with_extra(*extra: ObservedPolicy, attached_own: bool = True) -> ObservedRam:
    own = _policy()
    return ObservedRam(
        role=_role(), policy=own, attached_policies=[own, *extra] if attached_own else [*extra]
    )


def test_an_extra_policy_on_the_role_is_planned_for_detach_and_says_what_it_grants() -> None:
    plan = build_plan(_spec(), _observed(_with_extra(KMS_FULL)))
    detach = plan.change(EXTRA_ADDRESS)
    assert detach is not None and detach.action == "delete"
    assert [(o.op, o.params) for o in detach.operations] == [
        (
            "ram:DetachPolicyFromRole",
            {"PolicyType": "System", "PolicyName": "AliyunKMSFullAccess", "RoleName": ROLE},
        )
    ]
    assert "widens the role RDS assumes for every CMK instance" in detach.reason
    assert "Alibaba Cloud's system policy AliyunKMSFullAccess" in detach.reason
    assert "allows kms:* on *" in detach.reason and "ram.extra_policies" in detach.reason
    assert plan.summary.delete == 1 and not plan.refusals


def test_a_detach_runs_after_the_attachment_the_role_needs() -> None:
    plan = build_plan(_spec(), _observed(_with_extra(KMS_FULL, attached_own=False)))
    addresses = [c.address for c in plan.changes]
    own = f"ram_attachment.{ROLE}/{POLICY}"
    assert addresses.index(own) < addresses.index(EXTRA_ADDRESS)
    assert plan.change(EXTRA_ADDRESS).depends_on == [own]


@pytest.mark.parametrize("manage", [True, False])
def test_extra_policies_keep_a_policy_of_that_name_and_type(manage: bool) -> None:
    kept = [{"name": "AliyunKMSFullAccess", "type": "system"}]
    plan = build_plan(
        _spec({"manage": manage, "extra_policies": kept}), _observed(_with_extra(KMS_FULL))
    )
    assert plan.change(EXTRA_ADDRESS) is None and not plan.refusals


def test_extra_policies_of_the_other_type_keep_nothing() -> None:
    kept = [{"name": "AliyunKMSFullAccess", "type": "custom"}]
    plan = build_plan(_spec({"extra_policies": kept}), _observed(_with_extra(KMS_FULL)))
    assert plan.change(EXTRA_ADDRESS) is not None


@pytest.mark.parametrize("key", ["rds-prod", "service"])
def test_verify_only_refuses_an_extra_policy_whether_or_not_a_cmk_is_used(key: str) -> None:
    plan = build_plan(_spec({"manage": False}, key=key), _observed(_with_extra(KMS_FULL)))
    [(address, message)] = _ram_refusals(plan)
    assert address == EXTRA_ADDRESS and not plan.change(EXTRA_ADDRESS)
    assert "allows kms:* on *" in message and "ask the RAM owner to detach it" in message
    assert "{name: AliyunKMSFullAccess, type: system}" in message


def test_verify_only_takes_the_spec_policy_of_either_type_as_its_own() -> None:
    system = _policy(policy_type="System")
    ram = ObservedRam(role=_role(), attached_policies=[_policy(), system])
    assert not build_plan(_spec({"manage": False}), _observed(ram)).refusals


def test_extra_policies_reject_an_unknown_type() -> None:
    with pytest.raises(ValueError, match="extra_policies"):
        _spec({"extra_policies": [{"name": "X", "type": "builtin"}]})


def test_a_reason_spells_out_what_an_odd_document_grants() -> None:
    odd = {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "NotAction": ["kms:Decrypt"], "Resource": "*"},
            {"Effect": "Allow", "Action": "oss:*", "Resource": "*", "Condition": {"Bool": {}}},
            "not a statement",
            {"Effect": "Deny", "Action": "ecs:*", "Resource": "*"},
        ],
    }
    plan = build_plan(_spec(), _observed(_with_extra(_policy("Odd", document=odd))))
    reason = plan.change(f"ram_attachment.{ROLE}/Odd").reason
    assert "custom policy Odd" in reason and "It widens the role" in reason
    assert "allows every action but kms:Decrypt on *" in reason
    assert "allows oss:* on * under a condition" in reason
    assert "a statement the reconciler cannot read; and 1 more statement(s)" in reason
    empty = build_plan(_spec(), _observed(_with_extra(_policy("Empty", document={}))))
    assert (
        "states nothing the reconciler can read"
        in empty.change(f"ram_attachment.{ROLE}/Empty").reason
    )
