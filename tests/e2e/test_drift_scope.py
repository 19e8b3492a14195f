"""observe(ReadScope): drift reads every PostgreSQL instance's encryption and import reads a
region with no spec, each within the call bound N + ceil(N/100) + K + 10 (README, "Measured")
for what it reads; a plain spec still reads only what the plan needs."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.spec.models import Spec
from reconciler.state.observe import ReadScope, observe
from tests.e2e import drift_world as dw
from tests.e2e import world


def _clients(endpoint: str) -> CloudClients:
    return CloudClients(
        CloudSettings(
            endpoint=endpoint, credentials=StaticCredentials("emulator", "emulator-secret")
        )
    )


def _build(endpoint: str, count: int, **kwargs: str) -> list[str]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: world.create_instance(endpoint, **kwargs), range(count)))


def _bound(n: int, keys: int) -> int:
    return n + math.ceil(n / 100) + keys + 10


def test_drift_scope_reads_every_instance_within_the_bound(emulator) -> None:  # type: ignore[no-untyped-def]
    ids = _build(emulator.endpoint, 230, encryption_key="ServiceKey")
    spec = Spec.model_validate(
        {"instances": {i: {"encryption": {"key": "service"}} for i in ids[:20]}}
    )
    clients = _clients(emulator.endpoint)
    observed = observe(ReadScope(spec=spec, all_instances=True), clients)
    assert all(i.encryption is not None for i in observed.instances.values())
    assert sum(i.managed for i in observed.instances.values()) == 20
    assert clients.counter.total <= _bound(230, 0), clients.counter.by_action()

    plain = _clients(emulator.endpoint)
    planned = observe(spec, plain)
    unmanaged = [i for i in planned.instances.values() if not i.managed]
    assert unmanaged and all(i.encryption is None for i in unmanaged)
    assert plain.counter.by_action()["rds:DescribeDBInstanceEncryptionKey"] == 20


def test_import_scope_reads_a_region_with_no_spec_every_engine_and_the_keys_in_use(
    emulator,
) -> None:  # type: ignore[no-untyped-def]
    dw.make_ram(emulator.endpoint)
    key = world.create_key(
        emulator.endpoint, alias="alias/used", tags={"acs:rds:instance-encryption": "true"}
    )
    _build(emulator.endpoint, 120, region="cn-shanghai", encryption_key="ServiceKey")
    world.create_instance(
        emulator.endpoint, region="cn-shanghai", engine="MySQL", engine_version="8.0"
    )
    on_key = world.create_instance(emulator.endpoint, encryption_key=key)
    scope = ReadScope(
        regions=("cn-hangzhou", "cn-shanghai"),
        all_instances=True,
        all_engines=True,
        keys_in_use=True,
    )
    clients = _clients(emulator.endpoint)
    observed = observe(scope, clients)
    engines = sorted({i.engine for i in observed.instances.values()})
    assert engines == ["MySQL", "PostgreSQL"]
    assert observed.regions_listed == ["cn-hangzhou", "cn-shanghai"]
    assert observed.keys_by_id[key] is not None
    assert observed.keys_by_id[key].aliases == ["alias/used"]
    assert observed.instances[on_key].encryption.key_id == key
    assert clients.counter.total <= _bound(122, 1), clients.counter.by_action()
