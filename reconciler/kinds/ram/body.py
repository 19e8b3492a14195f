"""The bodies of RAM changes (kinds/body.py), as kinds/ram/plan.py and attachments.py write
them (docs/plan-format.md): the custom policy, the role, and an attachment of a policy to the
role (`attached` is one flag for the spec's attachment, one flag per policy type where other
policies of that name are detached)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.body import ChangeBody


class PolicyAfter(ChangeBody):
    name: str
    document: dict[str, Any]


class PolicyBefore(PolicyAfter):
    default_version: str


class RoleBody(ChangeBody):
    """A role's `before` and `after`: its trust policy."""

    name: str
    trust_document: dict[str, Any]


class AttachmentBody(ChangeBody):
    """An attachment's `before` and `after`."""

    role: str
    policy: str
    policy_type: str | None = None
    attached: bool | dict[str, bool]
