"""CreateKey's guard at the write (kinds/kms_key/write_guards.py): the KMS instance is read
again right before the key is created, through the real SDK against the emulator; a key in an
instance that vanished, is no longer Connected or is full is refused before CreateKey."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from reconciler.emulator.server import Emulator
from reconciler.errors import CloudCallError
from reconciler.kinds.kms_key.write_guards import kms_instance_ready
from reconciler.plan.actions import RefusalCode
from tests.apply.conftest import clients_for
from tests.e2e import world

T = TypeVar("T")
REGION = "cn-hangzhou"


class _Reads:
    def __init__(self, emu: Emulator) -> None:
        self.clients = clients_for(emu)
        self.ram_region = REGION

    def once(self, name: str, read: Callable[[], T]) -> T:
        return read()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(":memory:") as emulator:
        yield emulator


def _instance(emu: Emulator, **body: Any) -> str:
    body = {"region": REGION, "key_num": 1, "end_date": "2099-01-01T00:00:00Z", **body}
    return str(world.admin(emu.endpoint, "POST", "kms/instances", body)["KmsInstanceId"])


def _guard(emu: Emulator, instance_id: str | None) -> Any:
    params = {"Description": "", "Tags": "[]"}
    if instance_id is not None:
        params["DKMSInstanceId"] = instance_id
    return kms_instance_ready(_Reads(emu), REGION, params)


def test_a_connected_instance_with_room_passes(emu: Emulator) -> None:
    assert _guard(emu, _instance(emu)) is None


def test_a_default_key_is_left_to_create_key(emu: Emulator) -> None:
    assert _guard(emu, None) is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"status": "Disconnected"}, RefusalCode.KMS_INSTANCE_NOT_READY),
        ({"key_num": 0}, RefusalCode.KMS_INSTANCE_KEY_QUOTA),
    ],
)
def test_an_instance_not_ready_or_full_is_refused(emu: Emulator, body: dict, code: Any) -> None:
    refusal = _guard(emu, _instance(emu, **body))
    assert refusal is not None and refusal.code is code


def test_an_unknown_instance_is_refused(emu: Emulator) -> None:
    refusal = _guard(emu, "kst-hzzgone00000000000000001")
    assert refusal is not None and refusal.code is RefusalCode.KMS_INSTANCE_NOT_FOUND


def test_a_failed_read_is_an_error_never_a_pass(emu: Emulator) -> None:
    fault = {"action": "GetKmsInstance", "code": "InternalError", "status": 500, "times": 50}
    world.admin(emu.endpoint, "POST", "faults", fault)
    with pytest.raises(CloudCallError):
        _guard(emu, _instance(emu))
