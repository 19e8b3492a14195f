"""reconciler/shard.py with `accounts:` and fleets (pure): the (account, region) units, the
regions drift needs declared, and a shard's spec selecting in its own regions only."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler import shard as sharding
from reconciler.spec.models import Spec


def _spec(**more: Any) -> Spec:
    doc: dict[str, Any] = {
        "version": 1,
        "accounts": {
            "prod": {"role_arn": "acs:ram::1234567890123456:role/r", "regions": ["cn-beijing"]},
            "dev": {"role_arn": "acs:ram::2234567890123456:role/r"},
        },
        "defaults": {"region": "cn-hangzhou", "account": "prod"},
        "instances": {
            "pgm-bp1aaaa000000001": {"encryption": {"key": "service"}},
            "pgm-uf6aaaa000000001": {"account": "dev", "region": "cn-shanghai",
                                     "encryption": {"key": "service"}},
        },
        "fleets": {
            "web": {"select": {"regions": ["cn-hangzhou", "ap-northeast-1"],
                               "tags": {"env": "prod"}},
                    "encryption": {"key": "service"}},
        },
    }  # fmt: skip
    return Spec.model_validate({**doc, **more})


def test_the_units_are_each_accounts_regions_of_its_instances_keys_and_fleets() -> None:
    assert sharding.account_units(_spec()) == [
        ("prod", "ap-northeast-1"),
        ("prod", "cn-hangzhou"),
        ("dev", "cn-shanghai"),
    ]
    units = sharding.account_units(_spec())
    mine = sharding.shard_units(units, 2, 2)
    assert mine == [("prod", "ap-northeast-1")]  # sorted: dev/cn-shanghai is unit 1
    assert sharding.accounts_of(mine) == ["prod"]
    assert not sharding.owns_account(units, mine, "dev")
    assert sharding.owns_account(units, mine, "prod")


def test_drift_units_add_the_regions_read_and_need_them_known_without_a_read() -> None:
    with pytest.raises(sharding.ShardError, match=r"declare accounts\.dev\.regions or give"):
        sharding.account_drift_units(_spec(), ())
    given = sharding.account_drift_units(_spec(), ("cn-shenzhen",))
    assert ("dev", "cn-shenzhen") in given and ("prod", "cn-shenzhen") in given
    assert ("prod", "cn-beijing") not in given  # --region narrows every account
    declared = _spec()
    dev = declared.accounts["dev"].model_copy(update={"regions": ("cn-wulanchabu",)})
    declared.accounts["dev"] = dev
    units = sharding.account_drift_units(declared, ())
    assert ("prod", "cn-beijing") in units and ("dev", "cn-wulanchabu") in units


def test_a_shards_spec_keeps_a_fleet_selecting_only_in_its_regions() -> None:
    spec = _spec(accounts={})
    spec = spec.model_copy(update={"defaults": spec.defaults.model_copy(update={"account": None})})
    mine = sharding.shard_spec(spec, ["ap-northeast-1"], owner=False)
    assert mine.fleets["web"].select.regions == ("ap-northeast-1",)
    assert mine.fleets["web"].select.tags == {"env": "prod"}
    assert sharding.shard_spec(spec, ["cn-shanghai"], owner=False).fleets == {}
    assert sharding.spec_units(spec) == [
        (None, "ap-northeast-1"),
        (None, "cn-hangzhou"),
        (None, "cn-shanghai"),
    ]


def test_a_fleets_warning_stays_with_every_shard_ram_with_the_owner() -> None:
    assert not sharding.account_wide("fleets.web")
    assert sharding.account_wide("ram_role.AliyunRDSInstanceEncryptionDefaultRole")
    assert sharding.account_wide("account")
    assert not sharding.account_wide("rds_encryption.pgm-bp1aaaa000000001")
