"""The API actions RAM needs: the reads of the policy, the role and its attachments, and
every write a RAM change may make (reconciler/permissions.py derives the documents from them)."""

from __future__ import annotations

from reconciler.core.api_actions import APPLY, READERS, ApiAction, write
from reconciler.core.ops import Op

_ROLE = "`acs:ram::<account>:role/<role-name>`"
_POLICY = "`acs:ram::<account>:policy/<policy-name>`"

ACTIONS: tuple[ApiAction, ...] = (
    ApiAction(
        "ram:GetPolicy",
        "read",
        READERS,
        "the policy RDS's role needs, and every policy attached to the role, with the default "
        "version's document",
        _POLICY,
        1,
    ),
    ApiAction(
        "ram:GetRole", "read", READERS, "the role RDS assumes, and its trust document", _ROLE, 2
    ),
    ApiAction(
        "ram:ListPoliciesForRole", "read", READERS, "the policies attached to the role", _ROLE, 3
    ),
    write(Op.RAM_CREATE_POLICY, "the custom policy RDS's role needs does not exist", _POLICY, 1),
    write(
        Op.RAM_CREATE_POLICY_VERSION,
        "its document differs from the one RDS needs (a new default version; at the limit of 5 "
        "the oldest non-default one is rotated out)",
        _POLICY,
        2,
    ),
    ApiAction(
        "ram:DeletePolicyVersion",
        "write",
        APPLY,
        "never called by the tool: CreatePolicyVersion with RotateStrategy="
        "DeleteOldestNonDefaultVersionWhenLimitExceeded deletes the oldest version of a policy "
        "that has 5, and whether RAM checks this action for that is undocumented",
        _POLICY,
        3,
        implied=True,
    ),
    write(Op.RAM_CREATE_ROLE, "the role RDS assumes does not exist", _ROLE, 4),
    write(Op.RAM_UPDATE_ROLE, "the role's trust document does not let RDS assume it", _ROLE, 5),
    write(
        Op.RAM_ATTACH_POLICY_TO_ROLE,
        "the policy is not attached to the role",
        f"{_ROLE} and {_POLICY} (both)",
        6,
    ),
    write(
        Op.RAM_DETACH_POLICY_FROM_ROLE,
        "a policy attached to the role that the spec does not list (`ram.extra_policies`)",
        f"{_ROLE} and {_POLICY} (both)",
        7,
    ),
)
