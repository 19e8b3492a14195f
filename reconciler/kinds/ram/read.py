"""The reads of the kind `ram` (state/observe.py runs them): once, when the spec manages or
verifies RAM (or import names a role), GetPolicy, GetRole and ListPoliciesForRole (with
GetPolicy of each attached policy), in the spec's default region."""

from __future__ import annotations

from typing import Any

from reconciler.cloud import ram
from reconciler.state.reads import Reader, ReadScope


def start_reads(reader: Reader, scope: ReadScope) -> None:
    ram_spec = scope.effective_ram()
    if ram_spec is None:
        return  # RAM is left alone: not read, so the facts hold no RAM
    reader.submit(
        lambda observed: setattr(reader.facts, "ram", observed),
        ram.observe_ram,
        reader.clients,
        scope.spec.defaults.region,
        ram_spec.role,
        ram_spec.policy,
        ram_spec.policy_type,
    )


def observed_fields(reader: Reader, scope: ReadScope) -> dict[str, Any]:
    return {"ram": reader.facts.ram}
