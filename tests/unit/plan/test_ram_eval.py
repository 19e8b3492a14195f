"""The planner's RAM policy evaluator: what the role's attached documents let RDS do with a key.

Rules from docs/real-cloud.md, RAM: policy evaluation (Deny wins, wildcards, Condition
operators, NotAction); where the documents are silent the evaluator answers "cannot tell"
rather than guess in either direction (fail closed).
"""

from __future__ import annotations

import copy

import pytest

from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
)
from reconciler.plan.ram_eval import (
    KEY_USE_ACTIONS,
    Verdict,
    evaluate,
    key_use_request,
    trust_lets_service_assume,
)

ARN = "acs:kms:cn-hangzhou:1234567890123456:key/key-hzprod0001"
TAGGED = {"acs:rds:instance-encryption": "true"}
POLICY = RDS_ENCRYPTION_POLICY_DOCUMENT


def _verdict(documents, action="kms:Decrypt", tags=None, resource=ARN) -> Verdict:  # type: ignore[no-untyped-def]
    named = [(f"p{n}", d) for n, d in enumerate(documents)]
    request = key_use_request(action, resource, TAGGED if tags is None else tags)
    return evaluate(named, request).verdict


def _statement(**fields) -> dict:  # type: ignore[no-untyped-def]
    return {"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*", **fields}]}


def test_the_fixed_policy_lets_rds_use_a_tagged_key() -> None:
    for action in KEY_USE_ACTIONS:
        assert _verdict([POLICY], action) is Verdict.ALLOWED, action
    assert set(KEY_USE_ACTIONS) >= {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
    }


def test_the_fixed_policy_does_not_allow_crypto_on_an_untagged_key() -> None:
    assert _verdict([POLICY], "kms:Encrypt", tags={}) is Verdict.NOT_ALLOWED
    assert _verdict([POLICY], "kms:Encrypt", tags={"acs:rds:instance-encryption": "TRUE"}) is (
        Verdict.ALLOWED
    ), "StringEqualsIgnoreCase"


def test_no_document_allows_nothing() -> None:
    assert _verdict([]) is Verdict.NOT_ALLOWED


def test_deny_in_any_document_wins() -> None:
    deny = {
        "Version": "1",
        "Statement": [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}],
    }
    result = evaluate(
        [("ours", POLICY), ("guard", deny)], key_use_request("kms:Decrypt", ARN, TAGGED)
    )
    assert result.verdict is Verdict.DENIED
    assert result.policies == ("guard",)
    assert _verdict([POLICY, deny], "kms:Encrypt") is Verdict.ALLOWED


@pytest.mark.parametrize(
    ("action_pattern", "verdict"),
    [
        ("kms:*", Verdict.ALLOWED),
        ("*", Verdict.ALLOWED),
        ("KMS:DECRYPT", Verdict.ALLOWED),
        ("kms:De?rypt", Verdict.ALLOWED),
        ("kms:Encrypt", Verdict.NOT_ALLOWED),
        ("kms:Decrypt*", Verdict.ALLOWED),
        ("ecs:*", Verdict.NOT_ALLOWED),
    ],
)
def test_action_wildcards_ignore_case(action_pattern: str, verdict: Verdict) -> None:
    assert _verdict([_statement(Action=action_pattern)]) is verdict


@pytest.mark.parametrize(
    ("resource", "verdict"),
    [
        ("acs:kms:*:*:*", Verdict.ALLOWED),
        ("acs:kms:cn-hangzhou:*:key/*", Verdict.ALLOWED),
        ("acs:kms:cn-shanghai:*:key/*", Verdict.NOT_ALLOWED),
        ("acs:kms:*:*:key/key-hzprod000?", Verdict.ALLOWED),
        ("acs:kms:*:*:alias/*", Verdict.NOT_ALLOWED),
        ("acs:kms:*:*:key/KEY-HZPROD0001", Verdict.UNKNOWN),
    ],
)
def test_resource_wildcards_are_case_sensitive_and_a_case_only_match_is_unknown(
    resource: str, verdict: Verdict
) -> None:
    assert _verdict([_statement(Action="kms:*", Resource=resource)]) is verdict


def test_a_deny_that_matches_only_by_case_is_not_taken_as_harmless() -> None:
    deny = {
        "Version": "1",
        "Statement": [{"Effect": "Deny", "Action": "kms:*", "Resource": "acs:kms:*:*:KEY/*"}],
    }
    assert _verdict([POLICY, deny]) is Verdict.UNKNOWN


def test_not_action() -> None:
    allow_all_but_ram = {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"}],
    }
    assert _verdict([allow_all_but_ram]) is Verdict.ALLOWED
    deny_all_but_describe = {
        "Version": "1",
        "Statement": [{"Effect": "Deny", "NotAction": ["kms:DescribeKey"], "Resource": "*"}],
    }
    assert _verdict([POLICY, deny_all_but_describe], "kms:Decrypt") is Verdict.DENIED
    assert _verdict([POLICY, deny_all_but_describe], "kms:DescribeKey") is Verdict.ALLOWED


def test_not_resource_is_undocumented_so_unknown() -> None:
    doc = {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "kms:*", "NotResource": "acs:ram:*:*:*"}],
    }
    assert _verdict([doc]) is Verdict.UNKNOWN
    assert _verdict(
        [POLICY, {**doc, "Statement": [{**doc["Statement"][0], "Effect": "Deny"}]}]
    ) is (Verdict.UNKNOWN)
    # An Allow it cannot read does not spoil an Allow it can, since Deny is all that overrides.
    assert _verdict([POLICY, doc]) is Verdict.ALLOWED


@pytest.mark.parametrize(
    ("condition", "verdict"),
    [
        ({"StringEquals": {"kms:tag/acs:rds:instance-encryption": "true"}}, Verdict.ALLOWED),
        ({"StringEquals": {"kms:tag/acs:rds:instance-encryption": "True"}}, Verdict.NOT_ALLOWED),
        (
            {"StringEqualsIgnoreCase": {"KMS:TAG/ACS:RDS:INSTANCE-ENCRYPTION": "True"}},
            Verdict.ALLOWED,
        ),
        ({"StringLike": {"kms:tag/acs:rds:instance-encryption": "t*"}}, Verdict.ALLOWED),
        ({"StringLike": {"kms:tag/acs:rds:instance-encryption": "T*"}}, Verdict.NOT_ALLOWED),
        ({"StringNotLike": {"kms:tag/acs:rds:instance-encryption": "f*"}}, Verdict.ALLOWED),
        ({"StringNotEquals": {"kms:tag/acs:rds:instance-encryption": "true"}}, Verdict.NOT_ALLOWED),
        ({"StringNotEqualsIgnoreCase": {"kms:tag/team": "dba"}}, Verdict.ALLOWED),
        ({"StringEquals": {"kms:tag/team": "dba"}}, Verdict.NOT_ALLOWED),
        (
            {"StringEquals": {"kms:tag/acs:rds:instance-encryption": ["false", "true"]}},
            Verdict.ALLOWED,
        ),
        (
            {"StringEquals": {"kms:tag/acs:rds:instance-encryption": "true", "kms:tag/x": "1"}},
            Verdict.NOT_ALLOWED,
        ),
        ({"Bool": {"acs:SecureTransport": "true"}}, Verdict.ALLOWED),
        ({"Bool": {"acs:SecureTransport": True}}, Verdict.ALLOWED),
        ({"Bool": {"acs:SecureTransport": "false"}}, Verdict.NOT_ALLOWED),
        ({"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}, Verdict.UNKNOWN),
        ({"DateLessThan": {"acs:CurrentTime": "2030-01-01T00:00:00Z"}}, Verdict.UNKNOWN),
        (
            {"StringEqualsIfExists": {"kms:tag/acs:rds:instance-encryption": "true"}},
            Verdict.UNKNOWN,
        ),
        (
            {
                "StringEquals": {"kms:tag/acs:rds:instance-encryption": "nope"},
                "DateLessThan": {"acs:CurrentTime": "2030-01-01T00:00:00Z"},
            },
            Verdict.NOT_ALLOWED,
        ),
    ],
)
def test_conditions(condition: dict, verdict: Verdict) -> None:
    doc = _statement(Action="kms:Decrypt", Condition=condition)
    assert _verdict([doc]) is verdict


def test_a_deny_on_a_condition_it_cannot_evaluate_is_unknown_not_harmless() -> None:
    deny = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}},
            }
        ],
    }
    assert _verdict([POLICY, deny]) is Verdict.UNKNOWN


def test_a_deny_on_insecure_transport_does_not_stop_rds() -> None:
    deny = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"Bool": {"acs:SecureTransport": "false"}},
            }
        ],
    }
    assert _verdict([POLICY, deny]) is Verdict.ALLOWED


def test_describe_key_carries_no_tag_keys_that_the_evaluator_can_rely_on() -> None:
    """KMS documents kms:tag/ keys for Encrypt, Decrypt and GenerateDataKey only."""
    doc = _statement(
        Action="kms:DescribeKey",
        Condition={"StringEquals": {"kms:tag/acs:rds:instance-encryption": "true"}},
    )
    assert _verdict([doc], "kms:DescribeKey") is Verdict.UNKNOWN


@pytest.mark.parametrize(
    "document",
    [
        {"Version": "2", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        {"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]},
        {"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*"}]},
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*"}]},
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": 3, "Resource": "*"}]},
        {"Version": "1", "Statement": "everything"},
        {
            "Version": "1",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": 1}],
        },
    ],
)
def test_what_it_cannot_read_is_unknown(document: dict) -> None:
    assert _verdict([document]) is Verdict.UNKNOWN
    unreadable_effect = (
        document["Statement"] != "everything"
        and isinstance(document["Statement"], list)
        and document["Statement"][0].get("Effect") == "Maybe"
    )
    if unreadable_effect or document.get("Version") == "2" or document["Statement"] == "everything":
        # It may deny: even the fixed policy beside it is not enough.
        assert _verdict([POLICY, document]) is Verdict.UNKNOWN


def test_spellings_ram_accepts() -> None:
    doc = copy.deepcopy(POLICY)
    doc["Version"] = 1
    for statement in doc["Statement"]:
        statement["Effect"] = statement["Effect"].lower()
    doc["Statement"][1]["Resource"] = "acs:kms:*:*:*"
    assert _verdict([doc]) is Verdict.ALLOWED
    single = {"Version": "1", "Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}
    assert _verdict([single]) is Verdict.ALLOWED


def test_administrator_access_allows() -> None:
    admin = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert _verdict([admin]) is Verdict.ALLOWED


def test_the_result_names_the_policies_it_could_not_decide() -> None:
    unknown = _statement(Action="kms:*", Condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}})
    result = evaluate([("a", unknown)], key_use_request("kms:Decrypt", ARN, TAGGED))
    assert result.verdict is Verdict.UNKNOWN and result.policies == ("a",)


# --- trust ------------------------------------------------------------------------------------


def _trust(*statements: dict) -> dict:
    return {"Version": "1", "Statement": list(statements)}


def _assume(principal: object, effect: str = "Allow", **more) -> dict:  # type: ignore[no-untyped-def]
    return {"Effect": effect, "Action": "sts:AssumeRole", "Principal": principal, **more}


@pytest.mark.parametrize(
    ("document", "verdict"),
    [
        (RDS_ENCRYPTION_TRUST_DOCUMENT, Verdict.ALLOWED),
        (_trust(_assume({"Service": "rds.aliyuncs.com"})), Verdict.ALLOWED),
        (_trust(_assume({"Service": ["ecs.aliyuncs.com", "RDS.aliyuncs.com"]})), Verdict.ALLOWED),
        (_trust(_assume({"Service": ["ecs.aliyuncs.com"]})), Verdict.NOT_ALLOWED),
        (_trust(_assume({"RAM": ["acs:ram::1234567890123456:root"]})), Verdict.NOT_ALLOWED),
        (
            _trust(
                _assume({"Service": "rds.aliyuncs.com"}),
                _assume({"Service": "rds.aliyuncs.com"}, effect="Deny"),
            ),
            Verdict.DENIED,
        ),
        (
            _trust(
                _assume(
                    {"Service": "rds.aliyuncs.com"},
                    Condition={"StringEquals": {"sts:ExternalId": "x"}},
                )
            ),
            Verdict.UNKNOWN,
        ),
        (
            _trust(
                {"Effect": "Allow", "Action": "sts:*", "Principal": {"Service": "rds.aliyuncs.com"}}
            ),
            Verdict.ALLOWED,
        ),
        (
            _trust(
                {"Effect": "Allow", "Action": "ecs:*", "Principal": {"Service": "rds.aliyuncs.com"}}
            ),
            Verdict.NOT_ALLOWED,
        ),
        ({"Version": "1", "Statement": []}, Verdict.NOT_ALLOWED),
        ({"Statement": "x"}, Verdict.UNKNOWN),
    ],
)
def test_trust(document: dict, verdict: Verdict) -> None:
    assert trust_lets_service_assume(document, "rds.aliyuncs.com").verdict is verdict
