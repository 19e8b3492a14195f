"""Digests a saved plan is checked against (pure).

`facts_digest(observed, address)`: what a change rests on, per address, so that a stale saved
plan names the addresses whose facts moved, and a change elsewhere in the cloud (an unrelated
instance restarting) does not make it stale. `spec_digest(spec)`: the spec in canonical form,
so a plan is applied only with the spec it was made from (comments and file layout aside).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reconciler.spec.models import Spec
from reconciler.state.models import ObservedState, canonical


def _sha256(document: Any) -> str:
    text = json.dumps(canonical(document), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def spec_digest(spec: Spec) -> str:
    return _sha256(spec.model_dump(mode="json"))


def facts(observed: ObservedState, address: str) -> dict[str, Any]:
    """The observed facts a change of `address` rests on, as plain data."""
    kind, _, name = address.partition(".")
    if kind.startswith("ram_"):
        ram = observed.ram
        return {"ram": ram.model_dump(mode="json") if ram else None}
    if kind == "kms_key":
        key = observed.keys.get(name)
        users = observed.key_users.get(key.key_id) if key is not None else None
        return {
            "key": key.model_dump(mode="json") if key else None,
            "users": [u.model_dump(mode="json") for u in users] if users is not None else None,
            "kms_activated": observed.kms_activated,
        }
    if kind == "rds_encryption":
        instance = observed.instances.get(name)
        return {
            "instance": instance.model_dump(mode="json") if instance else None,
            "tasks": [t.model_dump(mode="json") for t in observed.tasks if t.instance_id == name],
        }
    raise ValueError(f"no facts are defined for address {address!r}")


def facts_digest(observed: ObservedState, address: str) -> str:
    return _sha256(facts(observed, address))
