"""The fingerprint of a plan is a hash of the observed facts: the same cloud, read in any order,
gives the same fingerprint, and any fact that changed gives another (docs/plan-format.md, Top
level: `fingerprint`)."""

from __future__ import annotations

from typing import Any

from reconciler.core.facts import ObservedState
from reconciler.plan.planner import build_plan
from reconciler.spec.models import Spec

ACCOUNT = "1234567890123456"


def _world(aliases: list[str], attached: list[str], regions: list[str], **key: Any) -> dict:
    return {
        "account_id": ACCOUNT,
        "ram": {
            "attached_policies": [
                {"name": n, "policy_type": "Custom", "default_version": "v1", "document": {}}
                for n in attached
            ]
        },
        "keys": {
            "k": {
                "key_id": "key-k0000001",
                "arn": f"acs:kms:cn-hangzhou:{ACCOUNT}:key/key-k0000001",
                "region": "cn-hangzhou",
                "state": "Enabled",
                "aliases": aliases,
                "tags": {"team": "dba", "acs:rds:instance-encryption": "true"},
                **key,
            }
        },
        "regions_listed": regions,
    }


def test_same_facts_in_another_order_give_the_same_fingerprint() -> None:
    first = ObservedState.model_validate(
        _world(["alias/a", "alias/b"], ["P1", "P2"], ["cn-hangzhou", "cn-shanghai"])
    )
    second = ObservedState.model_validate(
        _world(["alias/b", "alias/a"], ["P2", "P1"], ["cn-shanghai", "cn-hangzhou"])
    )
    assert first.fingerprint() == second.fingerprint()
    assert build_plan(Spec(), first).fingerprint == build_plan(Spec(), second).fingerprint


def test_a_changed_fact_changes_the_fingerprint() -> None:
    base = _world(["alias/a"], [], ["cn-hangzhou"])
    disabled = _world(["alias/a"], [], ["cn-hangzhou"], state="Disabled")
    assert (
        ObservedState.model_validate(base).fingerprint()
        != ObservedState.model_validate(disabled).fingerprint()
    )


def test_an_empty_world_has_a_fingerprint() -> None:
    assert ObservedState().fingerprint().startswith("sha256:")
    assert len(ObservedState().fingerprint()) == len("sha256:") + 64
