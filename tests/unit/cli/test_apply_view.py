"""What apply prints: one plain line per state change, the summary, the JSON result."""

from __future__ import annotations

import io
import json

from reconciler.apply.executor import ApplyEvent, ApplyResult, ChangeOutcome
from reconciler.cli.apply_view import (
    PLAIN_PROGRESS_SECONDS,
    LiveView,
    PlainView,
    _label,
    final_line,
    result_document,
    summary_lines,
)
from reconciler.plan.actions import Action
from reconciler.plan.model import Change, Operation, Plan
from tests.unit.bodies import instance_after

A = "rds_encryption.pgm-bp1aaaa0000000001"
B = "rds_encryption.pgm-bp1bbbb0000000002"
K = "kms_key.rds-prod"


def plan() -> Plan:
    def change(address: str, **extra: object) -> Change:
        return Change(
            address=address,
            action=Action.UPDATE,
            operations=[Operation(op="rds:ModifyDBInstanceConfig", params={})],
            **extra,  # type: ignore[arg-type]
        )

    return Plan(
        fingerprint="sha256:x",
        changes=[
            change(K),
            change(A, restart=True),
            change(
                B,
                restart=True,
                scheduled=True,
                after=instance_after("pgm-bp1bbbb0000000002", "18:00Z-22:00Z"),
            ),
        ],
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_say_each_state_change_once() -> None:
    out, clock = io.StringIO(), Clock()
    view = PlainView(out, clock=clock)
    view.on_event(ApplyEvent("started", A, f"update {A}"))
    view.on_event(ApplyEvent("write", A, "rds:ModifyDBInstanceConfig"))
    view.on_event(ApplyEvent("waiting", A, "pgm-bp1aaaa0000000001 is CONFIG_ENCRYPTING"))
    view.on_event(ApplyEvent("waiting", A, "pgm-bp1aaaa0000000001 is CONFIG_ENCRYPTING"))
    view.on_event(ApplyEvent("progress", A, "pgm-bp1aaaa0000000001: task t-1 Running", 40.0, 90))
    clock.now += 5
    view.on_event(ApplyEvent("progress", A, "pgm-bp1aaaa0000000001: task t-1 Running", 60.0, 60))
    clock.now += PLAIN_PROGRESS_SECONDS
    view.on_event(ApplyEvent("progress", A, "pgm-bp1aaaa0000000001: task t-1 Running", 99.0, 1))
    view.on_event(ApplyEvent("done", A, "pgm-bp1aaaa0000000001 is Running"))
    view.on_event(ApplyEvent("done", K, f"{K} done"))
    view.on_event(ApplyEvent("failed", B, "IncorrectDBInstanceState: busy (request id R-1)"))
    assert out.getvalue().splitlines() == [
        f"{A}: update started",
        f"{A}: sent rds:ModifyDBInstanceConfig",
        f"{A}: pgm-bp1aaaa0000000001 is CONFIG_ENCRYPTING",
        f"{A}: task t-1 Running (40%, about 1m30s left)",
        f"{A}: task t-1 Running (99%, about 1s left)",
        f"{A}: done: pgm-bp1aaaa0000000001 is Running",
        f"{K}: done",
        f"{B}: failed: IncorrectDBInstanceState: busy (request id R-1)",
    ]


def test_the_live_view_draws_and_logs_without_failing() -> None:
    out = io.StringIO()
    with LiveView(plan(), out, color=False) as view:
        view.on_event(ApplyEvent("started", A, f"update {A}"))
        view.on_event(ApplyEvent("progress", A, "task t-1 Running", 50.0, 30))
        view.on_event(ApplyEvent("done", A, "Running"))
    assert f"{A}: done: Running" in out.getvalue()


def test_summary_lists_every_outcome_and_ends_with_the_counts() -> None:
    result = ApplyResult(
        [
            ChangeOutcome(K, "done", "made kms:CreateKey", ("R-0",)),
            ChangeOutcome(A, "failed", "ModifyDBInstanceConfig: Forbidden: no", ("R-1",)),
            ChangeOutcome(B, "not_started", "not started: an earlier change failed"),
        ]
    )
    lines = summary_lines(plan(), result)
    assert "Done:" in lines and "Failed:" in lines and "Not started:" in lines
    assert f"  x {A}: ModifyDBInstanceConfig: Forbidden: no (request id R-1)" in lines
    assert f"  + {K}: made kms:CreateKey" in lines  # a done change's request ids are noise
    assert lines[-1] == "Apply failed: 1 changed, 0 scheduled, 1 failed, 1 not started."


def test_a_scheduled_change_shows_its_window() -> None:
    result = ApplyResult([ChangeOutcome(B, "scheduled", "submitted")])
    lines = summary_lines(plan(), result)
    assert f"  ~ {B}: submitted; window 18:00Z-22:00Z" in lines
    assert lines[-1] == "Apply complete! 0 changed, 1 scheduled."
    assert final_line(result, interrupted=True).startswith("Apply interrupted:")


def test_the_json_result() -> None:
    result = ApplyResult(
        [ChangeOutcome(K, "done", "made", ("R-0",)), ChangeOutcome(B, "scheduled", "submitted")]
    )
    document = json.loads(json.dumps(result_document(plan(), result)))
    assert document["format_version"] == "1" and document["ok"] is True
    assert document["summary"] == {"changed": 1, "scheduled": 1, "failed": 0, "not_started": 0}
    assert document["outcomes"][0] == {
        "address": K,
        "status": "done",
        "detail": "made",
        "request_ids": ["R-0"],
        "maintenance_window": None,
    }
    assert document["outcomes"][1]["maintenance_window"] == "18:00Z-22:00Z"


def test_a_long_label_keeps_its_end_and_its_account() -> None:
    """The live bars' labels have a fixed width: cut in the middle so that the instance id
    (the end) and, with several accounts, the account (the front) both stay readable."""
    long = "beta/rds_encryption.pgm-bp1bbbb000000001"
    label = _label(long, 36)
    assert len(label) == 36
    assert label.startswith("beta/…") and label.endswith("pgm-bp1bbbb000000001")
    alone = _label("rds_encryption.pgm-bp1bbbb000000000001", 36)
    assert alone == "…" + "rds_encryption.pgm-bp1bbbb000000000001"[-35:]
    assert _label("kms_key.a", 12) == "kms_key.a   "
