"""Token bucket and per-action limiter, driven by an injected clock (no real waiting)."""

from __future__ import annotations

import threading

import pytest

from reconciler.cloud.ratelimit import DEFAULT_LIMITS, RateLimiter, TokenBucket
from reconciler.errors import ReconcilerError
from reconciler.rate_limits import parse_limits


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_bucket_spaces_calls_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock=clock, sleep=clock.sleep)
    for _ in range(51):
        bucket.acquire()
    # 1 token at start, then one every 0.1 s: 51 calls take 5 s.
    assert clock.now == pytest.approx(5.0)


def test_bucket_burst_then_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, burst=5, clock=clock, sleep=clock.sleep)
    waits = [bucket.reserve() for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(0.5) and waits[6] == pytest.approx(1.0)


def test_bucket_refills_while_idle_but_not_beyond_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, burst=2, clock=clock, sleep=clock.sleep)
    bucket.reserve(), bucket.reserve()
    clock.now += 100.0
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_bucket_never_exceeds_rate_under_threads() -> None:
    """Reservations made concurrently still come out spaced at 1/rate."""
    clock = FakeClock()
    bucket = TokenBucket(50.0, clock=clock, sleep=lambda s: None)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            w = bucket.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits)[-1] == pytest.approx(199 / 50.0)
    assert len({round(w, 6) for w in waits}) == 200  # every call got its own slot


def test_limiter_is_per_action_and_unlimited_by_default() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        {"rds:DescribeDBInstanceEncryptionKey": 100.0}, clock=clock, sleep=clock.sleep
    )
    times = []
    for _ in range(1000):
        limiter.acquire("rds", "DescribeDBInstanceEncryptionKey")
        times.append(clock.now)
    # 97 % of the quota as the steady rate, 3 % as a burst: ~1.03x calls / quota.
    assert clock.now == pytest.approx((1000 - 3) / 97.0)
    # Never more than the quota in any one-second window.
    assert max(sum(1 for t in times if s <= t < s + 1.0) for s in times) <= 100
    for _ in range(100):
        assert limiter.acquire("rds", "DescribeDBInstances") == 0.0


def test_limiter_accepts_bare_action_names() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"DescribeKey": 1.0}, clock=clock, sleep=clock.sleep)
    limiter.acquire("kms", "DescribeKey")
    assert limiter.acquire("kms", "DescribeKey") == pytest.approx(1 / 0.97)


def test_each_region_has_its_own_quota_and_ram_one_for_the_account() -> None:
    """An API quota is an account's in one region (KMS "Limits"; docs/real-cloud.md): drift's
    service-key reads of eleven regions at once wait on nothing. RAM is global: its calls
    share one bucket whatever region they name."""
    clock = FakeClock()
    limits = {"kms:DescribeKey": 1.0, "ram:GetRole": 1.0}
    limiter = RateLimiter(limits, clock=clock, sleep=clock.sleep)
    regions = ["cn-hangzhou", "cn-shanghai", "cn-beijing"]
    assert [limiter.acquire("kms", "DescribeKey", region) for region in regions] == [0.0] * 3
    assert limiter.acquire("kms", "DescribeKey", "cn-hangzhou") == pytest.approx(1 / 0.97)
    limiter.acquire("ram", "GetRole", "cn-hangzhou")
    assert limiter.acquire("ram", "GetRole", "cn-shanghai") > 0


def test_a_quota_is_learnt_per_region() -> None:
    """Throttled in one region: that region's quota is learnt, another's is untouched."""
    clock = FakeClock()
    limiter = RateLimiter({}, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        limiter.acquire("rds", "DescribeDBInstances", "cn-hangzhou")
        limiter.answered("rds", "DescribeDBInstances", "cn-hangzhou")
    limiter.throttled("rds", "DescribeDBInstances", "cn-hangzhou")
    waits = [limiter.acquire("rds", "DescribeDBInstances", "cn-hangzhou") for _ in range(3)]
    assert sum(waits) > 0
    assert limiter.acquire("rds", "DescribeDBInstances", "cn-shanghai") == 0.0


def test_parse_limits() -> None:
    limits = parse_limits(["DescribeDBInstanceEncryptionKey=50", "kms:DescribeKey=0"])
    assert limits["rds:DescribeDBInstanceEncryptionKey"] == 50.0  # qualified by its service
    assert "kms:DescribeKey" not in limits
    assert limits["kms:ListResourceTags"] == DEFAULT_LIMITS["kms:ListResourceTags"]
    for bad in ("nonsense", "X=", "=3", "X=-1", "X=abc"):
        with pytest.raises(ReconcilerError):
            parse_limits([bad])


# --- a quota learnt from the throttling answers ----------------------------------------------

ACTION = ("rds", "DescribeDBInstanceEncryptionKey")


def _answered(limiter: RateLimiter, clock: FakeClock, count: int, seconds: float = 1.0) -> None:
    """`count` calls answered evenly over `seconds` (each through the limiter)."""
    for _ in range(count):
        limiter.acquire(*ACTION)
        limiter.answered(*ACTION)
        clock.now += seconds / count


def _rate_over(limiter: RateLimiter, clock: FakeClock, calls: int) -> float:
    started = clock.now
    for _ in range(calls):
        limiter.acquire(*ACTION)
    return calls / (clock.now - started)


def test_an_undeclared_quota_is_learnt_from_the_first_throttled_answer() -> None:
    clock = FakeClock()
    limiter = RateLimiter({}, clock=clock, sleep=clock.sleep)
    _answered(limiter, clock, 200)
    limiter.throttled(*ACTION)
    assert _rate_over(limiter, clock, 500) == pytest.approx(200 * 0.97, rel=0.02)


def test_a_throttle_with_nothing_answered_teaches_nothing() -> None:
    """Someone else spends the quota: the retry's own wait is the answer, not a bucket at 0."""
    clock = FakeClock()
    limiter = RateLimiter({}, clock=clock, sleep=clock.sleep)
    limiter.throttled(*ACTION)
    assert limiter.acquire(*ACTION) == 0.0


def test_the_throttled_answers_of_one_burst_teach_one_lesson() -> None:
    clock = FakeClock()
    limiter = RateLimiter({}, clock=clock, sleep=clock.sleep)
    _answered(limiter, clock, 200)
    for _ in range(16):  # every thread in flight comes back throttled
        limiter.throttled(*ACTION)
    assert _rate_over(limiter, clock, 500) == pytest.approx(200 * 0.97, rel=0.02)


def test_a_later_throttle_lowers_the_learnt_rate_to_what_was_answered() -> None:
    clock = FakeClock()
    limiter = RateLimiter({}, clock=clock, sleep=clock.sleep)
    _answered(limiter, clock, 200)
    limiter.throttled(*ACTION)
    clock.now += 2.0
    _answered(limiter, clock, 100)  # the quota was shared, or lowered, meanwhile
    limiter.throttled(*ACTION)
    assert _rate_over(limiter, clock, 300) == pytest.approx(100 * 0.97, rel=0.03)


def test_a_declared_limit_the_server_throttles_is_lowered_and_never_probed_above() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        {"rds:DescribeDBInstanceEncryptionKey": 300.0}, clock=clock, sleep=clock.sleep
    )
    _answered(limiter, clock, 150)
    limiter.throttled(*ACTION)
    assert _rate_over(limiter, clock, 300) == pytest.approx(150 * 0.97, rel=0.03)
    # Waiting without a throttle for seconds probes upwards, 5 % at a time, to the declared rate.
    _rate_over(limiter, clock, 300 * 60)
    assert _rate_over(limiter, clock, 3000) == pytest.approx(300 * 0.97, rel=0.03)


def test_a_low_first_estimate_recovers_by_probing() -> None:
    clock = FakeClock()
    limiter = RateLimiter({}, clock=clock, sleep=clock.sleep)
    _answered(limiter, clock, 10)
    limiter.throttled(*ACTION)
    first = _rate_over(limiter, clock, 50)
    _rate_over(limiter, clock, 2000)
    assert _rate_over(limiter, clock, 500) > 2 * first
