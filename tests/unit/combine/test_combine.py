"""combine_plans and combine_drift (reconciler/combine.py): one document of disjoint parts."""

from __future__ import annotations

import pytest

from reconciler.combine import CombineError, combine_drift, combine_plans
from reconciler.drift.model import (
    Coverage,
    DriftItem,
    DriftReport,
    Kind,
    RegionCoverage,
    RunInfo,
    Severity,
    UnencryptedInstance,
)
from reconciler.errors import ReconcilerError
from reconciler.plan.actions import Action, RefusalCode, WarningCode
from reconciler.plan.model import Change, Operation, Plan, PlanWarning, Refusal, summarise

SPEC = "a" * 64


def _change(instance: str, region: str) -> Change:
    return Change(
        address=f"rds_encryption.{instance}",
        action=Action.UPDATE,
        operations=[Operation(op="rds:ModifyDBInstanceEncryption", params={"Id": instance})],
        restart=True,
        region=region,
    )


def _plan(*changes: Change, refused: str = "", warned: str = "", **fields: object) -> Plan:
    refusals = [Refusal(address=refused, code=RefusalCode.INSTANCE_NOT_FOUND, message="gone")]
    warnings = [PlanWarning(address=warned, code=WarningCode.RESTART_REQUIRED, message="w")]
    return Plan(
        fingerprint=fields.pop("fingerprint", "f" * 64),  # type: ignore[arg-type]
        spec_digest=fields.pop("spec_digest", SPEC),  # type: ignore[arg-type]
        changes=list(changes),
        refusals=refusals if refused else [],
        warnings=warnings if warned else [],
        summary=summarise(list(changes), refusals if refused else []),
        **fields,  # type: ignore[arg-type]
    )


def test_plans_merge_in_the_planners_apply_order_and_resort_refusals_and_warnings() -> None:
    """Changes in the order one unsharded plan gives (reconciler/plan/order.py: kind, then
    address, within the parts' dependency edges), not part by part."""
    first = _plan(
        _change("pgm-b", "cn-hangzhou"),
        _change("pgm-a", "cn-hangzhou"),
        refused="rds_encryption.pgm-z",
        created_at="2026-01-02T00:00:00Z",
    )
    second = _plan(
        _change("pgm-c", "cn-beijing"),
        refused="rds_encryption.pgm-d",
        warned="rds_encryption.pgm-c",
        created_at="2026-01-01T00:00:00Z",
    )
    merged = combine_plans([first, second])
    assert [c.address for c in merged.changes] == [
        "rds_encryption.pgm-a",
        "rds_encryption.pgm-b",
        "rds_encryption.pgm-c",
    ]
    assert [r.address for r in merged.refusals] == ["rds_encryption.pgm-d", "rds_encryption.pgm-z"]
    assert [w.address for w in merged.warnings] == ["rds_encryption.pgm-c"]
    assert merged.summary.update == 3 and merged.summary.restart == 3
    assert merged.summary.refused == 2
    assert merged.created_at == "2026-01-01T00:00:00Z"
    assert merged.spec_digest == SPEC
    assert merged.plan_id is None  # a report of the whole, not one plan to apply


def test_the_fingerprint_is_over_the_parts_and_their_order() -> None:
    one, two = _plan(fingerprint="1" * 64), _plan(fingerprint="2" * 64)
    assert combine_plans([one, two]).fingerprint != combine_plans([two, one]).fingerprint
    assert combine_plans([one, two]).fingerprint == combine_plans([one, two]).fingerprint
    assert combine_plans([one]).fingerprint != one.fingerprint


def test_plans_of_different_specs_are_refused() -> None:
    with pytest.raises(CombineError, match=r"different spec digests.*part 2: b+"):
        combine_plans([_plan(), _plan(spec_digest="b" * 64)])


def test_an_address_in_two_plans_is_refused_naming_it_and_the_parts() -> None:
    first = _plan(_change("pgm-a", "cn-hangzhou"))
    second = _plan(refused="rds_encryption.pgm-a")
    with pytest.raises(ReconcilerError, match=r"rds_encryption\.pgm-a is in part 1 and part 2"):
        combine_plans([first, second])


def test_nothing_to_combine_is_an_error() -> None:
    with pytest.raises(ValueError, match="no part"):
        combine_plans([])
    with pytest.raises(ValueError, match="no part"):
        combine_drift([])


def _coverage(region: str, instances: int, unencrypted: list[str]) -> Coverage:
    counts = RegionCoverage(
        instances=instances,
        encrypted=instances - len(unencrypted),
        service_key=instances - len(unencrypted),
        not_encrypted=len(unencrypted),
    )
    return Coverage(
        **counts.model_dump(),
        regions={region: counts},
        unencrypted=[
            UnencryptedInstance(instance_id=i, region=region, managed=False) for i in unencrypted
        ],
    )


def _report(region: str, *items: DriftItem, **run: object) -> DriftReport:
    info = {"spec_digest": SPEC, "tool_version": "0.2.0", "regions_read": [region], **run}
    return DriftReport(
        run=RunInfo(**info),  # type: ignore[arg-type]
        items=list(items),
        coverage=_coverage(region, 2, [f"pgm-{region[3:]}"]),
        checked=[f"rds_encryption.pgm-{region}"],
        spec_files=["spec/a.yaml"],
    )


def _item(address: str, severity: Severity, kind: Kind = Kind.CHANGED) -> DriftItem:
    return DriftItem(address=address, kind=kind, severity=severity, message="m")


def test_drift_items_coverage_and_run_combine() -> None:
    east = _report(
        "cn-hangzhou",
        _item("rds_encryption.pgm-x", Severity.LOW),
        read_at="2026-01-02T00:00:00Z",
        account_id="1111111111111111",
    )
    west = _report(
        "cn-beijing",
        _item("rds_encryption.pgm-y", Severity.HIGH),
        _item("rds_encryption.pgm-u", Severity.INFO, Kind.UNMANAGED),
        read_at="2026-01-01T00:00:00Z",
        account_id="1111111111111111",
    )
    merged = combine_drift([east, west])
    assert [i.address for i in merged.items] == [
        "rds_encryption.pgm-y",
        "rds_encryption.pgm-x",
        "rds_encryption.pgm-u",
    ]
    assert merged.summary.items == 3 and merged.summary.high == 1 and merged.summary.drift
    assert merged.coverage.instances == 4 and merged.coverage.not_encrypted == 2
    assert list(merged.coverage.regions) == ["cn-beijing", "cn-hangzhou"]
    assert [u.region for u in merged.coverage.unencrypted] == ["cn-beijing", "cn-hangzhou"]
    assert merged.run.regions_read == ["cn-beijing", "cn-hangzhou"]
    assert merged.run.read_at == "2026-01-01T00:00:00Z"
    assert merged.run.account_id == "1111111111111111"
    assert merged.checked == ["rds_encryption.pgm-cn-beijing", "rds_encryption.pgm-cn-hangzhou"]
    assert merged.spec_files == ["spec/a.yaml"]


def test_drift_lists_every_account_read() -> None:
    east = _report("cn-hangzhou", account_id="2222222222222222")
    west = _report("cn-beijing", account_id="1111111111111111")
    assert combine_drift([east, west]).run.account_id == "1111111111111111,2222222222222222"


def test_a_region_covered_by_two_reports_is_refused() -> None:
    one = _report("cn-hangzhou")
    two = one.model_copy(update={"checked": [], "run": one.run})
    with pytest.raises(CombineError, match="region cn-hangzhou is in part 1 and part 2"):
        combine_drift([one, two])


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("spec_digest", "b" * 64, "spec digest"),
        ("tool_version", "0.3.0", "tool version"),
    ],
)
def test_drift_of_another_spec_or_tool_is_refused(field: str, value: str, what: str) -> None:
    other = _report("cn-beijing", **{field: value})
    with pytest.raises(CombineError, match=f"different {what}s"):
        combine_drift([_report("cn-hangzhou"), other])


def test_the_same_drift_address_in_two_reports_is_refused() -> None:
    one = _report("cn-hangzhou", _item("ram_role.R", Severity.HIGH))
    two = _report("cn-beijing", _item("ram_role.R", Severity.HIGH))
    with pytest.raises(CombineError, match=r"ram_role\.R is in part 1 and part 2"):
        combine_drift([one, two])


def _fleet_warning(*ids: str) -> PlanWarning:
    from reconciler.kinds.rds_encryption.fleets import _left_out

    found = _left_out("web", [f"{i} (EncryptionUnsupportedStorage)" for i in ids])
    return PlanWarning(address=found.address, code=found.code, message=found.message)


def test_a_fleets_warning_over_several_shards_is_joined_as_one_reading_writes_it() -> None:
    """A fleet's regions in two shards: each names its own left-out instances; the merge is
    the message of all of them, the first 20 by id and `and N more` (no overlap error)."""
    ids = [f"pgm-{n:03d}" for n in range(30)]
    whole = _fleet_warning(*ids)
    parts = [_plan(), _plan()]
    parts[0] = parts[0].model_copy(update={"warnings": [_fleet_warning(*ids[1::2])]})
    parts[1] = parts[1].model_copy(update={"warnings": [_fleet_warning(*ids[0::2])]})
    assert combine_plans(parts).warnings == [whole]
    assert "; and 10 more." in whole.message and "pgm-019 " in whole.message


def test_a_fleets_warning_that_is_not_the_fleets_own_text_is_not_joined() -> None:
    odd = PlanWarning(
        address="fleets.web", code=WarningCode.FLEET_MEMBERS_UNENCRYPTABLE, message="other"
    )
    parts = [_plan().model_copy(update={"warnings": [w]}) for w in (odd, _fleet_warning("x"))]
    with pytest.raises(CombineError, match=r"warnings of fleets\.web cannot be joined"):
        combine_plans(parts)
    twice = [_plan(warned="rds_encryption.pgm-c"), _plan(warned="rds_encryption.pgm-c")]
    with pytest.raises(CombineError, match="overlap"):
        combine_plans(twice)
