"""Planner rules the golden cases do not show on their own."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from graphlib import CycleError

import pytest

from reconciler.core.facts import ObservedInstance, ObservedState, class_type_from_code
from reconciler.plan.actions import Action, RefusalCode
from reconciler.plan.model import Change
from reconciler.plan.order import order_changes
from reconciler.plan.planner import build_plan
from reconciler.spec.models import Spec

ACCOUNT = "1234567890123456"


def _instance(**over) -> ObservedInstance:
    fields = {
        "instance_id": "pgm-aaaa0001",
        "region": "cn-hangzhou",
        "engine": "PostgreSQL",
        "category": "Basic",
        "class_code": "pg.x4.large.2c",
        "class_type": "d",
        "storage_type": "cloud_essd",
        "status": "Running",
        "managed": True,
        "encryption": {"enabled": False},
    }
    return ObservedInstance.model_validate({**fields, **over})


def _spec(encryption: object = None, **over) -> Spec:
    doc = {
        "version": 1,
        "defaults": {"region": "cn-hangzhou"},
        "instances": {"pgm-aaaa0001": {"encryption": encryption or {"key": "service"}}},
    }
    return Spec.model_validate({**doc, **over})


@pytest.mark.parametrize(
    ("class_code", "expected"),
    [
        ("pg.n2.2c.1m", "x"),
        ("pg.n1e.2c.1m", "x"),
        ("pg.n2e.2c.1m", "x"),
        ("pg.x4.large.2c", "d"),
        ("pg.x8.medium.1", "d"),
        ("pg.s2.large", "s"),
        ("rds.pg.s1.small", "s"),
        ("pg.q9.odd.1", None),
        ("odd", None),
        ("", None),
    ],
)
def test_class_type_from_the_class_code(class_code, expected) -> None:
    assert class_type_from_code(class_code) == expected


@pytest.mark.parametrize("class_type", ["x", "s", None, "h", "unknown"])
def test_a_cmk_is_refused_on_every_class_type_but_dedicated(class_type) -> None:
    """An allow-list: only `d` passes; shared, general-purpose and unknown are refused."""
    spec = _spec(
        {"key": "key-0123456789abcdef"},
    )
    instance = _instance(class_code="pg.q9.odd.1", class_type=class_type)
    plan = build_plan(spec, ObservedState(instances={instance.instance_id: instance}))
    codes = {r.code for r in plan.refusals if r.address == "rds_encryption.pgm-aaaa0001"}
    assert RefusalCode.CMK_REQUIRES_DEDICATED_INSTANCE in codes


def test_created_at_datetime_is_stamped_as_utc_z() -> None:
    moment = datetime(2024, 5, 1, 14, 30, 5, 123, tzinfo=timezone(timedelta(hours=8)))
    plan = build_plan(Spec(), ObservedState(), created_at=moment)
    assert plan.created_at == "2024-05-01T06:30:05Z"
    assert build_plan(Spec(), ObservedState()).created_at is None


def test_refusals_cite_locations_given_as_dotted_paths_or_tuples() -> None:
    observed = ObservedState(account_id=ACCOUNT)
    for locations in (
        {"instances.pgm-aaaa0001": "a.yaml:3:3"},
        {("instances", "pgm-aaaa0001"): "a.yaml:3:3"},
    ):
        plan = build_plan(_spec(), observed, locations=locations)
        [refusal] = plan.refusals
        assert refusal.code is RefusalCode.INSTANCE_NOT_FOUND
        assert refusal.message.endswith("(a.yaml:3:3)")


def test_unread_ram_is_taken_as_missing_and_created() -> None:
    spec = _spec(ram={"manage": True})
    plan = build_plan(spec, ObservedState(account_id=ACCOUNT, ram=None))
    assert [c.address.split(".")[0] for c in plan.changes] == [
        "ram_policy",
        "ram_role",
        "ram_attachment",
    ]


@pytest.mark.parametrize("wanted", [{"key": "service"}, "disabled"])
def test_unread_encryption_of_a_managed_instance_is_refused_not_taken_as_off(wanted) -> None:
    observed = ObservedState(instances={"pgm-aaaa0001": _instance(encryption=None)})
    plan = build_plan(_spec(wanted), observed)
    assert plan.changes == []
    assert [r.code for r in plan.refusals] == [RefusalCode.ENCRYPTION_NOT_READ]


def test_account_guard_refuses_when_the_account_is_unknown() -> None:
    spec = _spec(defaults={"region": "cn-hangzhou", "account": ACCOUNT})
    observed = ObservedState(account_id=None, instances={"pgm-aaaa0001": _instance()})
    plan = build_plan(spec, observed)
    assert [r.code for r in plan.refusals] == [RefusalCode.ACCOUNT_MISMATCH]
    assert plan.has_changes, "the other changes are still listed"


def test_ram_is_left_alone_when_no_cmk_is_used_and_ram_is_omitted() -> None:
    observed = ObservedState(instances={"pgm-aaaa0001": _instance()})
    plan = build_plan(_spec(), observed)
    assert [c.address for c in plan.changes] == ["rds_encryption.pgm-aaaa0001"]


def test_change_carries_what_apply_needs() -> None:
    observed = ObservedState(
        instances={"pgm-aaaa0001": _instance(maintain_time="01:00Z-02:00Z")},
        service_keys={"cn-hangzhou": "key-svc000001"},
    )
    spec = _spec(defaults={"region": "cn-hangzhou", "restart": "maintenance-window"})
    [change] = build_plan(spec, observed).changes
    assert change.region == "cn-hangzhou" and change.target_id == "pgm-aaaa0001"
    assert change.scheduled and change.restart
    assert change.after["config_value"] == "ServiceKey"
    assert change.after["switch_time_mode"] == "MaintainTime"
    assert change.after["maintenance_window"] == "01:00Z-02:00Z"
    assert change.before == {"encryption": {"key": "disabled"}}


def _key_with_aliases(aliases: list[str]) -> dict:
    return {
        "key_id": "key-k0000001",
        "arn": f"acs:kms:cn-hangzhou:{ACCOUNT}:key/key-k0000001",
        "region": "cn-hangzhou",
        "state": "Enabled",
        "tags": {"acs:rds:instance-encryption": "true"},
        "aliases": aliases,
    }


def test_a_spec_key_found_by_its_alias_needs_no_alias() -> None:
    spec = Spec.model_validate({"kms_keys": {"k": {"alias": "alias/k"}}})
    key = _key_with_aliases(["alias/k"])
    observed = ObservedState.model_validate({"account_id": ACCOUNT, "keys": {"k": key}})
    assert build_plan(spec, observed).changes == []


def test_an_adopted_key_without_an_alias_gets_its_alias_and_is_not_created_again() -> None:
    """Observe adopts an alias-less key carrying the spec key's tags (a CreateKey whose
    answer was lost): the plan makes its alias, it creates no second key."""
    spec = Spec.model_validate({"kms_keys": {"k": {"alias": "alias/k"}}})
    observed = ObservedState.model_validate(
        {"account_id": ACCOUNT, "keys": {"k": _key_with_aliases([])}}
    )
    (change,) = build_plan(spec, observed).changes
    assert change.op_names == ["kms:CreateAlias"]
    assert change.operations[0].params == {"AliasName": "alias/k", "KeyId": "key-k0000001"}
    assert "adopted" in change.reason


def test_a_key_is_disabled_only_after_an_instance_leaves_it_whatever_its_type_label() -> None:
    # The key id is the fact; a KeyType label that disagrees must not drop the move-off edge
    # (KeyInUse saw the instance move off the key, so the disable was allowed to run first).
    spec = Spec.model_validate(
        {
            "defaults": {"restart": "immediate"},
            "kms_keys": {"old": {"alias": "alias/old", "state": "disabled"}},
            "instances": {"pgm-aaaa0001": {"encryption": "disabled"}},
        }
    )
    key = {
        "key_id": "key-old000001",
        "arn": f"acs:kms:cn-hangzhou:{ACCOUNT}:key/key-old000001",
        "region": "cn-hangzhou",
        "state": "Enabled",
        "tags": {"acs:rds:instance-encryption": "true"},
    }
    enc = {"enabled": True, "key_id": "key-old000001", "key_type": "ServiceKey"}
    observed = ObservedState.model_validate(
        {
            "account_id": ACCOUNT,
            "keys": {"old": key},
            "instances": {"pgm-aaaa0001": _instance(encryption=enc).model_dump()},
            "key_users": {
                "key-old000001": [{"instance_id": "pgm-aaaa0001", "used_by": "DiskEncryption"}]
            },
            "backup_regions": ["cn-hangzhou"],
            "task_regions": ["cn-hangzhou"],
        }
    )
    plan = build_plan(spec, observed)
    assert [c.address for c in plan.changes] == ["rds_encryption.pgm-aaaa0001", "kms_key.old"]
    assert plan.change("kms_key.old").depends_on == ["rds_encryption.pgm-aaaa0001"]


def test_order_never_hides_a_dependency_cycle() -> None:
    # A cycle is a planner bug; sorting by kind instead would run a key's disable before the
    # instance that leaves it, so it must fail loudly.
    changes = {
        a: Change(address=a, action=Action.UPDATE, operations=[])
        for a in ("kms_key.k", "rds_encryption.pgm-aaaa0001")
    }
    edges = {
        ("kms_key.k", "rds_encryption.pgm-aaaa0001"),
        ("rds_encryption.pgm-aaaa0001", "kms_key.k"),
    }
    with pytest.raises(CycleError):
        order_changes(changes, edges)


@pytest.mark.parametrize(("value", "usable"), [("true", True), ("True", True), ("yes", False)])
def test_literal_key_tag_value_is_compared_like_the_ram_policy_does(value, usable) -> None:
    # AliyunRDSInstanceEncryptionRolePolicy uses StringEqualsIgnoreCase on the tag value.
    key = {
        "key_id": "key-lit000001",
        "arn": f"acs:kms:cn-hangzhou:{ACCOUNT}:key/key-lit000001",
        "region": "cn-hangzhou",
        "state": "Enabled",
        "tags": {"acs:rds:instance-encryption": value},
    }
    observed = ObservedState.model_validate(
        {
            "account_id": ACCOUNT,
            "keys_by_id": {"key-lit000001": key},
            "instances": {"pgm-aaaa0001": _instance().model_dump()},
        }
    )
    plan = build_plan(_spec({"key": "key-lit000001"}, ram={"manage": True}), observed)
    refused = {r.code for r in plan.refusals}
    assert (RefusalCode.KEY_NOT_USABLE not in refused) is usable


_OLD_KEY = {
    "key_id": "key-old000001",
    "arn": f"acs:kms:cn-hangzhou:{ACCOUNT}:key/key-old000001",
    "region": "cn-hangzhou",
    "state": "Enabled",
    "tags": {"acs:rds:instance-encryption": "true"},
}


@pytest.mark.parametrize(
    ("census", "tasks", "refused_because"),
    [
        (None, [], "were not all read"),
        ([], None, "the task center of cn-hangzhou, DescribeHistoryTasks) were not all read"),
        ([], [], None),
        ([{"instance_id": "rm-mysql0001", "engine": "MySQL", "used_by": "TDE"}], [], "MySQL"),
        (
            [],
            [
                {
                    "task_id": "t-1",
                    "instance_id": "pgm-aaaa0001",
                    "status": "Scheduled",
                    "start_time": "2024-01-01T18:00:00Z",
                    "encryption_target": "key-old000001",
                }
            ],
            "switching to it: scheduled at 2024-01-01T18:00:00Z",
        ),
    ],
)
def test_key_in_use_comes_from_the_census_and_the_task_center(census, tasks, refused_because):
    """Users of a key: the cloud's census (any engine, TDE too), instances switching to it or
    scheduled to; a key whose census or task center was not read is never taken as unused."""
    spec = Spec.model_validate({"kms_keys": {"old": {"alias": "alias/old", "state": "disabled"}}})
    unmanaged = _instance(managed=False).model_dump()
    observed = ObservedState.model_validate(
        {
            "account_id": ACCOUNT,
            "keys": {"old": _OLD_KEY},
            "instances": {"pgm-aaaa0001": unmanaged},
            "key_users": {} if census is None else {"key-old000001": census},
            "tasks": tasks or [],
            "backup_regions": ["cn-hangzhou"],
            "task_regions": [] if tasks is None else ["cn-hangzhou"],
        }
    )
    plan = build_plan(spec, observed)
    if refused_because is None:
        assert plan.refusals == [] and plan.change("kms_key.old") is not None
        return
    [refusal] = plan.refusals
    assert refusal.code is RefusalCode.KEY_IN_USE
    assert refused_because in refusal.message
    assert plan.changes == []


def test_a_census_user_of_an_unknown_use_keeps_the_key_when_its_disk_moves_off() -> None:
    # Only a DiskEncryption user is freed by moving the disk; TDE (or a use the census does not
    # name) keeps the key whatever the plan does to the disk (docs/real-cloud.md, "TDE and the
    # key list").
    spec = Spec.model_validate(
        {
            "defaults": {"restart": "immediate"},
            "kms_keys": {"old": {"alias": "alias/old", "state": "disabled"}},
            "instances": {"pgm-aaaa0001": {"encryption": "disabled"}},
        }
    )
    key = {
        "key_id": "key-old000001",
        "arn": f"acs:kms:cn-hangzhou:{ACCOUNT}:key/key-old000001",
        "region": "cn-hangzhou",
        "state": "Enabled",
        "tags": {"acs:rds:instance-encryption": "true"},
    }
    enc = {"enabled": True, "key_id": "key-old000001", "key_type": "CMK"}
    for use, note in (("TDE", "a TDE user"), ("", "used by an unnamed use"), ("X", "used by X")):
        observed = ObservedState.model_validate(
            {
                "account_id": ACCOUNT,
                "keys": {"old": key},
                "instances": {"pgm-aaaa0001": _instance(encryption=enc).model_dump()},
                "key_users": {"key-old000001": [{"instance_id": "pgm-aaaa0001", "used_by": use}]},
                "backup_regions": ["cn-hangzhou"],
                "task_regions": ["cn-hangzhou"],
            }
        )
        plan = build_plan(spec, observed)
        assert [c.address for c in plan.changes] == ["rds_encryption.pgm-aaaa0001"]
        [refusal] = plan.refusals
        assert refusal.code == "KeyInUse" and f"pgm-aaaa0001 ({note}" in refusal.message


def _backup(backup_id: str, key_id: str | None, expires: str | None) -> dict[str, str | None]:
    return {
        "backup_id": backup_id,
        "instance_id": "pgm-aaaa0001",
        "key_id": key_id,
        "expires": expires,
    }


@pytest.mark.parametrize(
    ("regions", "sets", "refused_because"),
    [
        ([], [], "backup sets of cn-hangzhou (DescribeBackups) were not read"),
        (["cn-hangzhou"], [], None),
        (["cn-hangzhou"], [_backup("1", "key-other", "2024-02-01T00:00:00Z")], None),
        (
            ["cn-hangzhou"],
            [
                _backup("1", "key-old000001", "2024-02-01T00:00:00Z"),
                _backup("2", "key-old000001", "2024-01-09T00:00:00Z"),
            ],
            "2 backup sets of pgm-aaaa0001 (the last expires 2024-02-01T00:00:00Z)",
        ),
        (
            ["cn-hangzhou"],
            [_backup("1", "key-old000001", None)],
            "1 backup set of pgm-aaaa0001 (one has no expiry: it is kept until deleted by hand)",
        ),
    ],
)
def test_backup_sets_on_a_key_keep_it_in_use(regions, sets, refused_because) -> None:  # type: ignore[no-untyped-def]
    """Issue 18: an unexpired backup set of any instance of the region needs the key it was
    taken with; a region whose sets were not read is never taken as holding none."""
    spec = Spec.model_validate({"kms_keys": {"old": {"alias": "alias/old", "state": "disabled"}}})
    observed = ObservedState.model_validate(
        {
            "account_id": ACCOUNT,
            "keys": {"old": _OLD_KEY},
            "instances": {"pgm-aaaa0001": _instance(managed=False).model_dump()},
            "key_users": {"key-old000001": []},
            "backups": {"pgm-aaaa0001": sets},
            "backup_regions": regions,
            "task_regions": ["cn-hangzhou"],
        }
    )
    plan = build_plan(spec, observed)
    if refused_because is None:
        assert plan.refusals == [] and plan.change("kms_key.old") is not None
        return
    [refusal] = plan.refusals
    assert refusal.code is RefusalCode.KEY_IN_USE and refused_because in refusal.message
    assert plan.change("kms_key.old") is None


def test_a_plan_for_a_report_has_the_same_changes_and_no_fingerprint_or_digest() -> None:
    """drift and import read a plan for its changes, refusals and warnings only
    (build_plan(for_report=True)): it skips the two digests of every fact and of the spec."""
    observed = ObservedState(
        account_id=ACCOUNT,
        instances={
            "pgm-aaaa0001": _instance(),
            "pgm-aaaa0002": _instance(instance_id="pgm-aaaa0002", storage_type="cloud_ssd"),
        },
    )
    spec = _spec(
        instances={
            "pgm-aaaa0001": {"encryption": {"key": "service"}},
            "pgm-aaaa0002": {"encryption": {"key": "service"}},
        }
    )
    full, report = build_plan(spec, observed), build_plan(spec, observed, for_report=True)
    assert full.fingerprint and full.spec_digest, "a plan to apply carries both"
    assert (report.fingerprint, report.spec_digest) == ("", None)
    assert report.changes and report.refusals, "the comparison needs a change and a refusal"
    assert _tokenless(report) == _tokenless(full), "the same changes, ClientTokens aside"
    assert report.refusals == full.refusals and report.warnings == full.warnings


def _tokenless(plan) -> list[dict]:  # type: ignore[no-untyped-def]
    changes = [c.model_dump(mode="json") for c in plan.changes]
    for change in changes:
        for operation in change["operations"]:
            operation["params"].pop("ClientToken", None)
    return changes
