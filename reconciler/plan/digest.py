"""Digests a saved plan is checked against (pure).

`facts_digest(observed, address)`: what a change rests on, per address, so that a stale saved
plan names the addresses whose facts moved, and a change elsewhere in the cloud (an unrelated
instance restarting) does not make it stale. `spec_digest(spec)`: the spec in canonical form,
so a plan is applied only with the spec it was made from (comments and file layout aside).
"""

from __future__ import annotations

from typing import Any

from reconciler.core.facts import ObservedState, canonical_sha256
from reconciler.kinds import find_kind
from reconciler.spec.models import Spec


def spec_digest(spec: Spec) -> str:
    return canonical_sha256(spec.model_dump(mode="json"), fresh=True)


def facts(observed: ObservedState, address: str) -> dict[str, Any]:
    """The observed facts a change of `address` rests on, as plain data (its kind says which)."""
    kind = find_kind(address)
    if kind is None:
        raise ValueError(f"no facts are defined for address {address!r}")
    return kind.facts(observed, address)


def facts_digest(observed: ObservedState, address: str) -> str:
    # Not fresh: a kind's facts may hold the observed models' own dicts and lists.
    return canonical_sha256(facts(observed, address))
