"""A read waiting for its rate-limit token does not hold an observe worker (state/observe.py,
_Loop; cloud/ratelimit.py, deferring): the reads behind it go on meanwhile, and the state read
and the calls sent are the same as without the wait. Through the emulator, the real SDK."""

from __future__ import annotations

import threading

from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.counter import CallCounter
from reconciler.cloud.ratelimit import DEFAULT_LIMITS, RateLimiter
from reconciler.spec.models import Spec
from reconciler.state.observe import ReadScope, observe
from tests.e2e import world

REGIONS = ("cn-hangzhou", "cn-shanghai")


class _Order(CallCounter):
    """The order the calls were sent in (counted just before each request)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []
        self._order_lock = threading.Lock()

    def count(self, service: str, action: str) -> None:
        super().count(service, action)
        with self._order_lock:
            self.sent.append(action)


def _clients(endpoint: str, limits: dict[str, float]) -> CloudClients:
    return CloudClients(
        CloudSettings(
            endpoint=endpoint, credentials=StaticCredentials("emulator", "emulator-secret")
        ),
        limiter=RateLimiter({**DEFAULT_LIMITS, **limits}),
        counter=_Order(),
    )


def _spec(endpoint: str) -> Spec:
    ids = {
        world.create_instance(endpoint, region=region, encryption_key="ServiceKey"): region
        for region in REGIONS
        for _ in range(3)
    }
    return Spec.model_validate(
        {"instances": {i: {"region": r, "encryption": {"key": "service"}} for i, r in ids.items()}}
    )


def test_a_read_waiting_for_its_token_lets_the_other_reads_run(emulator) -> None:  # type: ignore[no-untyped-def]
    """One worker, DescribeKey at 1 a second, a service key per region: the second region's
    DescribeKey waits a second for its token. Every other read is sent meanwhile: a worker
    asleep in the limiter would have held them all back (on main: the second DescribeKey was
    the second call sent)."""
    spec = _spec(emulator.endpoint)
    scope = ReadScope(spec=spec, all_instances=True)
    slow = _clients(emulator.endpoint, {"kms:DescribeKey": 1.0})

    observed = observe(scope, slow, parallelism=1)

    sent = slow.counter.sent  # type: ignore[attr-defined]
    assert sent.count("DescribeKey") == len(REGIONS)
    assert sent[-1] == "DescribeKey", sent
    assert sent.index("DescribeDBInstanceEncryptionKey") < len(sent) - 1
    assert sent.count("DescribeDBInstanceEncryptionKey") == 6

    free = _clients(emulator.endpoint, {})
    assert observe(scope, free, parallelism=1) == observed, "the wait changed what was read"
    assert free.counter.by_action() == slow.counter.by_action(), "the wait changed the calls"
    assert all(i.encryption is not None for i in observed.instances.values())
    assert sorted(observed.regions_listed) == list(REGIONS)


def test_a_throttled_retry_waits_in_place_and_keeps_its_attempts(emulator) -> None:  # type: ignore[no-untyped-def]
    """The emulator throttles DescribeKey beyond 1 a second: the retries of a throttled read
    wait on their worker (only a read's first call is deferred), so the read is retried, not
    started afresh, and observe still reads every service key."""
    spec = _spec(emulator.endpoint)
    world.set_quota(emulator.endpoint, "DescribeKey", 1)
    clients = _clients(emulator.endpoint, {"kms:DescribeKey": 50.0})

    observed = observe(ReadScope(spec=spec, all_instances=True), clients, parallelism=4)

    assert all(i.encryption is not None for i in observed.instances.values())
    retries = clients.counter.retries().get("kms:DescribeKey", 0)
    sent = clients.counter.by_action()["kms:DescribeKey"]
    assert retries > 0, "the emulator did not throttle: the test tests nothing"
    assert sent == len(REGIONS) + retries
