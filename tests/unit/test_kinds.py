"""The registry of resource kinds (reconciler/kinds): every address prefix has exactly one
kind, in apply order, and an address no kind owns is an error, never a guess."""

from __future__ import annotations

import pytest

from reconciler.errors import ReconcilerError
from reconciler.kinds import (
    KINDS,
    KMS_KEY,
    PREFIXES,
    RAM,
    RDS_ENCRYPTION,
    UnknownKindError,
    apply_rank,
    find_kind,
    kind_of,
)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("rds_encryption.pgm-1", RDS_ENCRYPTION),
        ("kms_key.app", KMS_KEY),
        ("ram_policy.AliyunRDSInstanceEncryptionRolePolicy", RAM),
        ("ram_role.AliyunRDSInstanceEncryptionDefaultRole", RAM),
        ("ram_attachment.role/policy", RAM),
    ],
)
def test_each_prefix_has_its_kind(address: str, kind: object) -> None:
    assert kind_of(address) is kind
    assert find_kind(address) is kind
    assert kind_of(address).owns(address)


@pytest.mark.parametrize("address", ["rds_tdes.pgm-1", "ram.x", "kms_keys.app", "", "Kms_key.a"])
def test_an_address_no_kind_owns_is_refused(address: str) -> None:
    assert find_kind(address) is None
    with pytest.raises(UnknownKindError, match="no resource kind owns address") as raised:
        kind_of(address)
    assert isinstance(raised.value, ReconcilerError)
    assert isinstance(raised.value, ValueError)


def test_the_registry_is_in_apply_order_and_no_prefix_has_two_kinds() -> None:
    assert [k.name for k in KINDS] == ["ram", "kms_key", "rds_encryption", "rds_tde"]
    assert PREFIXES == (
        "ram_policy",
        "ram_role",
        "ram_attachment",
        "kms_key",
        "rds_encryption",
        "rds_tde",
    )
    assert len(set(PREFIXES)) == len(PREFIXES)
    ranks = [apply_rank(f"{p}.x") for p in PREFIXES]
    assert ranks == sorted(ranks) and apply_rank("other.x") > max(ranks)


def test_only_instances_run_in_parallel_and_only_ram_changes_what_ram_allows() -> None:
    assert [k.name for k in KINDS if k.runs_in_parallel] == ["rds_encryption", "rds_tde"]
    assert [k.name for k in KINDS if k.writes_ram] == ["ram"]
