"""The fault suite: named scenarios through the emulator (the real SDK over HTTP), each ending
converged (a second plan reports no changes) or with a clear refusal, and nothing written twice.

Fixtures come from tests/apply (an in-process emulator per test, an injectable clock); the
helpers below drive the emulator's admin faults (docs/emulator.md, "The admin API")."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.server import Emulator
from tests.apply.conftest import (  # noqa: F401 - fixtures used by the tests of this folder
    _no_cancellation,
    demo,
    emulator,
    slow_demo,
)
from tests.e2e import world

HZ = "cn-hangzhou"
GP = "pgm-bp1gp00000000001"
"""A demo instance with encryption off; ONE_INSTANCE puts it on the service key."""
ONE_INSTANCE: dict[str, Any] = {
    "defaults": {"region": HZ, "restart": "immediate"},
    "instances": {GP: {"encryption": {"key": "service"}}},
}
MODIFY = "rds:ModifyDBInstanceConfig"


def fault(emu: Emulator, **body: Any) -> None:
    """An error answer (`code`, `status`, `times` or `rate`), or a lost answer
    (`drop_answer`)."""
    world.admin(emu.endpoint, "POST", "faults", dict(body))


def lose_answer(emu: Emulator, action: str, *, mode: str = "drop", times: int = 1, **extra: Any):  # type: ignore[no-untyped-def]
    """The action runs and commits; its answer is lost (`mode`: drop, truncate, garble,
    empty)."""
    fault(emu, action=action, drop_answer=mode, times=times, **extra)


def hold_busy(
    emu: Emulator, instance_id: str, reads: int, status: str = "CONFIG_ENCRYPTING"
) -> None:
    world.admin(
        emu.endpoint, "POST", "busy", {"instance_id": instance_id, "reads": reads, "status": status}
    )


def tasks(emu: Emulator) -> list[dict[str, Any]]:
    """Every encryption change the emulated RDS has made or scheduled."""
    return world.admin(emu.endpoint, "GET", "tasks")["tasks"]


def accepted_tokens(emu: Emulator) -> list[str]:
    """The ClientTokens of the ModifyDBInstanceConfig calls the emulated RDS accepted (it
    keeps each token with the parameters it came with; a replay adds none)."""
    with emu.store.transaction() as tx:
        ids = tx.list_ids("rds_client_token")
    return sorted(i.split(":", 1)[1] for _, i in ids if i.startswith("ModifyDBInstanceConfig:"))


def user_keys(emu: Emulator, region: str = HZ) -> list[str]:
    """Ids of the keys users made in a region (the service key left out)."""
    from alibabacloud_kms20160120 import models

    listed = world.kms(emu.endpoint, region).list_keys(
        models.ListKeysRequest(page_size=100, filters='[{"Key":"CreatorType","Values":["User"]}]')
    )
    return sorted(k.key_id for k in listed.body.keys.key)
