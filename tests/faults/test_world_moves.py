"""The world moves under the tool: between plan and apply, between two pages of a listing,
behind the tool's back (a key disabled), or the spec lets go of an instance."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.apply.executor import apply_plan
from reconciler.cli import cli
from reconciler.cloud import kms
from reconciler.emulator import dispatch
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.plan.planner import build_plan
from reconciler.state.observe import observe
from tests.apply.conftest import (
    REPO_SPECS,
    FakeTime,
    clients_for,
    make_plan,
    options,
    spec_of,
    writes,
)
from tests.e2e import world
from tests.e2e.conftest import ENV
from tests.faults.conftest import GP, HZ, MODIFY, fault


def cli_run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=ENV)


def test_a_stale_plan_made_on_an_empty_world_is_refused(
    emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The first observation found nothing at all (no instance, no key but the service key):
    the saved plan creates the key. Someone creates a key of that alias by hand before apply:
    the plan is stale, nothing is written, and planning again converges."""
    monkeypatch.chdir(tmp_path)
    spec = {"defaults": {"region": HZ}, "kms_keys": {"rds-a": {"alias": "alias/rds-a"}}}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump({"version": 1, **spec}))
    made = cli_run("--endpoint", emulator.endpoint, "plan", "spec.yaml", "-o", "plan.json")
    assert made.exit_code == 0, made.stderr
    (change,) = json.loads(Path("plan.json").read_text())["changes"]
    assert change["action"] == "create" and change["before"] is None
    key_id = world.create_key(emulator.endpoint, alias="alias/rds-a")
    world.reset_calls(emulator.endpoint)

    refused = cli_run(
        "--endpoint", emulator.endpoint, "apply", "--plan", "plan.json", "spec.yaml",
        "--auto-approve",
    )  # fmt: skip

    assert refused.exit_code == 1
    assert "kms_key.rds-a" in refused.stderr and key_id in refused.stderr
    assert "stale" in refused.stderr
    assert writes(emulator) == {}
    done = cli_run("--endpoint", emulator.endpoint, "apply", "spec.yaml", "--auto-approve")
    assert done.exit_code == 0, done.stdout + done.stderr
    again = cli_run("--endpoint", emulator.endpoint, "plan", "spec.yaml", "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout


def test_a_role_rds_cannot_see_for_60_seconds_is_waited_out(demo) -> None:  # type: ignore[no-untyped-def]
    """RDS answers ByokNotAuthorizedToRds for a while after this run created the role: on the
    injected clock, the refusals last 74 s (2 + 4 + 8 + 15 x 4), and apply waits them out."""
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    fault(demo, action=MODIFY, code="ByokNotAuthorizedToRds", status=403, times=7)
    world.reset_calls(demo.endpoint)
    time = FakeTime(demo)

    result = apply_plan(
        plan, clients, options(time, allow_restart=True, allow_irreversible=True, parallelism=1)
    )

    assert result.ok, result.outcomes
    assert 60 <= sum(time.slept) <= 120
    assert writes(demo)[MODIFY] == 4 + 7
    assert make_plan(clients, REPO_SPECS).changes == []


def test_a_key_in_use_disabled_out_of_band_refuses_its_instance_and_touches_nothing(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    legacy = kms.alias_target(clients, HZ, "alias/rds-legacy")
    assert legacy is not None
    world.disable_key(demo.endpoint, legacy)
    spec = {
        "defaults": {"region": HZ, "restart": "immediate"},
        "instances": {
            "pgm-bp1ded0000000003": {"encryption": {"key": "service"}},  # on the legacy key
            GP: {"encryption": {"key": "service"}},
        },
    }

    plan = make_plan(clients, spec)

    (refusal,) = plan.refusals
    assert refusal.address == "rds_encryption.pgm-bp1ded0000000003"
    assert refusal.code == "InstanceLocked" and legacy in refusal.message
    assert [c.address for c in plan.changes] == [f"rds_encryption.{GP}"]
    world.reset_calls(demo.endpoint)
    with pytest.raises(Exception, match="refusal"):
        apply_plan(
            plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
        )
    assert world.calls(demo.endpoint) == {}


def test_an_instance_removed_from_the_spec_is_left_alone(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    both = {
        "defaults": {"region": HZ, "restart": "immediate"},
        "instances": {
            GP: {"encryption": {"key": "service"}},
            "pgm-bp1gp00000000002": {"encryption": {"key": "service"}},
        },
    }
    assert apply_plan(
        make_plan(clients, both),
        clients,
        options(FakeTime(demo), allow_restart=True, allow_irreversible=True),
    ).ok
    # GP leaves the spec, and someone turns its encryption off again.
    from alibabacloud_rds20140815 import models

    world.rds(demo.endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=GP, config_name="encryptionKey", config_value="disabled"
        )
    )
    one = {**both, "instances": {"pgm-bp1gp00000000002": {"encryption": {"key": "service"}}}}
    plan = make_plan(clients, one)
    assert plan.changes == [] and plan.refusals == []
    world.reset_calls(demo.endpoint)
    assert apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    ).ok
    assert writes(demo) == {}


PAGED = [f"pgm-bp1pag{n:010d}" for n in range(150)]
UNMANAGED = PAGED[:10]  # the first page starts with them


@pytest.fixture
def paged(tmp_path: Path) -> Iterator[tuple[Emulator, str]]:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        yaml.safe_dump(
            {
                "regions": [HZ],
                "rds_instances": [
                    {"id": i, "region": HZ, "class": "pg.x4.large.2c", "encryption": "service"}
                    for i in PAGED
                ],
            }
        )
    )
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "spec.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "defaults": {"region": HZ},
                "instances": {i: {"encryption": {"key": "service"}} for i in PAGED[10:]},
            }
        )
    )
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed=str(seed)) as emu:
        yield emu, str(spec)


@pytest.fixture
def page_two_moves(paged: tuple[Emulator, str]) -> Iterator[list[str]]:
    """Just before page 2 of DescribeDBInstances is served, an unmanaged instance of page 1
    is deleted (so page 2 starts one instance later: one of its instances moved to page 1,
    already read) and a new one is created (at the end). Yields what happened."""
    emu, _ = paged
    moved: list[str] = []

    def hook(state, service: str, action: str, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
        if (service, action) != ("rds", "DescribeDBInstances") or params.get("PageNumber") != "2":
            return
        if moved:
            return
        moved.append("page 2")
        time.sleep(0.3)  # page 1 is answered first

        def change() -> None:
            from alibabacloud_rds20140815 import models

            world.rds(emu.endpoint).delete_dbinstance(
                models.DeleteDBInstanceRequest(dbinstance_id=UNMANAGED[0])
            )
            moved.append(world.create_instance(emu.endpoint))

        worker = threading.Thread(target=change)
        worker.start()
        worker.join()

    dispatch.register_pre_dispatch(hook)
    try:
        yield moved
    finally:
        dispatch._PRE_DISPATCH_HOOKS.remove(hook)


def test_a_listing_that_moves_between_pages_misses_no_managed_instance(
    paged, page_two_moves
) -> None:  # type: ignore[no-untyped-def]
    emu, spec = paged
    plan = make_plan(clients_for(emu), spec)
    assert page_two_moves, "the listing was paged"
    assert plan.changes == [] and plan.refusals == []  # none reported missing, none planned


def test_drift_counts_no_instance_twice_when_a_page_moves(paged, page_two_moves) -> None:  # type: ignore[no-untyped-def]
    """Drift's coverage is a snapshot of a listing that moved: the instance deleted after page
    1 was read is counted (it existed then), the one shifted onto page 1 is read by id (it is
    managed), the new one is on page 2; none is counted twice, and none managed is missing.
    (An UNMANAGED instance shifted onto a page already read is not seen in that run: page
    numbers give no snapshot, and only managed instances are looked up by id. The next run
    counts it.)"""
    emu, spec = paged
    run = cli_run("--endpoint", emu.endpoint, "drift", spec, "--format", "json")
    assert page_two_moves, "the listing was paged"
    assert run.exit_code == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["coverage"]["instances"] <= 151  # 150 + the one created, never doubled
    assert report["coverage"]["managed"] == 140
    assert report["summary"].get("missing", 0) == 0


def test_a_world_back_where_an_earlier_plan_found_it_is_changed_again(demo) -> None:  # type: ignore[no-untyped-def]
    """We turn encryption on; someone turns it off again. The new plan sees exactly the facts
    the first one saw, yet it is a new plan: its write must not carry the first plan's
    ClientToken, which the cloud would answer with the first answer, changing nothing (the
    apply then waits in vain, and no plan ever converges)."""
    from alibabacloud_rds20140815 import models

    spec = {
        "defaults": {"region": HZ, "restart": "immediate"},
        "instances": {GP: {"encryption": {"key": "service"}}},
    }
    clients = clients_for(demo)
    first = make_plan(clients, spec)
    assert apply_plan(
        first, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    ).ok
    world.rds(demo.endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=GP, config_name="encryptionKey", config_value="disabled"
        )
    )
    again = build_plan(
        spec_of(spec), observe(spec_of(spec), clients), created_at="2030-01-01T00:00:00Z"
    )
    assert again.fingerprint == first.fingerprint  # the same facts as the first time

    result = apply_plan(
        again,
        clients,
        options(FakeTime(demo), allow_restart=True, allow_irreversible=True, timeout_s=60),
    )

    assert result.ok, result.outcomes
    assert make_plan(clients, spec).changes == []
