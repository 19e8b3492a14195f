"""Unit tests of the RAM policy evaluator (pure functions, no HTTP)."""

from __future__ import annotations

import json

import pytest

from reconciler.emulator.policy_eval import (
    Decision,
    MalformedPolicyError,
    evaluate,
    is_allowed,
    kms_key_context,
    parse_policy,
    trust_allows_service,
    wildcard_match,
)

KEY_ARN = "acs:kms:cn-hangzhou:1234567890123456:key/key-hzz6a7f0b1c2d3e4f5"
TAGGED = kms_key_context({"acs:rds:instance-encryption": "true", "team": "dba"})
UNTAGGED = kms_key_context({"team": "dba"})

# The system policy AliyunRDSInstanceEncryptionRolePolicy, verbatim (docs/real-cloud.md, RAM).
RDS_ROLE_POLICY = {
    "Version": "1",
    "Statement": [
        {
            "Action": ["kms:List*", "kms:DescribeKey", "kms:TagResource", "kms:UntagResource"],
            "Resource": ["acs:kms:*:*:*"],
            "Effect": "Allow",
        },
        {
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": ["acs:kms:*:*:*"],
            "Effect": "Allow",
            "Condition": {
                "StringEqualsIgnoreCase": {"kms:tag/acs:rds:instance-encryption": "true"}
            },
        },
    ],
}
RDS_TRUST = {
    "Statement": [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": ["rds.aliyuncs.com"]},
        }
    ],
    "Version": "1",
}


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


@pytest.mark.parametrize("action", ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"])
def test_system_policy_allows_crypto_on_a_tagged_key(action: str) -> None:
    assert is_allowed([RDS_ROLE_POLICY], action, KEY_ARN, TAGGED)


@pytest.mark.parametrize("action", ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"])
def test_system_policy_refuses_crypto_on_an_untagged_key(action: str) -> None:
    assert evaluate([RDS_ROLE_POLICY], action, KEY_ARN, UNTAGGED) is Decision.IMPLICIT_DENY


def test_tag_value_is_compared_ignoring_case_but_other_values_fail() -> None:
    upper = kms_key_context({"acs:rds:instance-encryption": "TRUE"})
    wrong = kms_key_context({"acs:rds:instance-encryption": "yes"})
    assert is_allowed([RDS_ROLE_POLICY], "kms:Encrypt", KEY_ARN, upper)
    assert not is_allowed([RDS_ROLE_POLICY], "kms:Encrypt", KEY_ARN, wrong)


def test_action_wildcards_and_case() -> None:
    assert is_allowed([RDS_ROLE_POLICY], "kms:ListAliases", KEY_ARN, UNTAGGED)
    assert is_allowed([RDS_ROLE_POLICY], "KMS:listkeys", KEY_ARN, UNTAGGED)
    assert not is_allowed([RDS_ROLE_POLICY], "kms:ScheduleKeyDeletion", KEY_ARN, TAGGED)
    qmark = _policy({"Effect": "Allow", "Action": "kms:?ncrypt", "Resource": "*"})
    assert is_allowed([qmark], "kms:Encrypt", KEY_ARN)
    assert not is_allowed([qmark], "kms:Decrypt", KEY_ARN)


def test_deny_wins_across_documents() -> None:
    deny = _policy({"Effect": "Deny", "Action": "kms:Decrypt", "Resource": KEY_ARN})
    assert evaluate([RDS_ROLE_POLICY, deny], "kms:Decrypt", KEY_ARN, TAGGED) is (
        Decision.EXPLICIT_DENY
    )
    assert is_allowed([RDS_ROLE_POLICY, deny], "kms:Encrypt", KEY_ARN, TAGGED)


def test_not_action_allows_everything_but_the_listed() -> None:
    doc = _policy({"Effect": "Allow", "NotAction": ["kms:Decrypt"], "Resource": "*"})
    assert is_allowed([doc], "kms:Encrypt", KEY_ARN)
    assert not is_allowed([doc], "kms:Decrypt", KEY_ARN)


def test_resource_patterns_scope_to_one_key_and_region() -> None:
    one_key = _policy({"Effect": "Allow", "Action": "kms:*", "Resource": KEY_ARN})
    other = KEY_ARN.replace("f5", "00")
    assert is_allowed([one_key], "kms:Encrypt", KEY_ARN)
    assert not is_allowed([one_key], "kms:Encrypt", other)
    shanghai = _policy({"Effect": "Allow", "Action": "kms:*", "Resource": "acs:kms:cn-shanghai:*"})
    assert not is_allowed([shanghai], "kms:Encrypt", KEY_ARN)
    alias_only = _policy({"Effect": "Allow", "Action": "kms:*", "Resource": "acs:kms:*:*:alias/*"})
    assert not is_allowed([alias_only], "kms:Encrypt", KEY_ARN)


def test_single_strings_stand_for_lists() -> None:
    doc = {
        "Version": "1",
        "Statement": {
            "Effect": "Allow",
            "Action": "kms:Encrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:tag/team": ["ops", "dba"]}},
        },
    }
    assert is_allowed([doc], "kms:Encrypt", KEY_ARN, TAGGED)
    assert not is_allowed([doc], "kms:Encrypt", KEY_ARN, kms_key_context({"team": "DBA"}))


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringNotEquals": {"kms:tag/team": "dba"}}, {"kms:tag/team": "ops"}, True),
        ({"StringNotEquals": {"kms:tag/team": "dba"}}, {}, True),  # missing key: Not* true
        ({"StringEquals": {"kms:tag/team": "dba"}}, {}, False),  # missing key: false
        ({"StringLike": {"kms:tag/team": "d*"}}, {"kms:tag/team": "dba"}, True),
        ({"StringLike": {"kms:tag/team": "D*"}}, {"kms:tag/team": "dba"}, False),
        ({"StringNotLike": {"kms:tag/team": "d?a"}}, {"kms:tag/team": "dba"}, False),
        ({"StringNotEqualsIgnoreCase": {"kms:tag/team": "DBA"}}, {"kms:tag/team": "dba"}, False),
        ({"NumericLessThan": {"x:n": "10"}}, {"x:n": "9"}, True),
        ({"NumericGreaterThanEquals": {"x:n": "10"}}, {"x:n": "9"}, False),
        ({"NumericNotEquals": {"x:n": "10"}}, {"x:n": "9"}, True),
        ({"Bool": {"acs:SecureTransport": True}}, {"acs:SecureTransport": "true"}, True),
        (
            {"DateLessThan": {"acs:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"acs:CurrentTime": "2026-11-22T07:28:55Z"},
            True,
        ),
        ({"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}, {"acs:SourceIp": "10.1.2.3"}, True),
        ({"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}, {"acs:SourceIp": "10.1.2.3"}, False),
        # keys under one operator are ANDed
        (
            {"StringEquals": {"kms:tag/team": "dba", "kms:tag/env": "prod"}},
            {"kms:tag/team": "dba"},
            False,
        ),
        # condition key names are case-insensitive
        ({"StringEquals": {"KMS:Tag/team": "dba"}}, {"kms:tag/team": "dba"}, True),
    ],
)
def test_condition_operators(condition: dict, context: dict, expected: bool) -> None:
    doc = _policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
    assert is_allowed([doc], "kms:Encrypt", KEY_ARN, context) is expected


def test_operators_are_anded() -> None:
    condition = {
        "StringEquals": {"kms:tag/team": "dba"},
        "StringEqualsIgnoreCase": {"kms:tag/acs:rds:instance-encryption": "true"},
    }
    doc = _policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
    assert is_allowed([doc], "kms:Encrypt", KEY_ARN, TAGGED)
    assert not is_allowed([doc], "kms:Encrypt", KEY_ARN, UNTAGGED)


def test_no_documents_is_an_implicit_deny() -> None:
    assert evaluate([], "kms:Encrypt", KEY_ARN) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        "[]",
        '{"Version": "2", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
        '{"Version": "1", "Statement": []}',
        '{"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}',
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*"}]}',
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*"}]}',
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "NotResource": "x"}]}',
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",'
        ' "Condition": {"StringSortOf": {"a": "b"}}}]}',
    ],
)
def test_malformed_documents_are_rejected(document: str) -> None:
    with pytest.raises(MalformedPolicyError):
        parse_policy(document)


def test_trust_policy_for_rds() -> None:
    assert trust_allows_service(RDS_TRUST, "rds.aliyuncs.com")
    assert trust_allows_service(json.dumps(RDS_TRUST), "RDS.aliyuncs.com")
    assert not trust_allows_service(RDS_TRUST, "ecs.aliyuncs.com")


def test_trust_policy_variants_that_do_not_let_rds_in() -> None:
    ram_only = {
        "Version": "1",
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"RAM": ["acs:ram::1234567890123456:root"]},
            }
        ],
    }
    denied = {
        "Version": "1",
        "Statement": [
            *RDS_TRUST["Statement"],
            {"Action": "sts:*", "Effect": "Deny", "Principal": {"Service": "rds.aliyuncs.com"}},
        ],
    }
    other_action = {
        "Version": "1",
        "Statement": [{**RDS_TRUST["Statement"][0], "Action": "sts:GetCallerIdentity"}],
    }
    assert not trust_allows_service(ram_only, "rds.aliyuncs.com")
    assert not trust_allows_service(denied, "rds.aliyuncs.com")
    assert not trust_allows_service(other_action, "rds.aliyuncs.com")
    assert not trust_allows_service("{broken", "rds.aliyuncs.com")


def test_wildcard_match_edges() -> None:
    assert wildcard_match("*", "")
    assert wildcard_match("a*b", "ab")
    assert not wildcard_match("a?b", "ab")
    assert wildcard_match("acs:kms:*:*:key/*", KEY_ARN)
    assert not wildcard_match("ACS:kms:*", KEY_ARN)
    assert wildcard_match("a.b", "a.b") and not wildcard_match("a.b", "axb")
