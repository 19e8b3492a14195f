"""RAM documents are compared by meaning, never as strings."""

from __future__ import annotations

import copy
import json

import pytest

from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
    normalise_document,
    same_policy_document,
)

POLICY = RDS_ENCRYPTION_POLICY_DOCUMENT
TRUST = RDS_ENCRYPTION_TRUST_DOCUMENT


def test_reference_texts_match_the_documented_json() -> None:
    # Alibaba's documents, verbatim (docs/real-cloud.md, RAM): the canonical texts must be these.
    documented_trust = (
        '{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":'
        '{"Service":["rds.aliyuncs.com"]}}],"Version":"1"}'
    )
    assert json.loads(documented_trust) == TRUST
    assert POLICY["Statement"][1]["Condition"] == {
        "StringEqualsIgnoreCase": {"kms:tag/acs:rds:instance-encryption": "true"}
    }


def test_key_order_and_statement_order_do_not_matter() -> None:
    reordered = {"Statement": list(reversed(POLICY["Statement"])), "Version": "1"}
    assert same_policy_document(reordered, POLICY)


def test_action_order_effect_case_and_version_number_do_not_matter() -> None:
    doc = copy.deepcopy(POLICY)
    doc["Version"] = 1
    doc["Statement"][0]["Action"].reverse()
    doc["Statement"][0]["Effect"] = "allow"
    doc["Statement"][1]["Effect"] = "ALLOW"
    assert same_policy_document(doc, POLICY)


def test_one_string_equals_a_one_item_list() -> None:
    doc = copy.deepcopy(TRUST)
    doc["Statement"][0]["Principal"]["Service"] = "rds.aliyuncs.com"
    doc["Statement"][0]["Action"] = ["sts:AssumeRole"]
    assert same_policy_document(doc, TRUST)
    one = copy.deepcopy(POLICY)
    one["Statement"][1]["Condition"]["StringEqualsIgnoreCase"][
        "kms:tag/acs:rds:instance-encryption"
    ] = ["true"]
    assert same_policy_document(one, POLICY)


def test_a_single_statement_object_equals_a_one_item_list() -> None:
    doc = {"Version": "1", "Statement": TRUST["Statement"][0]}
    assert same_policy_document(doc, TRUST)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["Statement"][1]["Action"].remove("kms:GenerateDataKey"),
        lambda d: d["Statement"][1].pop("Condition"),
        lambda d: d["Statement"][0].__setitem__("Effect", "Deny"),
        lambda d: d["Statement"].pop(),
        lambda d: d["Statement"][0]["Resource"].append("acs:ram:*:*:*"),
    ],
    ids=["missing-action", "missing-condition", "deny", "missing-statement", "extra-resource"],
)
def test_real_differences_are_different(mutate) -> None:
    doc = copy.deepcopy(POLICY)
    mutate(doc)
    assert not same_policy_document(doc, POLICY)


def test_trust_in_another_service_is_different() -> None:
    doc = copy.deepcopy(TRUST)
    doc["Statement"][0]["Principal"]["Service"] = ["ecs.aliyuncs.com"]
    assert not same_policy_document(doc, TRUST)


def test_normalising_does_not_mutate_and_is_idempotent() -> None:
    original = copy.deepcopy(POLICY)
    once = normalise_document(POLICY)
    assert original == POLICY
    assert normalise_document(once) == once


def test_non_documents_never_compare_equal_to_the_policy() -> None:
    assert not same_policy_document("not a document", POLICY)
    assert not same_policy_document({}, POLICY)
