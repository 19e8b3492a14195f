"""The TDE instances that depend on the RDS role (issue 19): those whose TDE uses a KMS key
(TDEMode Customer_Provided_Key, as read), which RDS uses through the role, and those the spec
wants on one (their enabling needs the role). Named in the RAM changes' reasons and next to
the RAM drift items, so whoever changes or repairs the role knows what rides on it (pure)."""

from __future__ import annotations

from reconciler.core.facts import ObservedState
from reconciler.spec.models import SERVICE_KEY, KeyRef, Spec

CUSTOM_MODE = "Customer_Provided_Key"


def tde_users(spec: Spec, observed: ObservedState) -> list[str]:
    found = {
        i.instance_id
        for i in observed.instances.values()
        if i.tde is not None and i.tde.enabled and i.tde.mode == CUSTOM_MODE
    }
    for instance_id in spec.instances:
        wanted = spec.tde_of(instance_id)
        if isinstance(wanted, KeyRef) and wanted.key != SERVICE_KEY:
            found.add(instance_id)
    return sorted(found)


def naming(users: list[str]) -> str:
    """The sentence naming them; "" when there are none."""
    if not users:
        return ""
    return (
        f"TDE instances that depend on the role: {', '.join(users)} (RDS uses their TDE key "
        "through it; a key it cannot use stops their snapshots, restores and secondary "
        "rebuilds, and a restart then makes them unavailable)"
    )


def with_users(reason: str, users: list[str]) -> str:
    return f"{reason}. {naming(users)}" if users else reason
