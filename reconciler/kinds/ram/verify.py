"""Verify only (`ram.manage: false`): is RAM ready for RDS to use the spec's CMKs?

Ready when the role exists, its trust policy lets rds.aliyuncs.com assume it, and the policies
attached to it, whatever their names and of either type, together let RDS use every CMK the
spec's instances name: KEY_USE_ACTIONS allowed (plan/ram_eval.py) on
`acs:kms:<region>:<account>:key/<key id>` for the key as it will be tagged. That is what RDS
itself checks, so Alibaba's system policy attached alone is ready, and a Deny anywhere is not.
Anything else is a RamNotReady refusal that says what is missing and what to do; nothing is
written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from reconciler.core.facts import ObservedRam
from reconciler.core.rules import account_of_arn
from reconciler.plan.actions import KNOWN_AFTER_APPLY, RefusalCode
from reconciler.plan.context import PlanContext
from reconciler.plan.ram_eval import (
    KEY_USE_ACTIONS,
    RDS_SERVICE,
    Evaluation,
    Verdict,
    evaluate,
    key_use_request,
    trust_lets_service_assume,
)
from reconciler.spec.models import (
    RDS_ENCRYPTION_TAG,
    SERVICE_KEY,
    KeyRef,
    RamSpec,
    is_literal_key,
    literal_key_id,
)

_UNKNOWN_ACCOUNT = "(unknown account)"


@dataclass(frozen=True)
class KeyTarget:
    """A CMK the spec's instances will use, as RDS will present it to KMS."""

    label: str
    """How the message names it: `kms_key.<name>` or the literal key id."""
    arn: str
    tags: tuple[tuple[str, str], ...]


def _account(ctx: PlanContext, observed: ObservedRam) -> str:
    """The account a key created by this plan will belong to."""
    if ctx.observed.account_id:
        return ctx.observed.account_id
    if ctx.spec.defaults.account:
        return ctx.spec.defaults.account
    arn = observed.role.arn if observed.role else ""  # acs:ram::<account>:role/<name>
    return account_of_arn(arn) or _UNKNOWN_ACCOUNT


def _cmk_refs(ctx: PlanContext) -> Iterator[tuple[str, str]]:
    """(instance id, key reference) of every CMK an instance names, for its disk or its TDE."""
    spec = ctx.spec
    for instance_id, instance in sorted(spec.instances.items()):
        for wanted in (instance.encryption, spec.tde_of(instance_id)):
            if isinstance(wanted, KeyRef) and wanted.key != SERVICE_KEY:
                yield instance_id, wanted.key


def _targets(ctx: PlanContext, observed: ObservedRam) -> Iterator[KeyTarget]:
    spec = ctx.spec
    for instance_id, ref in _cmk_refs(ctx):
        if ref in spec.kms_keys:
            key = ctx.observed.keys.get(ref)
            region = spec.key_region(ref)
            tags = {**(key.tags if key else {}), **spec.kms_keys[ref].desired_tags()}
            label, key_id = f"kms_key.{ref}", KNOWN_AFTER_APPLY
        elif is_literal_key(ref):  # by id, ARN or alias: the id KMS answered, when read
            key = ctx.observed.keys_by_id.get(ref)
            region = spec.instance_region(instance_id)
            tags = dict(key.tags) if key else dict([RDS_ENCRYPTION_TAG])
            label, key_id = ref, (key.key_id if key else literal_key_id(ref) or ref)
        else:
            continue  # an undefined name is a spec error, reported by the loader
        built = f"acs:kms:{region}:{_account(ctx, observed)}:key/{key_id}"
        arn = key.arn if key and key.arn else built
        yield KeyTarget(label, arn, tuple(sorted(tags.items())))


def _policy_label(name: str, policy_type: str) -> str:
    return f"{name} ({policy_type})"


def _ask(what: str, *, manage_helps: bool = True) -> str:
    """What to do; `manage_helps` when ram.manage: true would make the reconciler fix it (it
    never removes a Deny from a policy that is not its own)."""
    return (
        "A CMK cannot be used until it is fixed, and ram.manage is false so the reconciler "
        f"only verifies RAM: ask the RAM owner to {what}"
        + (", or set ram.manage: true" if manage_helps else "")
    )


def _attach(ram: RamSpec) -> str:
    return (
        f"attach {ram.policy} to role {ram.role} (the custom policy with the fixed document of "
        "the documented manual steps, or Alibaba Cloud's system policy of that name)"
    )


def _trust_problem(evaluation: Evaluation) -> str | None:
    if evaluation.verdict is Verdict.ALLOWED:
        return None
    return {
        Verdict.DENIED: f"denies {RDS_SERVICE} sts:AssumeRole",
        Verdict.NOT_ALLOWED: f"does not let {RDS_SERVICE} assume it",
        Verdict.UNKNOWN: f"may not let {RDS_SERVICE} assume it: it has a statement the "
        "reconciler cannot evaluate (a Condition, or a form RAM does not document)",
    }[evaluation.verdict]


def _permission_problems(
    documents: list[tuple[str, dict]], target: KeyTarget, ram: RamSpec
) -> tuple[list[str], list[str]]:
    """(what the documents fail to allow on the key, what to do about it), grouped by why, in
    a fixed order."""
    by_verdict: dict[Verdict, list[str]] = {}
    involved: dict[Verdict, set[str]] = {}
    for action in KEY_USE_ACTIONS:
        result = evaluate(documents, key_use_request(action, target.arn, dict(target.tags)))
        if result.verdict is Verdict.ALLOWED:
            continue
        by_verdict.setdefault(result.verdict, []).append(action)
        involved.setdefault(result.verdict, set()).update(result.policies)
    problems, asks = [], []
    if Verdict.DENIED in by_verdict:
        denying = ", ".join(sorted(involved[Verdict.DENIED]))
        problems.append(f"{', '.join(by_verdict[Verdict.DENIED])} denied by {denying}")
        asks.append(f"remove the statements of {denying} that deny these actions")
    if Verdict.NOT_ALLOWED in by_verdict:
        problems.append(f"{', '.join(by_verdict[Verdict.NOT_ALLOWED])} not allowed by any")
        asks.append(_attach(ram))
    if Verdict.UNKNOWN in by_verdict:
        unclear = ", ".join(sorted(involved[Verdict.UNKNOWN]))
        problems.append(
            f"{', '.join(by_verdict[Verdict.UNKNOWN])} undecidable: {unclear} has a statement "
            "the reconciler cannot evaluate (a Condition on a key it cannot know, NotResource, "
            "or a form RAM does not document), so it may not allow them or may deny them"
        )
        asks.append(f"make {unclear} plainly allow or not touch these actions on the key")
    return problems, asks


def verify_ram(ctx: PlanContext, ram: RamSpec, observed: ObservedRam) -> None:
    """RamNotReady refusals for what keeps RDS from using the spec's CMKs; none when ready or
    when no CMK is used."""
    if not ctx.spec.uses_cmk():
        return
    role_address = f"ram_role.{ram.role}"
    spec_path = ("ram", "manage")
    if observed.role is None:
        ctx.refuse(
            role_address,
            RefusalCode.RAM_NOT_READY,
            f"role {ram.role} does not exist. "
            + _ask(f"create it with the trust policy for {RDS_SERVICE} and {_attach(ram)}"),
            spec_path,
        )
        return
    trust = _trust_problem(trust_lets_service_assume(observed.role.trust_document))
    if trust is not None:
        ctx.refuse(
            role_address,
            RefusalCode.RAM_NOT_READY,
            f"the trust policy of role {ram.role} {trust}. "
            + _ask(f"restore its trust policy for {RDS_SERVICE}"),
            spec_path,
        )
    documents = [
        (_policy_label(p.name, p.policy_type), p.document) for p in observed.attached_policies
    ]
    attached = ", ".join(label for label, _ in documents) or "none"
    for target in sorted(set(_targets(ctx, observed)), key=lambda t: (t.label, t.arn)):
        problems, asks = _permission_problems(documents, target, ram)
        if problems:
            ctx.refuse(
                f"ram_attachment.{ram.role}/{ram.policy}",
                RefusalCode.RAM_NOT_READY,
                f"the policies attached to role {ram.role} (attached: {attached}) do not let "
                f"RDS use {target.label} ({target.arn}), tagged "
                f"{RDS_ENCRYPTION_TAG[0]}={RDS_ENCRYPTION_TAG[1]}: {'; '.join(problems)}. "
                + _ask(", and ".join(asks), manage_helps=_attach(ram) in asks),
                spec_path,
            )
