"""The RDS role as a guard at the write reads it (kinds/rds_encryption/write_guards.py): RDS
assumes AliyunRDSInstanceEncryptionDefaultRole to use a customer master key (RDS fixes the
name: docs/permissions.md). Read once per apply run (GetRole, ListPoliciesForRole, GetPolicy of
each attached policy) and evaluated for each key as RAM evaluates policies (plan/ram_eval.py)."""

from __future__ import annotations

from reconciler.cloud import ram
from reconciler.core.facts import ObservedPolicy, ObservedRole
from reconciler.kinds.write_rule import GuardReads
from reconciler.plan.ram_eval import (
    KEY_USE_ACTIONS,
    RDS_SERVICE,
    Verdict,
    evaluate,
    key_use_request,
    trust_lets_service_assume,
)

RDS_ROLE = "AliyunRDSInstanceEncryptionDefaultRole"
RoleFacts = tuple[ObservedRole | None, list[ObservedPolicy]]


def role_lets_rds_use(reads: GuardReads, key_arn: str, tags: dict[str, str]) -> str | None:
    """What keeps RDS from using the key through its role now; None when nothing does."""
    role, attached = reads.once("rds-role", lambda: _read_role(reads))
    if role is None:
        return f"role {RDS_ROLE} does not exist now"
    trust = trust_lets_service_assume(role.trust_document).verdict
    if trust is not Verdict.ALLOWED:
        return f"the trust policy of role {RDS_ROLE} is {trust} for {RDS_SERVICE}"
    documents = [(p.name, p.document) for p in attached]
    for action in KEY_USE_ACTIONS:
        verdict = evaluate(documents, key_use_request(action, key_arn, tags)).verdict
        if verdict is not Verdict.ALLOWED:
            return (
                f"the policies attached to role {RDS_ROLE} now leave {action} on the key {verdict}"
            )
    return None


def _read_role(reads: GuardReads) -> RoleFacts:
    clients, region = reads.clients, reads.ram_region
    role = ram.get_role(clients, region, RDS_ROLE)
    if role is None:
        return None, []
    attached = [
        ram.get_policy(clients, region, name, kind, may_be_absent=False)
        for name, kind in ram.attached_policies(clients, region, RDS_ROLE)
    ]
    return role, [p for p in attached if p is not None]
