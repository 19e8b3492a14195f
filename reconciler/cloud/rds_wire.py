"""The one road of every RDS call (2014-08-15): the SDK's models, loaded lazily (`reconciler
--help` stays fast), and a read through the shared client (retry, rate limit, count)."""

from __future__ import annotations

from typing import Any

from reconciler.cloud.clients import CloudClients


def models() -> Any:
    from alibabacloud_rds20140815 import models

    return models


def answer(clients: CloudClients, region: str, action: str, method: str, request: Any) -> dict:
    """Call one RDS read through the shared road (retry, rate limit, count); its body as wire
    names. Errors propagate for the caller's `reading` block to label."""
    response = clients.call("rds", region, action, lambda c: getattr(c, method)(request))
    return response.body.to_map() or {}
