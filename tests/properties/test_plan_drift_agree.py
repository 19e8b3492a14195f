"""Property: plan and drift agree (docs/drift-format.md, Severities). Over random worlds and
random valid specs, every drift item of severity high or critical has, in the plan made from the
same spec and observation, a change or a refusal at its address, or one of these documented
mappings:

- an instance item (`rds_encryption.<id>`) is answered by a change of the key it is on
  (`kms_key.<name>` whose target is that key: the plan re-enables or re-tags it), or by a
  refusal of that key (e.g. KeyNotUsable: a PendingImport key can be neither fixed nor used);
- a plan warning at the address that says why nothing is planned: `ChangeAlreadyPending` (the
  fix is already running or scheduled in the cloud) and `InstanceAtRisk` (KMS stops serving:
  no write can help until the account is settled, and the plan says so);
- an `unmanaged` item (an instance the spec does not name, e.g. with a decryption pending): the
  plan never changes such an instance by design, and the item's message says so and how to
  manage it (docs/drift-format.md).

Pure (no emulator): the world and spec generators of tests/unit/plan/test_planner_properties.py,
with extra policies attached to the role (AliyunKMSFullAccess among them) and specs that keep
some of them (`ram.extra_policies`). Bounded and deterministic: derandomized, 150 examples,
about 5 s.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciler.core.facts import ObservedState
from reconciler.drift.model import DriftItem, DriftReport, Kind, Severity
from reconciler.drift.report import DriftError, build_drift
from reconciler.plan.actions import WarningCode
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.spec.models import Spec
from tests.unit.plan.test_planner_properties import (
    EXTRA_POLICY_NAMES,
    observed_documents,
    spec_documents,
)

EXAMPLES = int(os.environ.get("RECONCILER_PROPERTY_EXAMPLES", "150"))
SAYS_WHY = frozenset({WarningCode.CHANGE_ALREADY_PENDING, WarningCode.INSTANCE_AT_RISK})
"""Plan warnings that answer a drift item at their address: nothing can be planned, and why."""


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = draw(spec_documents())
    if spec["ram"] is not None:
        kept = draw(st.lists(st.sampled_from(EXTRA_POLICY_NAMES), unique=True, max_size=2))
        spec["ram"]["extra_policies"] = [{"name": n, "type": t} for n, t in kept]
    observed = draw(observed_documents())
    observed["kms_status"] = draw(st.sampled_from(["Enabled"] * 8 + ["InDebt", "Suspended"]))
    return spec, observed


def _key_answers(item: DriftItem, plan: Plan, observed: ObservedState) -> bool:
    """An instance item answered by a change or a refusal of the key the instance is on."""
    if not item.address.startswith("rds_encryption."):
        return False
    instance = observed.instances.get(item.address.split(".", 1)[1])
    enc = instance.encryption if instance else None
    key_id = enc.key_id if enc and enc.enabled else None
    if key_id is None:
        return False
    names = {f"kms_key.{n}" for n, k in observed.keys.items() if k and k.key_id == key_id}
    return any(
        c.address.startswith("kms_key.") and c.target_id == key_id for c in plan.changes
    ) or any(r.address in names for r in plan.refusals)


def answered(item: DriftItem, plan: Plan, observed: ObservedState) -> bool:
    return (
        item.kind == Kind.UNMANAGED
        or plan.change(item.address) is not None
        or any(r.address == item.address for r in plan.refusals)
        or any(w.address == item.address and w.code in SAYS_WHY for w in plan.warnings)
        or _key_answers(item, plan, observed)
    )


def unanswered(report: DriftReport, plan: Plan, observed: ObservedState) -> list[DriftItem]:
    serious = (Severity.CRITICAL, Severity.HIGH)
    return [i for i in report.items if i.severity in serious and not answered(i, plan, observed)]


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(worlds())
def test_every_high_or_critical_drift_item_has_a_fix_or_a_refusal(
    world: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    spec = Spec.model_validate(world[0])
    observed = ObservedState.model_validate(world[1])
    try:
        report = build_drift(spec, observed)
    except DriftError:  # another account: drift makes no report, plan refuses everything
        assume(False)
        return
    plan = build_plan(spec, observed)
    missed = unanswered(report, plan, observed)
    assert not missed, [(i.address, i.severity.value, i.message) for i in missed]


def test_a_critical_extra_policy_without_a_plan_entry_is_caught() -> None:
    """The check itself can fail: a critical item the plan does not mention is reported."""
    item = DriftItem(
        address="ram_attachment.AliyunRDSInstanceEncryptionDefaultRole/AliyunKMSFullAccess",
        kind="changed",
        severity=Severity.CRITICAL,
        message="widens the role",
    )
    report = DriftReport(items=[item])
    assert unanswered(report, Plan(fingerprint="sha256:x"), ObservedState()) == [item]


def test_an_unmanaged_instance_with_a_pending_decryption_is_high_and_says_why_not_planned() -> None:
    """The one high item no plan answers with a change: the spec does not name the instance,
    and the plan never changes what the spec does not name. The item says so."""
    from reconciler.core.facts import ObservedInstance, ObservedTask

    instance = ObservedInstance(
        instance_id="pgm-aaaa0001",
        region="cn-hangzhou",
        engine="PostgreSQL",
        category="HighAvailability",
        class_code="pg.x4.large.2c",
        class_type="d",
        storage_type="cloud_essd",
        status="Running",
        managed=False,
        encryption={"enabled": False},
    )
    task = ObservedTask(
        task_id="t-0",
        instance_id="pgm-aaaa0001",
        status="Scheduled",
        task_type="ModifyDBInstanceConfig",
        encryption_target="disabled",
    )
    observed = ObservedState(
        instances={"pgm-aaaa0001": instance},
        tasks=[task],
        task_regions=["cn-hangzhou"],
        regions_listed=["cn-hangzhou"],
    )
    spec = Spec.model_validate({"version": 1, "defaults": {"region": "cn-hangzhou"}})
    report = build_drift(spec, observed)
    (item,) = [i for i in report.items if i.address == "rds_encryption.pgm-aaaa0001"]
    assert item.kind == Kind.UNMANAGED and item.severity == Severity.HIGH
    assert "never changed" in item.message and "t-0" in item.message
    assert build_plan(spec, observed).change(item.address) is None
    assert unanswered(report, build_plan(spec, observed), observed) == []
