"""The RAM documents Alibaba Cloud fixes for RDS disk encryption (docs/real-cloud.md, RAM: the
role and the policy RDS needs), held in one place, and their semantic comparison.

RAM accepts many spellings of one document: keys in any order, list items in any order,
`"Effect": "allow"`, a single string where a one-item list is meant, `"Version": 1`. Two
documents are the same when their normal forms are equal; never compare the strings.
"""

from __future__ import annotations

import json
from typing import Any

RDS_ENCRYPTION_POLICY_DOCUMENT: dict[str, Any] = {
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
"""AliyunRDSInstanceEncryptionRolePolicy: lets the role use only KMS keys tagged
acs:rds:instance-encryption=true."""

RDS_ENCRYPTION_TRUST_DOCUMENT: dict[str, Any] = {
    "Statement": [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": ["rds.aliyuncs.com"]},
        }
    ],
    "Version": "1",
}
"""AliyunRDSInstanceEncryptionDefaultRole's AssumeRolePolicyDocument: RDS may assume the role."""

# Statement fields whose value may be one string or a list of strings, order irrelevant.
_LIST_FIELDS = ("Action", "NotAction", "Resource", "NotResource")


def _string_set(value: Any) -> Any:
    """A string or a list of strings -> a sorted, de-duplicated list; anything else as is."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(set(value))
    return value


def _normalise_principal(principal: Any) -> Any:
    if isinstance(principal, dict):
        return {k: _string_set(v) for k, v in principal.items()}
    return _string_set(principal)


def _normalise_condition(condition: Any) -> Any:
    if not isinstance(condition, dict):
        return condition
    return {
        operator: (
            {k: _string_set(v) for k, v in clauses.items()}
            if isinstance(clauses, dict)
            else clauses
        )
        for operator, clauses in condition.items()
    }


def _normalise_statement(statement: Any) -> Any:
    if not isinstance(statement, dict):
        return statement
    out = dict(statement)
    for field in _LIST_FIELDS:
        if field in out:
            out[field] = _string_set(out[field])
    if isinstance(out.get("Effect"), str):
        out["Effect"] = out["Effect"].capitalize()
    if "Principal" in out:
        out["Principal"] = _normalise_principal(out["Principal"])
    if "Condition" in out:
        out["Condition"] = _normalise_condition(out["Condition"])
    return out


def normalise_document(document: Any) -> Any:
    """The normal form of a RAM policy or trust document (plain data in, plain data out).

    Version is the string "1" when given as 1; Statement is a list sorted by its items'
    canonical JSON; Action/Resource/Principal/Condition values are sorted lists; Effect is
    capitalised. A value that is not a dict is returned unchanged (it will not compare equal).
    """
    if not isinstance(document, dict):
        return document
    out = dict(document)
    if "Version" in out:
        out["Version"] = str(out["Version"])
    statements = out.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if isinstance(statements, list):
        normal = [_normalise_statement(s) for s in statements]
        out["Statement"] = sorted(normal, key=lambda s: json.dumps(s, sort_keys=True))
    return out


def same_policy_document(a: Any, b: Any) -> bool:
    """True when two RAM documents mean the same thing (see normalise_document)."""
    return normalise_document(a) == normalise_document(b)
