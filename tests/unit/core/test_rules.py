"""The shared rules (reconciler.core.rules) on the inputs each of their callers meets,
malformed ones included: an ARN without an account is None, never an IndexError."""

from __future__ import annotations

import pytest

from reconciler.core import rules
from reconciler.core.facts import ObservedKey

SERVICE_ID = "0d9f0c1e-service"


@pytest.mark.parametrize(
    ("key_id", "key_type", "service_key_id", "expected"),
    [
        ("k-1", "ServiceKey", None, True),  # the answer says so
        ("k-1", None, "k-1", True),  # the id of alias/acs/rds in the region
        ("k-1", "CMK", "k-1", True),  # the id decides even against the label
        ("", None, SERVICE_ID, True),  # on, but no key named: the service key
        (None, None, None, True),
        ("k-1", None, None, False),  # a key id, and no service key known
        ("k-1", "CMK", SERVICE_ID, False),
        ("k-1", None, SERVICE_ID, False),
    ],
)
def test_is_service_key(
    key_id: str | None, key_type: str | None, service_key_id: str | None, expected: bool
) -> None:
    assert rules.is_service_key(key_id, key_type, service_key_id) is expected


def test_an_unlabelled_key_is_typed_by_the_service_keys_id() -> None:
    assert rules.key_type_of(SERVICE_ID, SERVICE_ID) == "ServiceKey"
    assert rules.key_type_of("k-1", SERVICE_ID) == "CMK"
    assert rules.key_type_of("k-1", None) == "CMK"


def test_key_state_names_and_an_unknown_state_kept_as_it_is() -> None:
    assert [rules.key_state_name(s) for s in ("Enabled", "Disabled", "PendingDeletion")] == [
        "enabled",
        "disabled",
        "pending-deletion",
    ]
    assert rules.key_state_name("PendingImport") == "pending-import"
    assert rules.key_state_name("Frozen") == "Frozen"


def test_managed_tags_keep_the_users_and_the_rds_tag_but_no_other_acs_tag() -> None:
    tags = {
        "team": "db",
        "acs:rds:instance-encryption": "true",
        "acs:kms:created-by": "console",
        "ACS:other": "x",
    }
    assert rules.managed_tags(tags) == {"team": "db", "acs:rds:instance-encryption": "true"}
    assert rules.user_tags(tags) == {"team": "db"}


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("acs:kms:cn-hangzhou:1234567890123456:key/k-1", "1234567890123456"),
        (
            "acs:ram::1234567890123456:role/aliyunrdsinstanceencryptiondefaultrole",
            "1234567890123456",
        ),
        ("", None),
        ("acs:kms:cn-hangzhou", None),
        ("acs:kms:cn-hangzhou:1234567890123456", None),  # no resource part: not an ARN
        ("acs:kms:cn-hangzhou::key/k-1", None),  # an empty account is none
    ],
)
def test_account_of_arn_is_none_for_a_malformed_arn(arn: str, expected: str | None) -> None:
    assert rules.account_of_arn(arn) == expected


def test_a_keys_account_id_refuses_an_arn_without_an_account() -> None:
    key = ObservedKey(
        key_id="k-1", arn="acs:kms:cn-hangzhou", region="cn-hangzhou", state="Enabled"
    )
    with pytest.raises(ValueError, match="names no account"):
        _ = key.account_id
    good = key.model_copy(update={"arn": "acs:kms:cn-hangzhou:1234567890123456:key/k-1"})
    assert good.account_id == "1234567890123456"


def test_rotation_interval_round_trips_through_days() -> None:
    assert rules.rotation_interval(365) == "31536000s"
    assert rules.rotation_days("31536000s") == 365
    assert rules.rotation_days("31536000") == 365
    assert rules.rotation_days(None) is None
    assert rules.rotation_days("") is None
    assert all(rules.rotation_days(rules.rotation_interval(d)) == d for d in (7, 90, 730))
    with pytest.raises(ValueError):
        rules.rotation_days("a year")


def test_spec_alone_key_refusals() -> None:
    assert rules.usable_by_rds("enabled")
    assert not rules.usable_by_rds("disabled")
    assert not rules.usable_by_rds("pending-deletion")
    assert rules.deletion_protected_conflict("pending-deletion", True)
    assert not rules.deletion_protected_conflict("pending-deletion", False)
    assert not rules.deletion_protected_conflict("enabled", True)


@pytest.mark.parametrize(
    ("tags", "carries"),
    [
        ({"acs:rds:instance-encryption": "true"}, True),
        ({"acs:rds:instance-encryption": "True"}, True),
        ({"acs:rds:instance-encryption": "false"}, False),
        ({"acs:rds:instance-encryption": ""}, False),
        ({"ACS:RDS:INSTANCE-ENCRYPTION": "true"}, False),
        ({}, False),
    ],
)
def test_the_rds_tag_is_read_as_the_fixed_policy_reads_it(
    tags: dict[str, str], carries: bool
) -> None:
    """The plan and apply's guard at the write agree: the value ignores case (the policy's
    StringEqualsIgnoreCase), the key name does not."""
    assert rules.carries_rds_tag(tags) is carries
