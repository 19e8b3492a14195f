"""The read units of several processes (state/units.py): the partition of the quotas, the
part of the scope each unit reads, and the pure merge of their facts."""

from __future__ import annotations

import itertools

import pytest

from reconciler.core.facts import ObservedEncryption, ObservedRam, ObservedState
from reconciler.errors import ObserveError
from reconciler.permissions import ACTIONS
from reconciler.spec.models import Spec
from reconciler.state.processes import process_count
from reconciler.state.reads import ReadScope
from reconciler.state.units import (
    ReadUnit,
    account_unit,
    bucket_key,
    check_in_unit,
    merge_states,
    read_units,
    unit_scope,
)

SPEC = Spec.model_validate(
    {
        "version": 1,
        "defaults": {"region": "cn-shanghai"},
        "kms_keys": {
            "hz": {"alias": "alias/hz", "region": "cn-hangzhou"},
            "sh": {"alias": "alias/sh"},
        },
        "instances": {
            "pgm-hzone1": {"region": "cn-hangzhou", "encryption": {"key": "hz"}},
            "pgm-shone1": {"encryption": {"key": "sh"}},
            "pgm-bjone1": {"region": "cn-beijing", "encryption": {"key": "service"}},
        },
    }
)
SCOPE = ReadScope(spec=SPEC, regions=("cn-shenzhen",), all_instances=True)
UNITS = read_units(SCOPE)
SHANGHAI, HANGZHOU = ReadUnit(None, "cn-shanghai"), ReadUnit(None, "cn-hangzhou")


def unit_calls(unit: ReadUnit, reads_account: bool) -> set[tuple[str, str]]:
    """Every (service, region) a unit's process may call: its region, RAM for the account."""
    calls = set()
    for action in ACTIONS:
        service = action.name.split(":")[0]
        for region in [u.region for u in UNITS]:
            try:
                check_in_unit(unit, service, region, reads_account=reads_account)
            except ObserveError:
                continue
            calls.add((service, region, action.name.split(":")[1]))
    return calls


def test_every_region_read_is_one_unit() -> None:
    assert [u.region for u in UNITS] == ["cn-beijing", "cn-hangzhou", "cn-shanghai", "cn-shenzhen"]
    assert account_unit(SCOPE, UNITS) == SHANGHAI  # the default region's, as in one process


def test_two_units_never_share_a_token_bucket() -> None:
    """Quotas are per account and region (RAM's per account): each bucket a unit may spend is
    spent by that unit's process alone, so per-process buckets and learnt quotas are exact."""
    account = account_unit(SCOPE, UNITS)
    keys = {
        unit: {bucket_key(unit, *call) for call in unit_calls(unit, unit == account)}
        for unit in UNITS
    }
    assert all(keys.values())
    for one, other in itertools.combinations(UNITS, 2):
        assert not keys[one] & keys[other], (one, other)
    assert (None, "global", "ram:GetRole") in keys[account]


def test_a_unit_refuses_a_call_in_another_region_and_ram_outside_the_account_unit() -> None:
    with pytest.raises(ObserveError, match=r"cn-hangzhou.*another process"):
        check_in_unit(SHANGHAI, "rds", "cn-hangzhou", reads_account=True)
    with pytest.raises(ObserveError, match="ram"):
        check_in_unit(HANGZHOU, "ram", "cn-hangzhou", reads_account=False)
    check_in_unit(SHANGHAI, "ram", "cn-shanghai", reads_account=True)


def test_a_unit_reads_its_region_only_and_ram_only_in_the_account_unit() -> None:
    hz = unit_scope(SCOPE, HANGZHOU, reads_account=False)
    assert sorted(hz.spec.instances) == ["pgm-hzone1"] and sorted(hz.spec.kms_keys) == ["hz"]
    assert hz.spec.regions() == ["cn-hangzhou"] and hz.regions == ()
    assert hz.effective_ram() is None and not hz.account_reads
    sh = unit_scope(SCOPE, SHANGHAI, reads_account=True)
    assert sorted(sh.spec.instances) == ["pgm-shone1"]
    assert sh.effective_ram() == SCOPE.effective_ram() is not None  # a CMK: RAM is read once
    assert unit_scope(SCOPE, ReadUnit(None, "cn-shenzhen"), reads_account=False).regions == (
        "cn-shenzhen",
    )


def test_a_units_instances_and_keys_name_their_region_whether_written_or_the_default() -> None:
    """A worker's part has the unit's region as its default: an instance or key that relied on
    the spec's default carries that region written out; one that named it is kept as it was."""
    sh = unit_scope(SCOPE, SHANGHAI, reads_account=True)
    assert sh.spec.instances["pgm-shone1"].region == "cn-shanghai"
    assert sh.spec.kms_keys["sh"].region == "cn-shanghai"
    assert sh.spec.instances["pgm-shone1"].encryption == SPEC.instances["pgm-shone1"].encryption
    hz = unit_scope(SCOPE, HANGZHOU, reads_account=False)
    assert hz.spec.instances == {"pgm-hzone1": SPEC.instances["pgm-hzone1"]}
    assert hz.spec.kms_keys == {"hz": SPEC.kms_keys["hz"]}
    assert SPEC.instances["pgm-shone1"].region is None  # the whole spec is left as it was


def test_process_count_is_capped_by_units() -> None:
    assert process_count(8, 3) == 3
    assert process_count(1, 4) == 1
    assert 1 <= process_count(None, 4) <= 4


# --- merge -----------------------------------------------------------------------------------


def instance_state(region: str, instance_id: str, **fields: object) -> ObservedState:
    from reconciler.core.facts import ObservedInstance

    instance = ObservedInstance.model_validate(
        {
            "instance_id": instance_id,
            "region": region,
            "engine": "PostgreSQL",
            "engine_version": "16.0",
            "category": "HighAvailability",
            "status": "Running",
            "managed": True,
            "class_code": "pg.x4.large.2c",
            "storage_type": "cloud_essd",
            "encryption": ObservedEncryption(enabled=False),
        }
    )
    return ObservedState.model_validate(
        {
            "instances": {instance_id: instance},
            "regions_listed": [region],
            "service_keys": {region: f"key-{region}"},
            **fields,
        }
    )


def test_merge_of_disjoint_regions_with_ram_once_and_the_earliest_read() -> None:
    ram = ObservedRam()
    merged = merge_states(
        [
            (HANGZHOU, instance_state("cn-hangzhou", "pgm-hzone1", read_at="2026-01-02T03:04:06Z")),
            (
                SHANGHAI,
                instance_state(
                    "cn-shanghai",
                    "pgm-shone1",
                    ram=ram,
                    account_id="123",
                    read_at="2026-01-02T03:04:05Z",
                ),
            ),
        ],
        SHANGHAI,
    )
    assert list(merged.instances) == ["pgm-hzone1", "pgm-shone1"]
    assert merged.regions_listed == ["cn-hangzhou", "cn-shanghai"]
    assert merged.ram == ram and merged.account_id == "123"
    assert merged.read_at == "2026-01-02T03:04:05Z"


def test_merge_refuses_two_accounts_and_two_answers_for_one_resource() -> None:
    with pytest.raises(ObserveError, match="different accounts"):
        merge_states(
            [
                (HANGZHOU, instance_state("cn-hangzhou", "pgm-a", account_id="111")),
                (SHANGHAI, instance_state("cn-shanghai", "pgm-b", account_id="222")),
            ],
            SHANGHAI,
        )
    with pytest.raises(ObserveError, match="disagree on instances pgm-a"):
        merge_states(
            [
                (HANGZHOU, instance_state("cn-hangzhou", "pgm-a")),
                (SHANGHAI, instance_state("cn-shanghai", "pgm-a")),
            ],
            SHANGHAI,
        )


def test_merge_needs_the_account_unit_and_kms_off_anywhere_is_off() -> None:
    with pytest.raises(ObserveError, match="account's reads"):
        merge_states([(HANGZHOU, instance_state("cn-hangzhou", "pgm-a"))], SHANGHAI)
    merged = merge_states(
        [
            (HANGZHOU, instance_state("cn-hangzhou", "pgm-a", kms_activated=False)),
            (SHANGHAI, instance_state("cn-shanghai", "pgm-b", kms_status="InDebt")),
        ],
        SHANGHAI,
    )
    assert not merged.kms_activated and merged.kms_status == "NotEnabled"


def test_a_units_fleets_select_in_its_region_only() -> None:
    """A fleet over several regions is read region by region: each unit's part keeps the
    fleet narrowed to the unit's region (a fleet that relied on the spec's default region
    keeps it), and none where the fleet does not select (it read other regions' instances
    and service keys, which `check_in_unit` refused: `--processes` of a fleet failed)."""
    spec = SPEC.model_copy(
        update={
            "fleets": Spec.model_validate(
                {
                    "version": 1,
                    "fleets": {
                        "wide": {
                            "select": {"regions": ["cn-beijing", "cn-hangzhou"]},
                            "encryption": {"key": "service"},
                        },
                        "home": {
                            "select": {"tags": {"env": "prod"}},
                            "encryption": {"key": "service"},
                        },
                    },
                }
            ).fleets
        }
    )
    scope = ReadScope(spec=spec, all_instances=True)
    hz = unit_scope(scope, HANGZHOU, reads_account=False)
    assert sorted(hz.spec.fleets) == ["wide"]
    assert hz.spec.fleets["wide"].select.regions == ("cn-hangzhou",)
    assert hz.spec.regions() == ["cn-hangzhou"]
    sh = unit_scope(scope, SHANGHAI, reads_account=True)  # the default region
    assert sorted(sh.spec.fleets) == ["home"]
    assert sh.spec.fleets["home"].select.region_list("cn-shanghai") == ("cn-shanghai",)
    assert sh.spec.regions() == ["cn-shanghai"]
    assert spec.fleets["wide"].select.regions == ("cn-beijing", "cn-hangzhou")  # left as it was
