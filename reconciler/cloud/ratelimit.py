"""Client-side rate limits: one token bucket per action, so we stay under a quota instead of
bouncing off it (every throttled answer costs a round trip and a backoff).

Limits are keyed by `service:Action` (e.g. `kms:DescribeKey`) or by the bare action name.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reconciler.errors import ReconcilerError
from reconciler.permissions import ACTIONS

# KMS's documented quotas per account and region, for the KMS actions the tool sends (Alibaba's
# KMS "Limits" page: docs/real-cloud.md, KMS: quotas; the emulator starts
# with the same quotas: reconciler/emulator/quota.py DEFAULT_KMS_QUOTAS). RDS and RAM publish no
# per-API table: unlimited by default.
DEFAULT_LIMITS: dict[str, float] = {
    # key-management reads: 50 QPS
    "kms:DescribeKey": 50.0,
    "kms:ListAliasesByKeyId": 50.0,
    "kms:ListKeys": 50.0,
    "kms:ListAliases": 50.0,
    # tags: 300 QPS
    "kms:ListResourceTags": 300.0,
    # key creation: 10 QPS
    "kms:CreateKey": 10.0,
    # the account's KMS status: 1 QPS
    "kms:DescribeAccountKmsStatus": 1.0,
}

# A limit is the quota we must stay under in any one-second window. The bucket refills at 95 %
# of it and may save up 5 % as a burst: burst + rate <= quota, so even a sliding window never
# sees more than the quota, while a long run takes only ~1.05x calls / quota.
REFILL_SHARE = 0.95
BURST_SHARE = 0.05


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. `acquire` blocks until a token is free.

    Thread-safe. The clock and sleep are injectable so tests need no real waiting. Tokens are
    reserved under the lock and the wait happens outside it, so many threads queue fairly."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token (possibly borrowed from the future); return seconds to wait for it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Block until a token is ours; return how long we waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass
class RateLimiter:
    """Per-action token buckets. Actions without a limit pass straight through.

    `limits` maps `service:Action` or `Action` to the quota in calls per second."""

    limits: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def acquire(self, service: str, action: str) -> float:
        """Wait for a token of `service:action`; return the seconds waited (0 when unlimited)."""
        bucket = self._bucket(service, action)
        return bucket.acquire() if bucket is not None else 0.0

    def _bucket(self, service: str, action: str) -> TokenBucket | None:
        qualified = f"{service}:{action}"
        with self._lock:
            if qualified not in self._buckets:
                rate = self.limits.get(qualified, self.limits.get(action))
                if rate is None:
                    return None
                self._buckets[qualified] = TokenBucket(
                    rate * REFILL_SHARE,
                    burst=rate * BURST_SHARE,
                    clock=self.clock,
                    sleep=self.sleep,
                )
            return self._buckets[qualified]


KNOWN_ACTIONS: frozenset[str] = frozenset(a.name for a in ACTIONS if not a.implied)
"""Every action the tool sends: the reads of kms.py, ram.py and rds.py and the writes a plan may
contain (Op), as reconciler/permissions.py lists them. A limit on any other name would never
apply, so it is refused. tests/unit/cli/test_rate_limit_option.py checks it against the code."""
LIMIT_FORM = "service:Action=N, e.g. rds:DescribeDBInstanceEncryptionKey=50 (N > 0; 0 = no limit)"


def qualified_action(name: str) -> str | None:
    """`service:Action` for a known action, given with or without its service; else None."""
    if name in KNOWN_ACTIONS:
        return name
    matches = [known for known in KNOWN_ACTIONS if known.split(":", 1)[1] == name]
    return matches[0] if len(matches) == 1 else None


def parse_limits(items: list[str] | tuple[str, ...]) -> dict[str, float]:
    """Parse `service:Action=N` items (a known Action alone is qualified with its service);
    `0` removes a limit. Unknown actions and numbers that are negative, not finite or not
    numbers are refused: a limit that would never apply must not pass silently."""
    limits = dict(DEFAULT_LIMITS)
    for item in items:
        name, sep, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not name or not math.isfinite(rate) or rate < 0:
            raise ReconcilerError(f"bad rate limit {item!r}: write {LIMIT_FORM}")
        action = qualified_action(name.strip())
        if action is None:
            raise ReconcilerError(
                f"bad rate limit {item!r}: {name!r} is not an action this tool calls; "
                f"write {LIMIT_FORM}"
            )
        if rate == 0:
            limits.pop(action, None)
        else:
            limits[action] = rate
    return limits
