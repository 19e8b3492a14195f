"""Client-side rate limits: one token bucket per action and region, so we stay under a quota
instead of bouncing off it (every throttled answer costs a round trip and a backoff).

Limits are keyed by `service:Action` (e.g. `kms:DescribeKey`) or by the bare action name. An
API quota is an account's in one region (KMS "Limits": docs/real-cloud.md), so each region's
calls of an action have a bucket of their own at that limit; RAM is global, one bucket for the
account (`quota_key`).

A quota nobody declared is learnt from the throttling answers (docs/real-cloud.md, "Quotas"):
the calls the server answered in the second before it throttled are, by definition, about its
quota, so the first throttled answer installs a bucket at that rate and every later one (at most
once a second) lowers it to what was answered then. A bucket that keeps callers waiting without
a throttled answer for PROBE_SECONDS probes 5 % higher, so a low first estimate recovers.
"""

from __future__ import annotations

import threading
import time
from collections import deque
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

# A limit is the quota we must stay under in any one-second window. The bucket refills at 97 %
# of it and may save up 3 % as a burst: burst + rate <= quota, so even a sliding window never
# sees more than the quota, while a long run takes only ~1.03x calls / quota.
REFILL_SHARE = 0.97
BURST_SHARE = 0.03
WINDOW_SECONDS = 1.0
"""Quotas are per second: the answers of the last second estimate one."""
PROBE_SECONDS = 5.0
PROBE_STEP = 1.05


GLOBAL_SERVICES = frozenset({"ram"})
"""Services whose quota is the account's, whatever region a call names."""


def quota_key(service: str, action: str, region: str | None = None) -> str:
    """The quota a call spends: `service:Action` in `region` (`kms:DescribeKey@cn-hangzhou`),
    or the account's (`ram:GetRole`) for a global service or no region."""
    qualified = f"{service}:{action}"
    if region is None or service in GLOBAL_SERVICES:
        return qualified
    return f"{qualified}@{region}"


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

    def set_rate(self, rate: float) -> None:
        """A new steady rate (and burst in proportion), from now on."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self.rate = max(rate, 1.0)
            self.burst = max(1.0, self.rate * BURST_SHARE / REFILL_SHARE)

    def acquire(self) -> float:
        """Block until a token is ours; return how long we waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


class AnswerWindow:
    """When the calls of one action were answered, over the last WINDOW_SECONDS."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def add(self, now: float) -> None:
        self._times.append(now)
        self._drop_before(now - WINDOW_SECONDS)

    def count(self, now: float) -> int:
        self._drop_before(now - WINDOW_SECONDS)
        return len(self._times)

    def _drop_before(self, start: float) -> None:
        while self._times and self._times[0] < start:
            self._times.popleft()


@dataclass
class Learnt:
    """What the throttling answers taught about one action's quota."""

    bucket: TokenBucket
    ceiling: float | None
    """The declared limit's rate, never exceeded by a probe; None when none was declared."""
    changed_at: float


@dataclass
class RateLimiter:
    """Per-action token buckets. Actions without a limit pass straight through.

    `limits` maps `service:Action` or `Action` to the quota in calls per second."""

    limits: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _answers: dict[str, AnswerWindow] = field(default_factory=dict, repr=False)
    _learnt: dict[str, Learnt] = field(default_factory=dict, repr=False)

    def for_another_account(self) -> RateLimiter:
        """The same declared limits with buckets, and quotas learnt, of their own: an API
        quota is an account's (docs/architecture.md, "Processes")."""
        return RateLimiter(limits=self.limits, clock=self.clock, sleep=self.sleep)

    def acquire(self, service: str, action: str, region: str | None = None) -> float:
        """Wait for a token of `service:action` in `region` (quota_key); return the seconds
        waited (0 when unlimited)."""
        key = quota_key(service, action, region)
        bucket = self._bucket(service, action, key)
        waited = bucket.acquire() if bucket is not None else 0.0
        if waited > 0:
            self._probe(key)
        return waited

    def answered(self, service: str, action: str, region: str | None = None) -> None:
        """A call of the action was answered (not throttled): counted towards the estimate."""
        key = quota_key(service, action, region)
        with self._lock:
            window = self._answers.get(key)
            if window is None:  # not setdefault: a window built per call costs every call
                window = self._answers[key] = AnswerWindow()
            window.add(self.clock())

    def throttled(self, service: str, action: str, region: str | None = None) -> None:
        """The server throttled a call of the action: learn its quota (see the module's doc)."""
        key = quota_key(service, action, region)
        with self._lock:
            now = self.clock()
            estimate = self._answers.get(key, AnswerWindow()).count(now)
            learnt = self._learnt.get(key)
            if estimate == 0 or (learnt and now - learnt.changed_at < WINDOW_SECONDS):
                # Nothing answered (someone else spends the quota: retry-after alone) or the
                # throttled answers of one burst, which teach one lesson.
                return
            rate = estimate * REFILL_SHARE
            if learnt is None:
                learnt = self._learn(key, rate, now)
            learnt.bucket.set_rate(min(rate, learnt.bucket.rate))
            learnt.changed_at = now

    def _learn(self, key: str, rate: float, now: float) -> Learnt:
        """The learnt state of a quota, over its declared bucket if it has one."""
        declared = self._buckets.get(key)
        burst = rate * BURST_SHARE / REFILL_SHARE
        bucket = declared or TokenBucket(rate, burst, clock=self.clock, sleep=self.sleep)
        self._buckets[key] = bucket
        learnt = Learnt(bucket, declared.rate if declared else None, now)
        self._learnt[key] = learnt
        return learnt

    def _probe(self, key: str) -> None:
        """A learnt bucket that kept a caller waiting without a throttle for PROBE_SECONDS
        tries 5 % more (never beyond a declared limit)."""
        with self._lock:
            learnt = self._learnt.get(key)
            now = self.clock()
            if learnt is None or now - learnt.changed_at < PROBE_SECONDS:
                return
            higher = learnt.bucket.rate * PROBE_STEP
            if learnt.ceiling is not None:
                higher = min(higher, learnt.ceiling)
            learnt.bucket.set_rate(higher)
            learnt.changed_at = now

    def _bucket(self, service: str, action: str, key: str) -> TokenBucket | None:
        """The bucket of quota `key`, made at the declared limit of `service:action`."""
        with self._lock:
            if key not in self._buckets:
                rate = self.limits.get(f"{service}:{action}", self.limits.get(action))
                if rate is None:
                    return None
                self._buckets[key] = TokenBucket(
                    rate * REFILL_SHARE,
                    burst=rate * BURST_SHARE,
                    clock=self.clock,
                    sleep=self.sleep,
                )
            return self._buckets[key]
