"""Client-side rate limits: one token bucket per action, so we stay under a quota instead of
bouncing off it (every throttled answer costs a round trip and a backoff).

Limits are keyed by `service:Action` (e.g. `kms:DescribeKey`) or by the bare action name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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
