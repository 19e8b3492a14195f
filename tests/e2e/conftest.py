"""e2e fixtures: an in-process emulator per test, and the CLI driven as a user would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world

ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "emulator",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "emulator-secret",
    "CI": "1",
}
READ_PREFIXES = ("Describe", "Get", "List", "Check")


@dataclass
class PlanRun:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def plan(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def codes(self) -> set[str]:
        return {r["code"] for r in self.plan["refusals"]}


def run_cli(*args: str) -> PlanRun:
    result = CliRunner().invoke(cli, list(args), env=ENV, catch_exceptions=False)
    return PlanRun(result.exit_code, result.stdout, result.stderr)


def only_reads(by_action: dict[str, int]) -> list[str]:
    """The actions in a call count that are NOT reads (should be empty for a plan)."""
    return sorted(a for a in by_action if not a.split(":", 1)[1].startswith(READ_PREFIXES))


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """An empty world (service keys and a KMS instance per region: world.KMS_INSTANCES) in
    memory."""
    with Emulator(":memory:", settings=Settings(restart_seconds=0)) as emu:
        yield world.outside_the_window(world.with_kms_instances(emu))


@pytest.fixture
def demo() -> Iterator[Emulator]:
    """The built-in demo world (notes/demo-fleet.md) in memory."""
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed="demo") as emu:
        yield world.outside_the_window(emu)


@pytest.fixture
def write_spec(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a spec document into a fresh folder; return the folder."""
    counter = iter(range(1000))

    def write(doc: dict[str, Any]) -> str:
        folder = tmp_path / f"spec{next(counter)}"
        folder.mkdir()
        # Keys live in the test KMS instances (world.in_kms_instances): KMS keeps one default
        # key per region.
        spec = world.in_kms_instances({"version": 1, **doc})
        (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
        return str(folder)

    return write


def plan_json(endpoint: str, folder: str, *extra: str) -> PlanRun:
    return run_cli("--endpoint", endpoint, "plan", folder, "--format", "json", *extra)
