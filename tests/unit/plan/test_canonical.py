"""The canonical form behind every digest: saved plans carry the fingerprint, the spec digest
and each change's facts digest, so a plan made by one version of the tool is checked by the
next one. These values are pinned: a faster canonical() or fingerprint() must give exactly
them (docs/plan-format.md, Top level: `fingerprint`, `spec_digest`)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from reconciler.core.facts import ObservedState, canonical
from reconciler.plan.digest import facts_digest, spec_digest
from reconciler.spec.models import Spec

ACCOUNT = "1234567890123456"

PINNED: list[tuple[Any, str]] = [
    (
        {"b": ["z", "a", "m"], "a": [["y", "x"], {"k": ["2", "10", "1"]}]},
        '{"a":[["x","y"],{"k":["1","10","2"]}],"b":["a","m","z"]}',
    ),
    (  # a list of dicts is a sequence: its order stays, its dicts' lists are sorted
        [{"b": 1, "a": ["d", "c"]}, {"a": 2}],
        '[{"a":["c","d"],"b":1},{"a":2}]',
    ),
    (
        {"é": ["ü", "a", "Z"], "日本": "値", "a\u0000b": ["\n", " "]},
        '{"a\\u0000b":["\\n"," "],"\\u00e9":["Z","a","\\u00fc"],"\\u65e5\\u672c":"\\u5024"}',
    ),
    (  # only a list of nothing but strings is a set
        {"mixed": ["b", 1, "a"], "none": [None, "a"], "nested": [["b", "a"], ["a"]]},
        '{"mixed":["b",1,"a"],"nested":[["a","b"],["a"]],"none":[null,"a"]}',
    ),
    (
        {"e": [], "d": {}, "f": 1.5, "t": True, "n": None, "i": -3},
        '{"d":{},"e":[],"f":1.5,"i":-3,"n":null,"t":true}',
    ),
    (["c", "b", "a", "B"], '["B","a","b","c"]'),
]


@pytest.mark.parametrize(("document", "text"), PINNED)
def test_canonical_json_of_documents_is_pinned(document: Any, text: str) -> None:
    given = copy.deepcopy(document)
    assert json.dumps(canonical(document), sort_keys=True, separators=(",", ":")) == text
    assert document == given  # canonical() copies: what it was given is left as it was


DOCUMENT = {
    "Version": "1",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["kms:List*", "kms:Decrypt", "kms:Encrypt"],
            "Resource": ["*"],
        }
    ],
}
TRUST = {"Statement": [{"Principal": {"Service": ["rds.aliyuncs.com", "a.aliyuncs.com"]}}]}
STATE = {
    "account_id": ACCOUNT,
    "ram": {
        "role": {"name": "R", "arn": f"acs:ram::{ACCOUNT}:role/r", "trust_document": TRUST},
        "attached_policies": [
            {"name": "P", "policy_type": "Custom", "default_version": "v2", "document": DOCUMENT}
        ],
    },
    "keys": {
        "k": {
            "key_id": "key-k0000001",
            "arn": f"acs:kms:cn-hangzhou:{ACCOUNT}:key/key-k0000001",
            "region": "cn-hangzhou",
            "state": "Enabled",
            "aliases": ["alias/z", "alias/ä"],
            "tags": {"team": "dba"},
        }
    },
    "regions_listed": ["cn-shanghai", "cn-hangzhou"],
}
SPEC = {
    "version": 1,
    "defaults": {"region": "cn-hangzhou", "account": ACCOUNT},
    "kms_keys": {"rds-prod": {"alias": "alias/rds-prod", "tags": {"team": "dba", "é": "ü"}}},
    "instances": {
        "pgm-bp1ded0000000001": {"encryption": {"key": "rds-prod"}},
        "pgm-bp1gp00000000002": {"region": "cn-shanghai", "encryption": {"key": "service"}},
    },
}


def test_fingerprint_spec_digest_and_facts_digest_are_pinned() -> None:
    observed = ObservedState.model_validate(STATE)
    assert observed.fingerprint() == (
        "sha256:74e29acf30b346ed7d0a2f54ba953b761259868cbad7ec6bb17799889934f3fe"
    )
    assert spec_digest(Spec.model_validate(SPEC)) == (
        "sha256:5397375a395caf42aee2329cbbdba093b5bf9016a4b0e2bdc5fc175b3f5857f3"
    )
    assert facts_digest(observed, "kms_key.k") == (
        "sha256:47c3b1754130effbca7d4a6370eaf966cdfed68ec57374cef596b6073e7e9042"
    )
    assert facts_digest(observed, "ram_role.R") == (
        "sha256:3c430c0b7745d4db1b686f0660d098e58b60ebf73076dde04eceaa3f68416d40"
    )


def test_digests_leave_the_facts_they_read_as_they_were() -> None:
    """A policy's Action list is hashed sorted, but the fact keeps the order it was read in."""
    observed = ObservedState.model_validate(STATE)
    spec = Spec.model_validate(SPEC)
    observed.fingerprint()
    facts_digest(observed, "ram_role.R")
    spec_digest(spec)
    assert observed.ram is not None
    assert observed.ram.attached_policies[0].document == DOCUMENT
    assert observed.ram.role is not None and observed.ram.role.trust_document == TRUST
    assert observed.keys["k"].aliases == ["alias/z", "alias/ä"]
    assert observed.regions_listed == ["cn-shanghai", "cn-hangzhou"]
    assert spec == Spec.model_validate(SPEC)
