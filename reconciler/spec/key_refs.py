"""Key references written as an ARN or an alias (docs/spec-format: naming a key).

A kms_keys entry may be named by its alias: the loader rewrites such a reference to the entry's
name, so every later stage sees the name (a key the same plan creates has no id yet). A key ARN
must name the instance's region and, when `defaults.account` is set, that account: both are
known from the spec alone, so they are spec errors at the line that wrote the ARN, as
KeyRegionMismatch is for a kms_keys entry. (The account of the credentials, when
defaults.account is not set, is only known from the cloud: the planner refuses an ARN of
another account then.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.errors import Diagnostic
from reconciler.spec.models import InstanceSpec, KeyRef, Spec, is_alias, key_arn
from reconciler.spec.source import Location


def with_spec_aliases(spec: Spec) -> Spec:
    """`spec` with every `{key: alias/...}` that names a kms_keys entry of the region it is
    used in replaced by that entry's name."""
    instances: dict[str, InstanceSpec] = {}
    for instance_id, instance in spec.instances.items():
        update = {}
        for field in ("encryption", "tde"):
            value = getattr(instance, field)
            if _is_alias_ref(value):  # else _by_name keeps it: no region to look up
                named = _by_name(spec, value, spec.instance_region(instance_id))
                if named is not value:
                    update[field] = named
        instances[instance_id] = instance.model_copy(update=update) if update else instance
    update: dict[str, Any] = {"instances": instances}
    tde = _by_name(spec, spec.defaults.tde, spec.defaults.region)
    if tde is not spec.defaults.tde:
        update["defaults"] = spec.defaults.model_copy(update={"tde": tde})
    return spec.model_copy(update=update)


def _is_alias_ref(value: Any) -> bool:
    return isinstance(value, KeyRef) and is_alias(value.key)


def _by_name(spec: Spec, value: Any, region: str) -> Any:
    if not _is_alias_ref(value):
        return value
    name = next(
        (
            name
            for name, key in sorted(spec.kms_keys.items())
            if key.alias.lower() == value.key.lower() and spec.key_region(name) == region
        ),
        None,
    )
    return value if name is None else KeyRef(key=name)


def arn_problems(spec: Spec, locations: dict[str, Location]) -> list[Diagnostic]:
    """An ARN of another region than the instance using it, or of another account than
    `defaults.account`, at the line that wrote it."""
    found: list[Diagnostic] = []
    for instance_id, field, ref, where in key_uses(spec, locations):
        arn = key_arn(ref)
        if arn is None:
            continue
        region = spec.instance_region(instance_id)
        if arn.region != region:
            found.append(
                _at(
                    where,
                    f"the key ARN {ref} is in {arn.region} but instance {instance_id} is in "
                    f"{region}; KMS keys are regional: use a key of {region} for its {field}",
                )
            )
        account = None if spec.accounts else spec.defaults.account  # else: spec/accounts.py
        if account is not None and arn.account != account:
            found.append(
                _at(
                    where,
                    f"the key ARN {ref} belongs to account {arn.account}, not to "
                    f"defaults.account {account}: RDS encrypts only with a key of the "
                    "instance's own account (cross-account keys are not supported)",
                )
            )
    return sorted(set(found), key=lambda d: (d.file, d.line, d.col, d.message))


def key_uses(
    spec: Spec, locations: dict[str, Location]
) -> Iterator[tuple[str, str, str, Location]]:
    """(instance, `encryption` or `tde`, key reference, where it is written) of every key
    reference an instance uses; a `tde` taken from defaults is placed at `defaults.tde.key`."""
    by_default = {f: locations.get(f"defaults.{f}.key") for f in ("encryption", "tde")}
    default_tde = spec.defaults.tde
    for instance_id, instance in spec.instances.items():
        tde = instance.tde if instance.tde is not None else default_tde  # spec.tde_of
        for field, value in (("encryption", instance.encryption), ("tde", tde)):
            if not isinstance(value, KeyRef):
                continue
            own = f"instances.{instance_id}.{field}.key"
            where = locations.get(own) or by_default[field]
            yield instance_id, field, value.key, where or locations[f"rds_encryption.{instance_id}"]


def _at(where: Location, message: str) -> Diagnostic:
    return Diagnostic(where.file, where.line, where.col, message)
