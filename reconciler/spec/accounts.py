"""Several accounts in one spec (README, "Several accounts"): the checks of `accounts:` and the
`account:` of keys and instances, and each account's own spec.

Without `accounts:` nothing here applies: the spec is the one account of the credentials, as
before. With it, every key and instance belongs to exactly one declared account (its own
`account:`, else `defaults.account`), and each account is planned on its own, from the spec
`account_spec()` cuts out of the whole: the engines never see more than one account.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from reconciler.errors import Diagnostic
from reconciler.spec.key_refs import key_uses
from reconciler.spec.models import ACCOUNT_PATTERN, SERVICE_KEY, KeyRef, Spec, key_arn
from reconciler.spec.source import Location


def account_of_key(spec: Spec, name: str) -> str | None:
    """The declared account a kms_keys entry belongs to (None: not said, or no accounts)."""
    return spec.kms_keys[name].account or _default_account(spec)


def account_of_instance(spec: Spec, instance_id: str) -> str | None:
    """The declared account an instance belongs to (None: not said, or no accounts)."""
    return spec.instances[instance_id].account or _default_account(spec)


def account_of_fleet(spec: Spec, name: str) -> str | None:
    """The declared account a fleet selects in (None: not said, or no accounts)."""
    return spec.fleets[name].account or _default_account(spec)


def _default_account(spec: Spec) -> str | None:
    named = spec.defaults.account
    if named is not None and named in spec.accounts:
        return named
    if len(spec.accounts) == 1:  # one account declared: everything is in it
        return next(iter(spec.accounts))
    return None


def account_spec(spec: Spec, name: str) -> Spec:
    """The spec of one declared account: its keys, instances and fleets (so a fleet selects
    only in its account), no `accounts:`, and its `account_id` as `defaults.account` (the
    planner's own account guard then holds too)."""
    account = spec.accounts[name]
    default = _default_account(spec)  # account_of_key/_instance/_fleet, looked up once
    keys = {
        key: body.model_copy(update={"account": None})
        for key, body in spec.kms_keys.items()
        if (body.account or default) == name
    }
    instances = {
        instance_id: body.model_copy(update={"account": None})
        for instance_id, body in spec.instances.items()
        if (body.account or default) == name
    }
    fleets = {
        fleet: body.model_copy(update={"account": None})
        for fleet, body in spec.fleets.items()
        if (body.account or default) == name
    }
    defaults = spec.defaults.model_copy(update={"account": account.account_id})
    return spec.model_copy(
        update={
            "accounts": {},
            "kms_keys": keys,
            "instances": instances,
            "fleets": fleets,
            "defaults": defaults,
        }
    )


def account_problems(spec: Spec, locations: dict[str, Location]) -> list[Diagnostic]:
    """Every problem of the accounts of a merged spec, at the line that wrote it."""
    found = list(_unknown_names(spec, locations))
    if not found:
        found += _unassigned(spec, locations)
        found += _keys_of_another_account(spec, locations)
    return sorted(set(found), key=lambda d: (d.file, d.line, d.col, d.message))


def _named_accounts(spec: Spec) -> Iterator[tuple[str, str]]:
    """(field path, account name) of every `account:` that names an account."""
    named = spec.defaults.account
    if named is not None and not re.fullmatch(ACCOUNT_PATTERN, named):
        yield "defaults.account", named
    for name, key in spec.kms_keys.items():
        if key.account is not None:
            yield f"kms_keys.{name}.account", key.account
    for instance_id, instance in spec.instances.items():
        if instance.account is not None:
            yield f"instances.{instance_id}.account", instance.account
    for name, fleet in spec.fleets.items():
        if fleet.account is not None:
            yield f"fleets.{name}.account", fleet.account


def _unknown_names(spec: Spec, locations: dict[str, Location]) -> Iterator[Diagnostic]:
    declared = sorted(spec.accounts)
    for path, name in _named_accounts(spec):
        if name in spec.accounts:
            continue
        close = difflib.get_close_matches(name, declared, n=1, cutoff=0.6)
        hint = (
            f"did you mean `{close[0]}`?"
            if close
            else (
                f"declared: {', '.join(declared)}"
                if declared
                else 'declare it under `accounts:` (README, "Several accounts")'
            )
        )
        yield _at(locations[path], f"account `{name}` is not declared in accounts: {hint}")
    named = spec.defaults.account
    if spec.accounts and named is not None and re.fullmatch(ACCOUNT_PATTERN, named):
        yield _at(
            locations["defaults.account"],
            f"with `accounts:`, defaults.account names an account, not an id ({named}): give "
            "each account's id as accounts.<name>.account_id",
        )


def _unassigned(spec: Spec, locations: dict[str, Location]) -> Iterator[Diagnostic]:
    """With several accounts, a key or instance that names none (and no defaults.account)."""
    if len(spec.accounts) < 2 or _default_account(spec) is not None:
        return
    choices = ", ".join(sorted(spec.accounts))
    for name in spec.kms_keys:
        if account_of_key(spec, name) is None:
            yield _at(
                locations[f"kms_key.{name}"],
                f"key `{name}` names no account: add `account: NAME` ({choices}) or set "
                "defaults.account",
            )
    for instance_id in spec.instances:
        if account_of_instance(spec, instance_id) is None:
            yield _at(
                locations[f"rds_encryption.{instance_id}"],
                f"instance `{instance_id}` names no account: add `account: NAME` ({choices}) or "
                "set defaults.account",
            )
    for name in spec.fleets:
        if account_of_fleet(spec, name) is None:
            yield _at(
                locations[f"fleets.{name}"],
                f"fleet `{name}` names no account: add `account: NAME` ({choices}) or set "
                "defaults.account",
            )


def _keys_of_another_account(spec: Spec, locations: dict[str, Location]) -> Iterator[Diagnostic]:
    """RDS encrypts only with a key of the instance's own account: a cross-account key is
    refused by the cloud (docs/emulator.md, "Accounts and STS")."""
    if not spec.accounts:
        return
    yield from _fleet_keys_of_another_account(spec, locations)
    for instance_id, field, ref, where in key_uses(spec, locations):
        account = account_of_instance(spec, instance_id)
        if ref != SERVICE_KEY and ref in spec.kms_keys:
            owner = account_of_key(spec, ref)
            if owner != account:
                yield _at(
                    where,
                    f"instance `{instance_id}` (account {account}) uses key `{ref}` of account "
                    f"{owner} for its {field}: RDS encrypts only with a key of the instance's "
                    "own account (cross-account keys are refused); use a key of "
                    f"account {account}",
                )
            continue
        arn = key_arn(ref)
        wanted = spec.accounts[account].account_id if account else None
        if arn is not None and wanted is not None and arn.account != wanted:
            yield _at(
                where,
                f"the key ARN {ref} belongs to account {arn.account}, but instance "
                f"`{instance_id}` is in account {account} ({wanted}): RDS encrypts only with a "
                "key of the instance's own account",
            )


def _fleet_keys_of_another_account(
    spec: Spec, locations: dict[str, Location]
) -> Iterator[Diagnostic]:
    """A fleet's key under kms_keys must be of the fleet's account, as an instance's."""
    for name, fleet in spec.fleets.items():
        account = account_of_fleet(spec, name)
        for field, value in (("encryption", fleet.encryption), ("tde", fleet.tde)):
            ref = value.key if isinstance(value, KeyRef) else None
            if ref in spec.kms_keys and account_of_key(spec, ref) != account:
                where = locations.get(f"fleets.{name}.{field}.key") or locations[f"fleets.{name}"]
                yield _at(
                    where,
                    f"fleet `{name}` (account {account}) uses key `{ref}` of account "
                    f"{account_of_key(spec, ref)} for its {field}: RDS encrypts only with a key "
                    f"of the instance's own account; use a key of account {account}",
                )


def _at(where: Location, message: str) -> Diagnostic:
    return Diagnostic(where.file, where.line, where.col, message)
