"""Apply through the emulator with the real SDK clients: plans are built as the CLI builds
them (load_spec -> observe -> build_plan), then carried out by apply_plan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler import cancellation
from reconciler.apply.executor import ApplyEvent, ApplyOptions
from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.retry import RetryPolicy
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.spec.loader import load_spec
from reconciler.spec.models import Spec
from reconciler.state.observe import observe
from tests.e2e import world

REPO_SPECS = str(Path(__file__).resolve().parents[2] / "specs")
READ_PREFIXES = ("Describe", "Get", "List", "Check")


def clients_for(emu: Emulator) -> CloudClients:
    return CloudClients(
        CloudSettings(
            endpoint=emu.endpoint,
            credentials=StaticCredentials("emulator", "emulator-secret"),
        ),
        retry=RetryPolicy(base_delay=0.005, max_delay=0.02),
    )


def spec_of(source: str | dict[str, Any]) -> Spec:
    if isinstance(source, str):
        return load_spec([source]).spec
    return Spec.model_validate({"version": 1, **source})


def make_plan(clients: CloudClients, source: str | dict[str, Any]) -> Plan:
    spec = spec_of(source)
    return build_plan(spec, observe(spec, clients))


def writes(emu: Emulator) -> dict[str, int]:
    """The write actions the emulator has served since the last reset."""
    by_action = world.calls(emu.endpoint)
    return {a: n for a, n in by_action.items() if not a.split(":", 1)[1].startswith(READ_PREFIXES)}


@dataclass
class FakeTime:
    """An injectable clock: sleep() advances it, and (when given an emulator) the emulated
    clock too, so a wait for a restart or a window passes without real time."""

    emu: Emulator | None = None
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.emu is not None and seconds > 0:
            world.admin(self.emu.endpoint, "POST", "clock", {"advance_seconds": seconds})


@dataclass
class Events:
    seen: list[ApplyEvent] = field(default_factory=list)

    def __call__(self, event: ApplyEvent) -> None:
        self.seen.append(event)

    def kinds(self, address: str) -> list[str]:
        return [e.kind for e in self.seen if e.address == address]


def options(time: FakeTime, **extra: Any) -> ApplyOptions:
    return ApplyOptions(clock=time.clock, sleep=time.sleep, **extra)


@pytest.fixture(autouse=True)
def _no_cancellation() -> Iterator[None]:
    cancellation.reset()
    yield
    cancellation.reset()


@pytest.fixture
def demo() -> Iterator[Emulator]:
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed="demo") as emu:
        yield world.outside_the_window(emu)


@pytest.fixture
def slow_demo() -> Iterator[Emulator]:
    """The demo world where an encryption change keeps the instance busy for 30 s."""
    with Emulator(":memory:", settings=Settings(restart_seconds=30), seed="demo") as emu:
        yield world.outside_the_window(emu)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(":memory:", settings=Settings(restart_seconds=0)) as emu:
        yield world.outside_the_window(emu)
