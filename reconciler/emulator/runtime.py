"""Per-emulator runtime state that is not in the store: call counts, faults, latency and
extensions that plug-in services keep (for example RDS's quotas under `extensions["rds"]`).

Three kinds of fault (admin.py's `POST /_emulator/faults` and `POST /_emulator/busy`):
- an error answer instead of running the action (`Fault`, checked before the handler);
- a lost answer: the action runs and its transaction commits, then the answer is dropped
  (`DropFault`: the server closes the connection without a byte, after an optional delay),
  as when a timeout or a reset hits after the cloud committed;
- a busy instance (`BusyHold`): its next N status reads show a busy status, and a
  ModifyDBInstanceConfig on it meanwhile answers IncorrectDBInstanceState.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.auth import Authenticator
from reconciler.emulator.clock import EmulatedClock
from reconciler.emulator.errors import ApiError, EmulatorSetupError
from reconciler.emulator.store import Store


@dataclass(frozen=True)
class Settings:
    """What `reconciler emulator serve` is started with."""

    access_key_id: str = "emulator"
    access_key_secret: str = "emulator-secret"
    account_id: str = "1234567890123456"
    default_region: str = "cn-hangzhou"
    restart_seconds: float = 2.0
    kms_quotas: bool = False
    """Start with KMS's documented per-account, per-region quotas (quota.DEFAULT_KMS_QUOTAS);
    `DELETE /_emulator/quota {}` clears them, `POST /_emulator/quota` changes one. On for
    `reconciler emulator serve` (what a user's scripts meet, `--no-kms-quotas` to leave them
    out); off for an `Emulator` made in Python (tests, benchmarks), whose callers set quotas
    where they test them and would otherwise be throttled by tests that hammer KMS on purpose."""

    def check(self) -> None:
        """EmulatorSetupError for a value the emulator cannot run with (checked when an
        emulator starts, so `emulator serve` reports it as one line)."""
        limit = EmulatedClock.MAX_ADVANCE_SECONDS
        if not (math.isfinite(self.restart_seconds) and 0 <= self.restart_seconds <= limit):
            raise EmulatorSetupError(
                f"restart seconds must be a finite number within 0..{limit:.0f} (100 years), "
                f"not {self.restart_seconds!r}"
            )


@dataclass
class Fault:
    """An injected error answer: for `times` matching calls, or for a seeded `rate` of them."""

    action: str  # "ModifyDBInstanceConfig", "rds:ModifyDBInstanceConfig" or "*"
    code: str
    status: int
    message: str
    times: int | None = None
    rate: float | None = None
    retry_after_ms: int | None = None
    rng: random.Random = field(default_factory=random.Random)
    instance_id: str | None = None
    """Only calls naming this instance (DBInstanceId) fail; None: any call."""

    def matches(self, service: str, action: str, params: Mapping[str, str]) -> bool:
        if self.instance_id is not None and params.get("DBInstanceId") != self.instance_id:
            return False
        return self.action in ("*", action, f"{service}:{action}")


class FaultTable:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "action": f.action,
                    "code": f.code,
                    "status": f.status,
                    "times": f.times,
                    "rate": f.rate,
                    "instance_id": f.instance_id,
                }
                for f in self._faults
            ]

    def check(self, service: str, action: str, params: Mapping[str, str]) -> None:
        """Raise the first matching fault's error; a count-based fault is used up by it."""
        if not self._faults:  # none injected: no lock to take (a list's truth is atomic)
            return
        with self._lock:
            for fault in self._faults:
                if not fault.matches(service, action, params):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                elif fault.rate is None or fault.rng.random() >= fault.rate:
                    continue
                headers = {}
                if fault.retry_after_ms:
                    headers["x-acs-retry-after"] = str(fault.retry_after_ms)
                raise ApiError(fault.status, fault.code, fault.message, headers)


ANSWER_MODES = ("drop", "truncate", "garble", "empty")
"""What a DropFault sends instead of the answer: nothing (the connection closes); the first
half of the answer, then a close; a 200 whose body is not JSON; a 200 of `{}` (JSON without
any of the answer's fields)."""


@dataclass
class DropFault:
    """Run the action and commit, then lose the answer (`mode`): for `times` matching calls."""

    action: str
    times: int
    delay_ms: int = 0
    mode: str = "drop"

    def matches(self, service: str, action: str) -> bool:
        return self.action in ("*", action, f"{service}:{action}")


class EmulatorStopping(Exception):
    """Raised by dispatch when a call was still under way as the emulator stopped (its store
    closed under it): the server drops the connection, as a server going down does, and logs
    nothing. Not an internal error."""


class AnswerDropped(Exception):
    """Raised by dispatch after a committed action whose answer a DropFault takes; the server
    then waits `delay_s` and sends what `mode` says (ANSWER_MODES) instead of `answer`."""

    def __init__(self, delay_s: float, mode: str, answer: tuple[int, dict[str, str], bytes]):
        super().__init__("answer dropped after commit")
        self.delay_s = delay_s
        self.mode = mode
        self.answer = answer


class DropTable:
    def __init__(self) -> None:
        self._drops: list[DropFault] = []
        self._lock = threading.Lock()

    def add(self, drop: DropFault) -> None:
        with self._lock:
            self._drops.append(drop)

    def clear(self) -> None:
        with self._lock:
            self._drops.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "action": d.action,
                    "drop_answer": d.mode,
                    "times": d.times,
                    "delay_ms": d.delay_ms,
                }
                for d in self._drops
                if d.times > 0
            ]

    def take(self, service: str, action: str) -> DropFault | None:
        """The first matching drop with calls left, used up by one (None: answer normally)."""
        if not self._drops:  # none injected: no lock to take (a list's truth is atomic)
            return None
        with self._lock:
            for drop in self._drops:
                if drop.times > 0 and drop.matches(service, action):
                    drop.times -= 1
                    return drop
        return None


STATUS_READS = frozenset({"DescribeDBInstanceAttribute", "DescribeDBInstances"})
BUSY_WRITES = frozenset({"ModifyDBInstanceConfig", "ModifyDBInstanceMaintainTime"})


@dataclass
class BusyHold:
    """An instance shown as `status` for its next `reads` status reads (each answer of
    DescribeDBInstanceAttribute or DescribeDBInstances that lists it uses one read)."""

    instance_id: str
    reads: int
    status: str = "CONFIG_ENCRYPTING"


class BusyTable:
    """Instances held busy. A held instance's writes answer 400 IncorrectDBInstanceState (the
    cloud's answer to a change while the instance is not Running) and use no read."""

    def __init__(self) -> None:
        self._holds: dict[str, BusyHold] = {}
        self._lock = threading.Lock()

    def add(self, hold: BusyHold) -> None:
        with self._lock:
            self._holds[hold.instance_id] = hold

    def clear(self) -> None:
        with self._lock:
            self._holds.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"instance_id": h.instance_id, "reads": h.reads, "status": h.status}
                for h in self._holds.values()
                if h.reads > 0
            ]

    def check_write(self, service: str, action: str, params: dict[str, str]) -> None:
        if service != "rds" or action not in BUSY_WRITES:
            return
        instance_id = params.get("DBInstanceId", "")
        with self._lock:
            hold = self._holds.get(instance_id)
            if hold is None or hold.reads <= 0:
                return
            status = hold.status
        raise ApiError(
            400,
            "IncorrectDBInstanceState",
            f"Current DB instance state does not support this operation ({status}).",
        )

    def rewrite(self, service: str, action: str, result: dict[str, Any]) -> None:
        """Show held instances as busy in a status read's answer (in place)."""
        if service != "rds" or action not in STATUS_READS or not self._holds:
            return
        items = result.get("Items") or {}
        rows = items.get("DBInstanceAttribute") or items.get("DBInstance") or []
        with self._lock:
            for row in rows:
                hold = self._holds.get(str(row.get("DBInstanceId")))
                if hold is not None and hold.reads > 0:
                    hold.reads -= 1
                    row["DBInstanceStatus"] = hold.status


class CallCounter:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, service: str, action: str) -> None:
        with self._lock:
            self._counts[f"{service}:{action}"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self._counts.values()), "by_action": dict(self._counts)}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


ACCESS_KEY_KIND = "ram_access_key"
"""Store kind of the access keys of RAM users, by AccessKeyId (identity.py writes them)."""


def _user_secret(store: Store, default_account: str) -> Callable[[str], str | None]:
    """The secret of a RAM user's access key, another account's own key or STS credentials,
    read from the store (None: no such key; accounts.py)."""
    from reconciler.emulator import accounts

    def lookup(key_id: str) -> str | None:
        return store.derived(
            ("key_secret", key_id),
            lambda tx: accounts.key_secret(tx.in_account(""), default_account, key_id),
        )

    return lookup


class EmulatorState:
    """Everything one running emulator shares between its request threads."""

    def __init__(self, store: Store, settings: Settings) -> None:
        settings.check()
        self.store = store
        self.settings = settings
        self.clock = EmulatedClock(store)
        self.auth = Authenticator(
            {settings.access_key_id: settings.access_key_secret},
            _user_secret(store, settings.account_id),
        )
        self.calls = CallCounter()
        self.faults = FaultTable()
        self.drops = DropTable()
        self.busy = BusyTable()
        self.latency_ms = 0.0
        self.stopping = threading.Event()
        """Set by Emulator.stop() before it closes the store (EmulatorStopping)."""
        # Plug-in services keep their own runtime state here, under their service name.
        self.extensions: dict[str, Any] = {}
        self.extensions_lock = threading.Lock()
