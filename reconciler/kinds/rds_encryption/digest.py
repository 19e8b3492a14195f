"""The facts an instance's encryption change rests on (the saved plan's digest, pure)."""

from __future__ import annotations

from typing import Any

from reconciler.core.facts import ObservedState


def facts(observed: ObservedState, instance_id: str) -> dict[str, Any]:
    instance = observed.instances.get(instance_id)
    return {
        "instance": instance.model_dump(mode="json") if instance else None,
        "tasks": [
            t.model_dump(mode="json") for t in observed.tasks if t.instance_id == instance_id
        ],
    }
