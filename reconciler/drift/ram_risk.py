"""How a drifted RAM policy document differs in what it lets the role do (pure).

The fixed document (plan/ram_documents.py) lets the role list and describe KMS keys and use
only keys tagged acs:rds:instance-encryption=true. A document that lets the role use an
untagged key has lost its tag condition; one that lets it do anything the fixed document does
not (delete or disable keys, other services) is widened. Both are decided by evaluating probe
requests with the same evaluator the planner uses (plan/ram_eval.py), never by comparing
text. A probe the evaluator cannot decide counts as allowed: fail closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.plan.ram_documents import RDS_ENCRYPTION_POLICY_DOCUMENT
from reconciler.plan.ram_eval import Request, Verdict, evaluate, key_use_request

_ACCOUNT = "1234567890123456"
_KEY_ARN = f"acs:kms:cn-hangzhou:{_ACCOUNT}:key/key-probe0000000000"

WIDENING_PROBES: tuple[tuple[str, str], ...] = (
    ("kms:ScheduleKeyDeletion", _KEY_ARN),
    ("kms:DisableKey", _KEY_ARN),
    ("kms:CreateKey", _KEY_ARN),
    ("kms:DeleteAlias", f"acs:kms:cn-hangzhou:{_ACCOUNT}:alias/probe"),
    ("kms:GetSecretValue", f"acs:kms:cn-hangzhou:{_ACCOUNT}:secret/probe"),
    ("ram:AttachPolicyToRole", f"acs:ram::{_ACCOUNT}:role/probe"),
    ("rds:DeleteDBInstance", f"acs:rds:cn-hangzhou:{_ACCOUNT}:dbinstance/pgm-probe"),
    ("oss:GetObject", f"acs:oss:*:{_ACCOUNT}:probe/object"),
    ("ecs:DeleteInstance", f"acs:ecs:cn-hangzhou:{_ACCOUNT}:instance/i-probe"),
)
"""(action, resource) pairs the fixed document does not allow; any of them allowed is a
widening."""


@dataclass(frozen=True)
class PolicyRisk:
    tag_condition_gone: bool
    """Encrypt/Decrypt/GenerateDataKey allowed (or undecidable) on a key without the RDS tag."""
    widened: tuple[str, ...]
    """Probe actions the document allows (or may allow) that the fixed document does not."""

    @property
    def critical(self) -> bool:
        return self.tag_condition_gone or bool(self.widened)


def _may_allow(document: Any, request: Request) -> bool:
    verdict = evaluate([("policy", document)], request).verdict
    return verdict in (Verdict.ALLOWED, Verdict.UNKNOWN)


def policy_risk(document: Any) -> PolicyRisk:
    """What `document`, as the role's policy, allows beyond the fixed document."""
    untagged = [
        key_use_request(action, _KEY_ARN, {"team": "probe"})
        for action in ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
    ]
    fixed = RDS_ENCRYPTION_POLICY_DOCUMENT
    gone = any(_may_allow(document, r) and not _may_allow(fixed, r) for r in untagged)
    widened = tuple(
        action
        for action, resource in WIDENING_PROBES
        if _may_allow(document, Request(action=action, resource=resource))
        and not _may_allow(fixed, Request(action=action, resource=resource))
    )
    return PolicyRisk(tag_condition_gone=gone, widened=widened)
