"""Per-action rate quotas: past the rate, the cloud's real throttling answer.

Admin API (JSON, no signature):

    POST   /_emulator/quota {"action": "DescribeDBInstanceEncryptionKey", "per_second": 50}
           per_second: an integer 0..1000000 (0 admits nothing);
           "action" may be "Name", "service:Name" (e.g. "kms:DescribeKey") or "*";
           optional "retry_headers": false leaves out the retry-after headers.
    GET    /_emulator/quota  -> {"quotas": [...]}
    DELETE /_emulator/quota  {"action": "..."} clears one quota, {} clears all.

The rate is counted over a sliding one-second window of REAL time (clients are throttled for
what they really send; the emulated clock only drives resource states). Refused calls do not
use up the quota. The answers (reference sections 8 and 10):

- RDS and RAM: 400 ``Throttling.User`` "Request was denied due to user flow control."
- KMS: 429 ``Rejected.Throttling`` "QPS Limit Exceeded".
- Headers ``x-acs-retry-after: <ms>`` (what tea-openapi 0.4.6 reads) and
  ``x-ratelimit-user-api: Limit:N,Remain:0,TimeLeft:<ms>,Reset:<ms>``. Whether the cloud sends
  both is undocumented; the emulator sends both unless told not to. ``Reset`` is chosen to be
  the same milliseconds as ``TimeLeft`` (the documented example gives no unit or epoch).

``reconciler emulator serve`` starts with KMS's documented quotas (``DEFAULT_KMS_QUOTAS``,
``Settings(kms_quotas=True)``; ``--no-kms-quotas`` leaves them out); an ``Emulator`` made in
Python starts without them unless its settings ask. ``GET`` lists them, ``DELETE {}`` clears
them too.

Registered as a pre-dispatch hook and admin routes when this module is imported (by
``reconciler.emulator.rds.responses``), so it needs no line in the framework's files.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.admin import AdminError, number, register_admin_route
from reconciler.emulator.dispatch import register_pre_dispatch
from reconciler.emulator.errors import ApiError
from reconciler.emulator.runtime import EmulatorState

_EXTENSION = "quota"
WINDOW_SECONDS = 1.0
MAX_PER_SECOND = 1_000_000

# KMS's documented quotas per account and region (Alibaba's KMS "Limits" page;
# docs/real-cloud.md, KMS: quotas): key-management reads 50 QPS,
# ListResourceTags 300 QPS, CreateKey 10 QPS; DescribeAccountKmsStatus 1 QPS). The emulator
# starts with them (Settings.kms_quotas). It has one account, and counts all regions together:
# stricter than the cloud only for a client reading several regions at full speed at once.
DEFAULT_KMS_QUOTAS: dict[str, int] = {
    # key-management reads: 50 QPS each
    "kms:DescribeKey": 50,
    "kms:ListKeys": 50,
    "kms:ListAliases": 50,
    "kms:ListAliasesByKeyId": 50,
    # tags: 300 QPS
    "kms:ListResourceTags": 300,
    # key creation: 10 QPS
    "kms:CreateKey": 10,
    # the account's KMS status: 1 QPS
    "kms:DescribeAccountKmsStatus": 1,
}


@dataclass
class Quota:
    action: str
    per_second: int
    retry_headers: bool = True
    admitted: deque[float] = field(default_factory=deque)

    def matches(self, service: str, action: str) -> bool:
        return self.action in ("*", action, f"{service}:{action}")

    def admit(self, now: float) -> float | None:
        """Record a call and return None, or return the seconds until one more fits."""
        while self.admitted and now - self.admitted[0] >= WINDOW_SECONDS:
            self.admitted.popleft()
        if len(self.admitted) < self.per_second:
            self.admitted.append(now)
            return None
        if not self.admitted:  # a quota of 0 admits nothing: try again in a full window
            return WINDOW_SECONDS
        return WINDOW_SECONDS - (now - self.admitted[0])


class QuotaTable:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._quotas: dict[str, Quota] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def set(self, action: str, per_second: int, retry_headers: bool = True) -> None:
        with self._lock:
            self._quotas[action] = Quota(action, per_second, retry_headers)

    def clear(self, action: str | None = None) -> None:
        with self._lock:
            if action is None:
                self._quotas.clear()
            else:
                self._quotas.pop(action, None)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"action": q.action, "per_second": q.per_second, "retry_headers": q.retry_headers}
                for q in self._quotas.values()
            ]

    def check(self, service: str, action: str) -> None:
        """Raise the service's throttling error when a matching quota is used up."""
        with self._lock:
            now = self._clock()
            for quota in self._quotas.values():
                if not quota.matches(service, action):
                    continue
                wait = quota.admit(now)
                if wait is not None:
                    raise throttled(service, quota, wait)


def throttled(service: str, quota: Quota, wait_seconds: float) -> ApiError:
    wait_ms = max(1, math.ceil(wait_seconds * 1000))
    headers: dict[str, str] = {}
    if quota.retry_headers:
        headers = {
            "x-acs-retry-after": str(wait_ms),
            "x-ratelimit-user-api": (
                f"Limit:{quota.per_second},Remain:0,TimeLeft:{wait_ms},Reset:{wait_ms}"
            ),
        }
    if service == "kms":
        return ApiError(429, "Rejected.Throttling", "QPS Limit Exceeded", headers)
    return ApiError(400, "Throttling.User", "Request was denied due to user flow control.", headers)


def table(state: EmulatorState) -> QuotaTable:
    """The emulator's quota table, made on first use with KMS's documented quotas unless the
    emulator was started without them."""
    with state.extensions_lock:
        found = state.extensions.get(_EXTENSION)
        if found is None:
            found = state.extensions[_EXTENSION] = QuotaTable()
            if state.settings.kms_quotas:
                for action, per_second in DEFAULT_KMS_QUOTAS.items():
                    found.set(action, per_second)
        return found


def _hook(state: EmulatorState, service: str, action: str, params: dict[str, str]) -> None:
    found = state.extensions.get(_EXTENSION)
    if found is None:
        if not state.settings.kms_quotas:  # no quota ever set: nothing to do, no lock taken
            return
        found = table(state)
    found.check(service, action)


def _post(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise AdminError(400, "action is a required string")
    per_second = int(number(body, "per_second", 0, MAX_PER_SECOND, integer=True))
    retry_headers = body.get("retry_headers", True)
    if not isinstance(retry_headers, bool):
        raise AdminError(400, "retry_headers must be a boolean")
    table(state).set(action, per_second, retry_headers)
    return {"quotas": table(state).describe()}


def _delete(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    action = body.get("action")
    if action is not None and not isinstance(action, str):
        raise AdminError(400, "action must be a string")
    table(state).clear(action)
    return {"quotas": table(state).describe()}


register_pre_dispatch(_hook)
register_admin_route("POST", "quota", _post)
register_admin_route("GET", "quota", lambda state, body: {"quotas": table(state).describe()})
register_admin_route("DELETE", "quota", _delete)
