"""What apply refuses to do: a plan with refusals, unaccepted restarts, a target that moved
since the plan; and how it stops: on a failure, on a signal, on a lost answer."""

from __future__ import annotations

import json

import pytest

from reconciler import cancellation
from reconciler.apply import calls
from reconciler.apply.executor import apply_plan, check_applicable
from reconciler.apply.journal import Journal
from reconciler.cloud.network import Cause, network_error
from reconciler.errors import ApplyError, Interrupted
from tests.apply.conftest import (
    REPO_SPECS,
    Events,
    FakeTime,
    clients_for,
    make_plan,
    options,
    writes,
)
from tests.e2e import world

HZ = "cn-hangzhou"
REFUSALS = REPO_SPECS + "/examples/refusals"


def _modify(emu, instance_id: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """An out-of-band change, as someone in the console would make it."""
    from alibabacloud_rds20140815 import models

    world.rds(emu.endpoint).modify_dbinstance_config(
        models.ModifyDBInstanceConfigRequest(
            dbinstance_id=instance_id,
            config_name="encryptionKey",
            config_value=value,
            switch_time_mode="Immediate",
        )
    )


def test_a_plan_with_refusals_writes_nothing(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REFUSALS)
    assert plan.refusals and plan.changes  # some changes are fine, some refused
    world.reset_calls(demo.endpoint)

    with pytest.raises(ApplyError) as raised:
        apply_plan(plan, clients, options(FakeTime(), allow_restart=True, allow_irreversible=True))

    assert "refusal" in str(raised.value)
    assert plan.refusals[0].address in str(raised.value)
    assert world.admin(demo.endpoint, "GET", "calls")["total"] == 0  # no write, not even a read


def test_restarts_need_allow_restart(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    world.reset_calls(demo.endpoint)

    with pytest.raises(ApplyError) as raised:
        apply_plan(plan, clients, options(FakeTime()))

    message = str(raised.value)
    for change in plan.changes:
        if change.restart:
            assert change.target_id in message
    assert "--allow-restart", "--allow-irreversible" in message and "nothing was applied" in message
    assert world.admin(demo.endpoint, "GET", "calls")["total"] == 0


def test_a_scheduled_restart_needs_allow_restart_too(demo) -> None:  # type: ignore[no-untyped-def]
    """That RDS defers an encryption change to the window is not documented: a scheduled
    change may restart its instance at once, so it needs the same consent (issue 18)."""
    plan = make_plan(clients_for(demo), REPO_SPECS + "/examples/maintenance-window")
    scheduled = [c for c in plan.changes if c.scheduled]
    immediate = [c for c in plan.changes if c.restart and not c.scheduled]
    assert scheduled and immediate
    with pytest.raises(ApplyError) as raised:
        check_applicable(plan, options(FakeTime()))
    message = " ".join(str(raised.value).split())
    assert f"{immediate[0].target_id} (now)" in message
    assert f"{scheduled[0].target_id} (in its maintenance window)" in message
    assert "not documented (docs/real-cloud.md)" in message
    check_applicable(
        plan, options(FakeTime(), allow_restart=True, allow_irreversible=True)
    )  # consent given: applies


def test_an_instance_changed_since_the_plan_is_not_touched(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    _modify(demo, "pgm-bp1gp00000000001", "ServiceKey")  # off -> service key, out of band
    world.reset_calls(demo.endpoint)

    result = apply_plan(
        plan,
        clients,
        options(FakeTime(demo), allow_restart=True, allow_irreversible=True, parallelism=1),
    )

    assert not result.ok
    moved = result.outcome("rds_encryption.pgm-bp1gp00000000001")
    assert moved is not None and moved.status == "failed"
    assert "rds_encryption.pgm-bp1gp00000000001 changed since the plan" in moved.detail
    assert "the service key" in moved.detail and "off" in moved.detail
    assert moved.request_ids == ()
    # Everything before it ran; nothing was written to it; no new write after the failure.
    statuses = {o.address: o.status for o in result.outcomes}
    assert statuses["kms_key.rds-prod"] == "done"
    assert statuses["rds_encryption.pgm-bp1ded0000000002"] == "done"
    assert statuses["rds_encryption.pgm-uf6ded0000000001"] == "not_started"
    assert writes(demo)["rds:ModifyDBInstanceConfig"] == 2


def test_a_key_changed_since_the_plan_is_not_touched(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    spec = {
        "defaults": {"region": HZ},
        "kms_keys": {
            "rds-legacy": {
                "alias": "alias/rds-legacy",
                "description": "legacy RDS key",
                "tags": {"team": "dba"},
            }
        },
        "ram": {"manage": False},
    }
    plan = make_plan(clients, spec)
    assert [c.op_names for c in plan.changes] == [["kms:TagResource"]]
    key_id = plan.changes[0].target_id
    world.disable_key(demo.endpoint, key_id)
    world.reset_calls(demo.endpoint)

    result = apply_plan(plan, clients, options(FakeTime(demo)))

    outcome = result.outcomes[0]
    assert outcome.status == "failed"
    assert "kms_key.rds-legacy changed since the plan" in outcome.detail
    assert "state is now 'disabled', was 'enabled'" in outcome.detail
    assert writes(demo) == {}


def test_a_failure_stops_new_writes_and_lists_every_change(demo) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    world.admin(
        demo.endpoint,
        "POST",
        "faults",
        {"action": "kms:CreateKey", "code": "Rejected.LimitExceeded", "status": 400, "times": 1},
    )
    world.reset_calls(demo.endpoint)

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    statuses = {o.address: o.status for o in result.outcomes}
    failed = result.outcome("kms_key.rds-prod")
    assert failed is not None and failed.status == "failed"
    assert "Rejected.LimitExceeded" in failed.detail and "request id" in failed.detail
    assert len(failed.request_ids) == 1 and failed.request_ids[0] in failed.detail
    assert statuses["kms_key.rds-legacy"] == "done"
    assert statuses["kms_key.rds-prod-sh"] == "not_started"
    assert all(statuses[a] == "not_started" for a in statuses if a.startswith("rds_"))
    assert "kms:CreateAlias" not in writes(demo) and "rds:ModifyDBInstanceConfig" not in writes(
        demo
    )


def test_a_signal_stops_new_writes_and_leaves_the_journal_consistent(demo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    journal = Journal(tmp_path / "journal.jsonl")
    events = Events()

    def on_event(event) -> None:  # type: ignore[no-untyped-def]
        events(event)
        if event.kind == "done" and event.address == "kms_key.rds-prod":
            cancellation.request(15)  # SIGTERM, as cli/interrupt.py would

    with pytest.raises(Interrupted) as raised:
        apply_plan(
            plan,
            clients,
            options(FakeTime(demo), allow_restart=True, allow_irreversible=True, journal=journal),
            on_event,
        )

    assert raised.value.exit_code == 143
    result = raised.value.apply_result
    assert result is not None
    statuses = {o.address: o.status for o in result.outcomes}
    assert statuses["kms_key.rds-prod"] == "done"
    assert statuses["kms_key.rds-prod-sh"] == "not_started"
    entries = journal.entries()
    assert journal.in_doubt() == []
    written = [e["op"] for e in entries if e["event"] == "before"]
    assert "kms:CreateKey" in written and "rds:ModifyDBInstanceConfig" not in written
    assert entries[-1]["event"] == "end"


def _lose_answer(monkeypatch, op: str) -> None:  # type: ignore[no-untyped-def]
    """The write reaches the cloud and takes effect, but its answer is lost on the way back."""
    real = calls.WRITES[op]

    def lossy(clients, region, params):  # type: ignore[no-untyped-def]
        real(clients, region, params)
        raise network_error(op, Cause.READ_TIMEOUT, write=True)

    monkeypatch.setitem(calls.WRITES, op, lossy)


def test_a_lost_answer_of_a_create_is_read_back_not_repeated(demo, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for op in ("ram:CreateRole", "ram:AttachPolicyToRole", "kms:CreateAlias"):
        _lose_answer(monkeypatch, op)
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    world.reset_calls(demo.endpoint)
    journal = Journal(tmp_path / "journal.jsonl")

    result = apply_plan(
        plan,
        clients,
        options(FakeTime(demo), allow_restart=True, allow_irreversible=True, journal=journal),
    )

    assert result.ok, result.outcomes
    done = writes(demo)
    assert done["ram:CreateRole"] == 1 and done["ram:AttachPolicyToRole"] == 1
    assert done["kms:CreateAlias"] == 2
    assert make_plan(clients, REPO_SPECS).changes == []


def test_a_lost_answer_of_create_key_is_read_back_by_its_tags_not_repeated(
    demo, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _lose_answer(monkeypatch, "kms:CreateKey")
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    world.reset_calls(demo.endpoint)

    result = apply_plan(
        plan, clients, options(FakeTime(demo), allow_restart=True, allow_irreversible=True)
    )

    assert result.ok, result.outcomes
    assert writes(demo)["kms:CreateKey"] == 2  # one per key of the spec, never repeated
    assert make_plan(clients, REPO_SPECS).changes == []


def test_the_journal_records_every_write_before_and_after(demo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clients = clients_for(demo)
    plan = make_plan(clients, REPO_SPECS)
    journal = Journal(tmp_path / "state" / "journal.jsonl")

    apply_plan(
        plan,
        clients,
        options(FakeTime(demo), allow_restart=True, allow_irreversible=True, journal=journal),
    )

    entries = journal.entries()
    assert entries[0]["event"] == "start" and entries[0]["fingerprint"] == plan.fingerprint
    assert entries[-1]["event"] == "end"
    pairs = [e for e in entries if e["event"] in ("before", "after")]
    assert len(pairs) == 2 * sum(len(c.operations) for c in plan.changes)
    for before, after in zip(pairs[::2], pairs[1::2], strict=True):
        if before["op"] != "rds:ModifyDBInstanceConfig":  # instances interleave
            assert (before["event"], after["event"]) == ("before", "after")
            assert after["result"] == "ok" and after["request_id"]
    tokens = {
        e["address"]: e["client_token"]
        for e in entries
        if e["event"] == "before" and e["op"] == "rds:ModifyDBInstanceConfig"
    }
    for change in plan.changes:
        if change.address.startswith("rds_encryption."):
            assert tokens[change.address] == change.operations[0].params["ClientToken"]
    create = next(e for e in entries if e["event"] == "after" and e["op"] == "kms:CreateKey")
    assert create["outputs"]["key_id"].startswith("key-")
    text = journal.path.read_text()
    assert "emulator-secret" not in text
    assert all(json.loads(line) for line in text.splitlines())
    assert journal.in_doubt() == []
