"""The facts a key's change rests on (the saved plan's digest, pure)."""

from __future__ import annotations

from typing import Any

from reconciler.core.facts import ObservedState


def facts(observed: ObservedState, name: str) -> dict[str, Any]:
    key = observed.keys.get(name)
    users = observed.key_users.get(key.key_id) if key is not None else None
    return {
        "key": key.model_dump(mode="json") if key else None,
        "users": [u.model_dump(mode="json") for u in users] if users is not None else None,
        "kms_activated": observed.kms_activated,
        **_instance(observed, key),
    }


def _instance(observed: ObservedState, key: Any) -> dict[str, Any]:
    """The KMS instance of a key that lives in one (only then: older digests stay)."""
    instance_id = key.dkms_instance_id if key is not None else ""
    if not instance_id or instance_id not in observed.kms_instances:
        return {}
    found = observed.kms_instances[instance_id]
    return {"kms_instance": found.model_dump(mode="json") if found else None}
