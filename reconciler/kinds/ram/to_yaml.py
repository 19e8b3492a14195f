"""`reconciler import`'s `ram:` block (pure), in 00-defaults.yaml: written when the role
exists (managed with the defaults when the role, the custom policy with the fixed document and
the attachment are as the documented manual steps leave them; Alibaba's system policy when
that is what is attached; verify only otherwise; every other policy attached to the role listed
under `extra_policies`), or when a written block refers to a CMK (RDS needs the role to use
one: managed, with a note)."""

from __future__ import annotations

from typing import Any

from reconciler.core.facts import ObservedRam
from reconciler.drift.yaml_blocks import ImportContext, Placement, YamlBlock, YamlEntry
from reconciler.kinds.ram.attachments import unwanted_attachments
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
    same_policy_document,
)
from reconciler.spec.models import DEFAULT_POLICY, DEFAULT_ROLE, RamSpec

KEY_KIND = "kms_key"
"""The kind of the keys RDS reaches through the role."""

_NO_ROLE_NOTE = (
    f"role {DEFAULT_ROLE} does not exist, and CMK instances need it to reach their keys: "
    "plan creates it, its policy and the attachment"
)


def to_yaml(context: ImportContext) -> YamlBlock | None:
    if context.cmk_users_left_out is not None:
        return None  # RAM is not as plan wants it: no CMK user is written, nor RAM
    block, note = _ram(context.observed.ram)
    if block is None and context.references(KEY_KIND):
        # Omitted, the spec would manage RAM anyway (CMKs are used): say so where it shows.
        block, note = {"manage": True}, _NO_ROLE_NOTE
    if block is None:
        return None
    notes = (note,) if note else ()
    return YamlBlock("ram", Placement.DEFAULTS, [YamlEntry("ram", block, notes)])


def _ram(ram: ObservedRam | None) -> tuple[dict[str, Any] | None, str | None]:
    """The RAM block, and a note; (None, None) when the role does not exist."""
    block, note = _ram_block(ram)
    if block is None or ram is None:
        return block, note
    # The role's attachments are exclusive: every other policy attached today is kept by name,
    # so the imported spec plans no detach (a reviewer sees them listed and may drop some).
    kept = unwanted_attachments(RamSpec.model_validate(block), ram)
    if kept:
        block["extra_policies"] = [{"name": p.name, "type": p.policy_type.lower()} for p in kept]
    return block, note


def _ram_block(ram: ObservedRam | None) -> tuple[dict[str, Any] | None, str | None]:
    if ram is None or ram.role is None:
        return None, None
    trusted = same_policy_document(ram.role.trust_document, RDS_ENCRYPTION_TRUST_DOCUMENT)
    custom_ok = (
        ram.policy is not None
        and same_policy_document(ram.policy.document, RDS_ENCRYPTION_POLICY_DOCUMENT)
        and ram.attached(DEFAULT_POLICY, "Custom")
    )
    if trusted and custom_ok:
        return {"manage": True}, None
    if trusted and ram.attached(DEFAULT_POLICY, "System"):
        return {"manage": True, "policy_type": "system"}, None
    return (
        {"manage": False},
        f"role {DEFAULT_ROLE} exists but its trust, policy or attachment is not as the "
        "documented manual steps leave them: verify only (set manage: true to let plan repair "
        "them)",
    )
