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
    }
