"""Fixtures for emulator tests (reusable by every tests/emulator/ module):

- `emulator`: a fresh in-process Emulator with an in-memory store, per test
  (`.endpoint` "127.0.0.1:PORT", `.base_url`, `.state`, `.store`).
- `signature`: "v3" (default ACS3-HMAC-SHA256) and "v1" (`signature_algorithm='v2'`,
  HMAC-SHA1); a test that uses it, or any client fixture, runs once per signature.
- `make_client(service, region=None, **config)`: a REAL SDK client ("kms", "ram" or "rds") for
  `emulator`, signed per `signature`; extra Config fields override the defaults. With `region`
  the client also sends `RegionId=<region>` on every call (GlobalParameters): the SDK never
  sends its region_id, and KMS actions have no RegionId field, so on one endpoint that is how
  a KMS call names its region (the emulator's default region is cn-hangzhou).
- `kms`, `ram`, `rds`: ready clients (alibabacloud_kms20160120 / ram20150501 / rds20140815).
- `admin`: an AdminClient for /_emulator/ (`.get(name)`, `.post(name, body)`, `.delete(name)`).
- `api_error(callable)`: runs an SDK call that must fail, returns the exception (code,
  status_code, data).
- Every test fails if the emulator logged an internal error (an unexpected exception answered
  500 InternalError), unless it asks for `expect_internal_errors` (the logged lines).

The light signed-request client (no SDK) is tests/emulator/wire_client.py.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reconciler.emulator.server import Emulator

SDK_MODULES = {
    "kms": "alibabacloud_kms20160120.client",
    "ram": "alibabacloud_ram20150501.client",
    "rds": "alibabacloud_rds20140815.client",
    "sts": "alibabacloud_sts20150401.client",
}


class AdminClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _send(self, method: str, name: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_emulator/{name}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def get(self, name: str) -> dict[str, Any]:
        return self._send("GET", name, None)

    def post(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._send("POST", name, body)

    def delete(self, name: str) -> dict[str, Any]:
        return self._send("DELETE", name, None)


def sdk_client(
    service: str, endpoint: str, signature: str = "v3", region: str | None = None, **config: Any
) -> Any:
    import importlib

    from alibabacloud_tea_openapi.utils_models import Config, GlobalParameters

    options: dict[str, Any] = {
        "access_key_id": "emulator",
        "access_key_secret": "emulator-secret",
        "region_id": region or "cn-hangzhou",
        "endpoint": endpoint,
        "protocol": "http",
    }
    if region is not None:
        options["global_parameters"] = GlobalParameters(queries={"RegionId": region})
    if signature == "v1":
        options["signature_algorithm"] = "v2"
    options.update(config)
    return importlib.import_module(SDK_MODULES[service]).Client(Config(**options))


TEST_KMS_INSTANCES = {
    "cn-hangzhou": "kst-hzz0test000000000000001",
    "cn-shanghai": "kst-shh0test000000000000002",
}
"""A Connected KMS instance per region in every `emulator` of these tests: KMS keeps one default
key per region, so the helpers create keys in these (emulator/kms/instances.py)."""


def seed_kms_instances(emu: Emulator) -> Emulator:
    """Put TEST_KMS_INSTANCES into the emulator's store (as a seed's kms_instances would)."""
    from reconciler.emulator.dispatch import RequestContext
    from reconciler.emulator.kms import instances

    with emu.state.store.transaction() as tx:
        for region, instance_id in TEST_KMS_INSTANCES.items():
            ctx = RequestContext("kms", "Seed", {"RegionId": region}, tx, emu.state, "seed")
            instances.put_instance(
                ctx, region, key_num=1000, end_date="2099-12-31T00:00:00Z", instance_id=instance_id
            )
    return emu


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(state_path=":memory:") as emu:
        yield seed_kms_instances(emu)


@pytest.fixture(params=["v3", "v1"])
def signature(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_client(emulator: Emulator, signature: str) -> Callable[..., Any]:
    def factory(service: str, region: str | None = None, **config: Any) -> Any:
        return sdk_client(service, emulator.endpoint, signature, region, **config)

    return factory


@pytest.fixture
def kms(make_client: Callable[..., Any]) -> Any:
    return make_client("kms")


@pytest.fixture
def ram(make_client: Callable[..., Any]) -> Any:
    return make_client("ram")


@pytest.fixture
def rds(make_client: Callable[..., Any]) -> Any:
    return make_client("rds")


@pytest.fixture
def admin(emulator: Emulator) -> AdminClient:
    return AdminClient(emulator.base_url)


@pytest.fixture
def api_error() -> Callable[[Callable[[], Any]], Any]:
    from Tea.exceptions import TeaException

    def run(call: Callable[[], Any]) -> Any:
        with pytest.raises(TeaException) as info:
            call()
        return info.value

    return run


class _ErrorLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(autouse=True)
def _internal_errors(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """An internal error on a normal path is a bug even though the client got JSON."""
    handler = _ErrorLines()
    logger = logging.getLogger("reconciler.emulator")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
    if "expect_internal_errors" not in request.fixturenames:
        assert handler.lines == [], "the emulator logged internal errors"


@pytest.fixture
def expect_internal_errors(_internal_errors: list[str]) -> list[str]:
    return _internal_errors
