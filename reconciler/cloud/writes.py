"""The one road of every cloud WRITE: a plan operation's params (wire names) -> the SDK request
model -> `clients.call(..., write=True)` -> the answer as plain data.

The request is built with the model's own `from_map`, which takes wire names; a parameter the
model does not know would be dropped silently by the SDK, so it is refused here instead (a plan
is carried out exactly, or not at all). The SDK is imported lazily by the calling module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

from reconciler.cloud.clients import CloudClients
from reconciler.core.ops import Op
from reconciler.errors import PermanentError

Service = Literal["rds", "kms", "ram"]
UNKNOWN_PARAMETER = "UnknownParameter"


@dataclass(frozen=True)
class Written:
    """A write's answer: its request id, and the values later operations may refer to
    (`key_id` and `arn` of a created key)."""

    request_id: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict, repr=False)
    note: str = ""
    """How the outcome was learnt when not from the answer (a lost answer read back)."""


def write(
    clients: CloudClients,
    op: Op,
    region: str,
    models: Any,
    method: str,
    params: dict[str, Any],
    *,
    idempotent: bool = False,
) -> Written:
    """Send the write `op`. `models` is the SDK's models module, `method` the client method
    name.

    Raises PermanentError(UnknownParameter) before sending anything when a parameter is not a
    field of the action's request model; otherwise whatever `clients.call` raises."""
    prefix, action = op.value.split(":", 1)
    service = cast(Service, prefix)  # every Op is rds:, kms: or ram: (tests/unit/core/test_ops.py)
    request = getattr(models, f"{action}Request")().from_map(dict(params))
    sent = request.to_map() or {}
    unknown = sorted(set(params) - set(sent))
    if unknown:
        raise PermanentError(
            op.value,
            UNKNOWN_PARAMETER,
            f"the plan passes {', '.join(unknown)}, which the {action} request does not take; "
            "nothing was sent",
        )
    response = clients.call(
        service,
        region,
        action,
        lambda client: getattr(client, method)(request),
        write=True,
        idempotent=idempotent,
    )
    body = response.body.to_map() if response.body is not None else {}
    return Written(request_id=str((body or {}).get("RequestId") or ""), body=body or {})
