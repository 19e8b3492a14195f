"""Every API write of a change as data: `Operation{op, params}` with the wire names of the
request parameters, so apply interprets the plan and re-derives nothing.

The engine's part: the ClientToken, and `operations()`, which runs the parameter builders a
kind hands it (`kinds/<kind>/params.py`). A builder takes the change's views: its desired view
(`after`) and, where a call removes something (UntagResource), its observed view (`before`). A
value that only an earlier change produces (the id or ARN of a key being created) is a
reference, `ref(address, attr)`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from reconciler.core.ops import Op
from reconciler.plan.model import Operation

Params = dict[str, Any]
Views = tuple[str, dict[str, Any] | None, dict[str, Any]]
"""(address, before, after) of one change."""
Builder = Callable[[Views], Params]
"""The request parameters of one operation, from the change's views."""


def client_token(token_seed: str, address: str, op: str) -> str:
    """The ClientToken of a write, derived from the plan (its token seed, the address, the
    operation): re-applying the same plan after a crash sends the same token, so the cloud
    does the write once, even when the journal of the first run is gone. The seed is the
    plan's random plan_id (PlanContext.token_seed): a NEW plan, even one made in the same
    second from the same facts (we changed an instance, someone changed it back), must not
    send an old plan's token, which the cloud would answer with its first answer, doing
    nothing (docs/plan-format.md, "ClientToken")."""
    digest = hashlib.sha256(f"{token_seed}|{address}|{op}".encode()).hexdigest()
    return f"rcl-{digest[:40]}"


def json_param(value: Any) -> str:
    """A parameter that the API takes as a JSON text (documents, tag lists): compact, keys
    sorted, so the same value is always the same text."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def operations(
    ops: list[Op],
    address: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    *,
    builders: Mapping[Op, Builder],
    token_seed: str,
    tokened: Collection[Op] = (),
) -> list[Operation]:
    """The Operations of one change, in order, each from its kind's builder. The calls in
    `tokened` take a ClientToken derived from the plan (`token_seed`: PlanContext.token_seed)."""
    views: Views = (address, before, after)
    built = []
    for op in ops:
        params = builders[op](views)
        if op in tokened:
            params["ClientToken"] = client_token(token_seed, address, op.value)
        built.append(Operation(op=op.value, params=params))
    return built
