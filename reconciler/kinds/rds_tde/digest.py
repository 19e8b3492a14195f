"""The facts an instance's TDE change rests on (the saved plan's digest, pure): the instance as
read (its TDE, minor engine version and read-only instances included) and each of its
read-only instances, whose version and storage TDE needs too."""

from __future__ import annotations

from typing import Any

from reconciler.core.facts import ObservedState


def facts(observed: ObservedState, instance_id: str) -> dict[str, Any]:
    instance = observed.instances.get(instance_id)
    read_only = instance.read_only_ids if instance else []
    return {
        "instance": instance.model_dump(mode="json") if instance else None,
        "read_only": {
            i: (ro.model_dump(mode="json") if (ro := observed.instances.get(i)) else None)
            for i in read_only
        },
    }
