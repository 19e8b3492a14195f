"""Several accounts (README, "Several accounts"), as functions that print nothing.

    parts = connect_accounts(loaded, base_clients)      # AssumeRole + the account check
    plan = plan_accounts(parts, ...)                     # each account observed and planned alone
    by_account = split_plan(saved, loaded)               # a saved plan, back per account

The engines stay account-agnostic: each account's own spec (spec/accounts.py) is observed and
planned with that account's clients, as one account is today; only here are the plans joined,
their addresses prefixed `<account>/` when more than one account is declared
(docs/plan-format.md, "Addresses with an account").
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.app.plan import Progress
    from reconciler.apply.results import ApplyResult
    from reconciler.cloud.clients import CloudClients
    from reconciler.core.facts import ObservedState
    from reconciler.plan.model import Change, Plan
    from reconciler.spec.loader import LoadedSpec

SEPARATOR = "/"
"""Between the account's name and the address: `prod/rds_encryption.pgm-...`."""


class AccountMismatchError(ReconcilerError):
    """The credentials of an account landed in another account than its `account_id`."""


@dataclass(frozen=True)
class AccountPart:
    """One declared account: its name, its own spec, and clients acting in it."""

    name: str
    loaded: LoadedSpec
    clients: CloudClients


def has_accounts(loaded: LoadedSpec) -> bool:
    return bool(loaded.spec.accounts)


def account_loaded(loaded: LoadedSpec, name: str) -> LoadedSpec:
    """The LoadedSpec of one account (same files and lines; its keys and instances only)."""
    from reconciler.core.collector import collector_paused
    from reconciler.spec.accounts import account_spec

    with collector_paused():  # a copy of each of its instances: no cycle
        return dataclasses.replace(loaded, spec=account_spec(loaded.spec, name))


def account_clients(base: CloudClients, loaded: LoadedSpec, name: str) -> CloudClients:
    """Clients acting in account `name`: its role assumed with the base credentials, or its
    profile's credentials. Calls are counted with the base's counter, under limits of the
    account's own (the base's declared limits; a quota is an account's)."""
    from reconciler.cloud.assume import session_name
    from reconciler.cloud.clients import CloudClients, RoleToAssume

    account = loaded.spec.accounts[name]
    settings = base.settings
    if account.role_arn is not None:
        role = RoleToAssume(name, account.role_arn, session_name())
        settings = dataclasses.replace(settings, assume=role)
    else:
        settings = dataclasses.replace(settings, profile=account.profile, credentials=None)
    limiter = base.limiter.for_another_account()
    return CloudClients(settings, retry=base.retry, limiter=limiter, counter=base.counter)


def connect_accounts(
    loaded: LoadedSpec, base: CloudClients, names: Collection[str] | None = None
) -> list[AccountPart]:
    """Every declared account (or those of `names`: a shard's), in the spec's order, with
    clients checked to be in it: an AssumeRole refused, or an `account_id` that is not where
    the credentials landed, stops here, before any read of any account's resources. The
    accounts are connected at once (each is two round trips: AssumeRole, then the account
    check); the error told is that of the first failed account in the spec's order."""
    from concurrent.futures import ThreadPoolExecutor

    chosen = [n for n in loaded.spec.accounts if names is None or n in names]
    if len(chosen) <= 1:
        return [_connect(loaded, base, name) for name in chosen]
    with ThreadPoolExecutor(max_workers=min(len(chosen), CONNECTING_AT_ONCE)) as pool:
        connecting = [pool.submit(_connect, loaded, base, name) for name in chosen]
    return [future.result() for future in connecting]


CONNECTING_AT_ONCE = 8
"""At most this many accounts are connected at once: every AssumeRole is the base identity's
call, against one STS quota, so they are not fanned out without bound."""


def _connect(loaded: LoadedSpec, base: CloudClients, name: str) -> AccountPart:
    account = loaded.spec.accounts[name]
    part_loaded = account_loaded(loaded, name)
    clients = account_clients(base, loaded, name)
    if account.account_id is not None:
        check_account_id(name, account.account_id, part_loaded, clients)
    return AccountPart(name, part_loaded, clients)


def check_account_id(name: str, wanted: str, loaded: LoadedSpec, clients: CloudClients) -> None:
    """The account the credentials act in (the RDS service key's ARN, one read) is `wanted`."""
    from reconciler.app.apply import read_account

    found = read_account(loaded, clients)
    if found != wanted:
        raise AccountMismatchError(
            f"account {name}: the credentials act in account {found or '(unknown)'}, but "
            f"accounts.{name}.account_id is {wanted}; nothing was read. Fix role_arn (or the "
            "profile) so that it leads to that account, or fix account_id"
        )


def prefixed_addresses(loaded: LoadedSpec) -> bool:
    """Addresses carry the account only when more than one account is declared."""
    return len(loaded.spec.accounts) > 1


def plan_accounts(
    loaded: LoadedSpec,
    parts: list[AccountPart],
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
    now: datetime | None = None,
    plan_id: str | None = None,
) -> tuple[dict[str, tuple[ObservedState, Plan]], Plan]:
    """Each account observed and planned with its own clients (one plan id for all, so a saved
    plan's tokens are the same per account), and the one plan of them all. The accounts' plans
    carry no spec digest: only the one plan's, the whole spec's, is ever checked."""
    from reconciler.app.plan import new_plan_id

    found = observe_and_plan_each(
        parts,
        parallelism=parallelism,
        progress=progress,
        now=now,
        plan_id=plan_id or new_plan_id(),
    )
    return found, combine_accounts(loaded, {name: plan for name, (_o, plan) in found.items()})


def observe_and_plan_each(
    parts: list[AccountPart],
    *,
    parallelism: int,
    progress: Progress | None,
    now: datetime | None,
    plan_id: str,
) -> dict[str, tuple[ObservedState, Plan]]:
    """Each account's facts and its own plan (no spec digest), every account read at once
    (plan, and apply once it holds every account's locks: cli/apply.py)."""
    from reconciler.app.plan import observe_and_plan

    moment = now or datetime.now(UTC)
    if read_together(parts):  # every account at once (state/observe.observe_accounts)
        return _observe_and_plan_together(parts, parallelism, progress, moment, plan_id)
    return {
        part.name: observe_and_plan(
            part.loaded,
            part.clients,
            parallelism=parallelism,
            progress=progress,
            now=moment,
            plan_id=plan_id,
            with_spec_digest=False,
        )
        for part in parts
    }


def read_together(parts: list[AccountPart]) -> bool:
    """Several accounts are read at once (state/observe.observe_accounts): in one pool of
    worker processes when `--processes` asks for them, else on one pool of threads here, so
    no account waits for another's slowest region."""
    return len(parts) > 1


def _observe_and_plan_together(
    parts: list[AccountPart],
    parallelism: int,
    progress: Progress | None,
    now: datetime,
    plan_id: str,
) -> dict[str, tuple[ObservedState, Plan]]:
    """observe_and_plan() of every account, their reads at once (observe_accounts). With
    worker processes an account is planned as soon as its facts are in, while the others'
    are still read, so only the last account's plan is left after the reads."""
    from reconciler.app.fleets import with_fleets
    from reconciler.app.plan import make_plan
    from reconciler.state.observe import observe_accounts

    expanded = {
        p.name: (with_fleets(p.loaded, p.clients, parallelism=parallelism), p.clients)
        for p in parts
    }
    planned: dict[str, Plan] = {}

    def plan(name: str, observed: ObservedState) -> Plan:
        return make_plan(
            expanded[name][0], observed, now=now, plan_id=plan_id, with_spec_digest=False
        )

    def plan_early(name: str, observed: ObservedState) -> None:
        planned[name] = plan(name, observed)

    observed = observe_accounts(
        {name: (loaded.spec, clients) for name, (loaded, clients) in expanded.items()},
        parallelism=parallelism,
        progress=progress,
        now=now,
        on_account=plan_early,
    )
    return {
        name: (observed[name], planned[name] if name in planned else plan(name, observed[name]))
        for name in expanded
    }


def observe_and_plan_accounts(
    loaded: LoadedSpec,
    base: CloudClients,
    *,
    parallelism: int = 16,
    progress: Progress | None = None,
) -> Plan:
    """connect_accounts() then plan_accounts(): the one plan of every declared account."""
    parts = connect_accounts(loaded, base)
    return plan_accounts(loaded, parts, parallelism=parallelism, progress=progress)[1]


def combine_accounts(
    loaded: LoadedSpec, plans: Mapping[str, Plan], *, digest: str | None = None
) -> Plan:
    """One plan of every account's plan: changes in the planner's apply order over them all
    (each account's keeps its order; `reconciler merge` of shards lists them so too),
    refusals and warnings sorted again, the summary counted again; the spec digest is the whole
    spec's (`digest`: when the caller has it already), the fingerprint one of the accounts'
    fingerprints."""
    from reconciler.core.collector import collector_paused

    with collector_paused():  # the spec digest dumps the whole spec: no cycle
        return _combined(loaded, plans, digest)


def _combined(loaded: LoadedSpec, plans: Mapping[str, Plan], digest: str | None) -> Plan:
    from reconciler.plan.digest import spec_digest
    from reconciler.plan.model import summarise

    prefix = prefixed_addresses(loaded)
    named = [with_account(plan, name) if prefix else plan for name, plan in plans.items()]
    changes = _in_apply_order([change for plan in named for change in plan.changes])
    refusals = sorted(
        (r for p in named for r in p.refusals), key=lambda r: (r.address, r.code.value)
    )
    warnings = sorted(
        (w for p in named for w in p.warnings), key=lambda w: (w.address, w.code.value)
    )
    fingerprints = "\n".join(f"{name} {plan.fingerprint}" for name, plan in plans.items())
    first = next(iter(plans.values()))
    return first.model_copy(
        update={
            "fingerprint": hashlib.sha256(fingerprints.encode()).hexdigest(),
            "spec_digest": digest or spec_digest(loaded.spec),
            "summary": summarise(changes, refusals),
            "changes": changes,
            "refusals": refusals,
            "warnings": warnings,
        }
    )


def _in_apply_order(changes: list[Change]) -> list[Change]:
    """The changes in reconciler/plan/order.py's order, each as it was: a shard's change may
    depend on another shard's (its account's RAM), which order_changes() would drop."""
    from reconciler.plan.order import order_changes

    by_address = {c.address: c for c in changes}
    edges = {(first, c.address) for c in changes for first in c.depends_on}
    return [by_address[c.address] for c in order_changes(by_address, edges)]


def with_account(plan: Plan, name: str) -> Plan:
    """The plan with every address (and every reference to one) prefixed `<name>/`."""
    return _renamed(plan, lambda address: f"{name}{SEPARATOR}{address}")


def split_plan(saved: Plan, loaded: LoadedSpec) -> dict[str, Plan]:
    """A saved plan of several accounts back into each account's plan, as that account's
    own plan would be (addresses without the prefix, the account spec's digest); raises
    ReconcilerError for a plan of another spec or an address of no declared account."""
    from reconciler.plan.digest import spec_digest

    if saved.spec_digest != spec_digest(loaded.spec):
        raise ReconcilerError(
            "the saved plan was made from another spec than this one (its spec digest "
            "differs): plan again with these files (`reconciler plan -o FILE`)"
        )
    names = list(loaded.spec.accounts)
    prefix = prefixed_addresses(loaded)
    for address in _addresses(saved):
        if prefix and address.partition(SEPARATOR)[0] not in names:
            raise ReconcilerError(f"the saved plan's {address} names no declared account")
    return {name: _account_part(saved, name, loaded, prefix) for name in names}


def _account_part(saved: Plan, name: str, loaded: LoadedSpec, prefix: bool) -> Plan:
    from reconciler.plan.digest import spec_digest
    from reconciler.plan.model import summarise

    own = f"{name}{SEPARATOR}"

    def mine(address: str) -> bool:
        return not prefix or address.startswith(own)

    part = saved.model_copy(
        update={
            "changes": [c for c in saved.changes if mine(c.address)],
            "refusals": [r for r in saved.refusals if mine(r.address)],
            "warnings": [w for w in saved.warnings if mine(w.address)],
            "spec_digest": spec_digest(account_loaded(loaded, name).spec),
        }
    )
    if prefix:
        part = _renamed(part, lambda address: address.removeprefix(own))
    return part.model_copy(update={"summary": summarise(part.changes, part.refusals)})


def _addresses(plan: Plan) -> list[str]:
    return [
        *(c.address for c in plan.changes),
        *(r.address for r in plan.refusals),
        *(w.address for w in plan.warnings),
    ]


def _renamed(plan: Plan, rename: Callable[[str], str]) -> Plan:
    """Every address of the plan through `rename`: changes, their dependencies and the
    `{"ref": address}` values of their parameters, refusals and warnings."""
    changes = []
    for change in plan.changes:
        operations = [
            op.model_copy(update={"params": _renamed_refs(op.params, rename)})
            for op in change.operations
        ]
        changes.append(
            change.model_copy(
                update={
                    "address": rename(change.address),
                    "depends_on": [rename(a) for a in change.depends_on],
                    "operations": operations,
                }
            )
        )
    return plan.model_copy(
        update={
            "changes": changes,
            "refusals": [
                r.model_copy(update={"address": rename(r.address)}) for r in plan.refusals
            ],
            "warnings": [
                w.model_copy(update={"address": rename(w.address)}) for w in plan.warnings
            ],
        }
    )


def _renamed_refs(params: dict[str, Any], rename: Callable[[str], str]) -> dict[str, Any]:
    from reconciler.plan.model import is_ref

    return {
        name: {**value, "ref": rename(value["ref"])} if is_ref(value) else value
        for name, value in params.items()
    }


def account_result(result: ApplyResult, name: str, prefix: bool) -> ApplyResult:
    """An account's apply result with its addresses as the combined plan spells them."""
    from reconciler.apply.results import ApplyResult

    if not prefix:
        return result
    return ApplyResult(
        [dataclasses.replace(o, address=f"{name}{SEPARATOR}{o.address}") for o in result.outcomes]
    )


def account_event(event: Any, name: str) -> Any:
    """An apply event of account `name`'s run with its address (and the address in its
    message) as the combined plan spells it, `<name>/<address>`."""
    named = f"{name}{SEPARATOR}{event.address}"
    return dataclasses.replace(
        event, address=named, message=event.message.replace(event.address, named)
    )


def account_finding(finding: Any, name: str) -> Any:
    """A stale-plan finding of account `name`'s part with its address prefixed `<name>/`."""
    if finding.address is None:
        return finding
    return dataclasses.replace(finding, address=f"{name}{SEPARATOR}{finding.address}")
