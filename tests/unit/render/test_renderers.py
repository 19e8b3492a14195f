"""Renderers are pure functions of the Plan: text (Terraform-like), JSON, Markdown (capped)."""

from __future__ import annotations

import json
import re

from reconciler.plan.actions import Action, RefusalCode, WarningCode
from reconciler.plan.model import (
    Change,
    FieldChange,
    Operation,
    Plan,
    PlanWarning,
    Refusal,
    summarise,
)
from reconciler.render.json import render_json
from reconciler.render.markdown import MAX_CHARS, render_markdown
from reconciler.render.text import render_text
from tests.unit.bodies import instance_after

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _instance_change(i: int, *, scheduled: bool = False) -> Change:
    return Change(
        address=f"rds_encryption.pgm-{i:012d}",
        action=Action.UPDATE,
        operations=[Operation(op="rds:ModifyDBInstanceConfig")],
        field_changes=[FieldChange(path="encryption.key", before="disabled", after="ServiceKey")],
        restart=True,
        scheduled=scheduled,
        reason="encryption is off; the spec wants it on",
        after=instance_after(f"pgm-{i:012d}", "18:00Z-22:00Z" if scheduled else None),
    )


def _plan(changes: list[Change], refusals: list[Refusal] = (), warnings=()) -> Plan:
    return Plan(
        fingerprint="sha256:ab",
        created_at="2024-01-01T00:00:00Z",
        summary=summarise(changes, list(refusals)),
        changes=changes,
        refusals=list(refusals),
        warnings=list(warnings),
    )


KEY = Change(
    address="kms_key.rds-prod",
    action=Action.CREATE,
    operations=[Operation(op="kms:CreateKey"), Operation(op="kms:TagResource")],
    field_changes=[FieldChange(path="tags", before=None, after={"team": "dba"})],
)
GONE = Change(
    address="kms_key.old",
    action=Action.DELETE,
    operations=[Operation(op="kms:ScheduleKeyDeletion")],
)
REFUSAL = Refusal(
    address="rds_encryption.pgm-y",
    code=RefusalCode.CMK_REQUIRES_DEDICATED_INSTANCE,
    message="use the service key | or a dedicated class",
)


def test_empty_plan_says_no_changes() -> None:
    text = render_text(_plan([]))
    assert text.startswith("No changes. The cloud matches the spec.")
    assert text.rstrip().endswith(
        "Plan: 0 to create, 0 to update, 0 to delete; 0 restart(s), 0 refused"
    )
    assert "No changes" in render_markdown(_plan([]))


def test_text_symbols_field_changes_and_summary() -> None:
    text = render_text(_plan([KEY, _instance_change(1), GONE], [REFUSAL]))
    assert "  + create kms_key.rds-prod" in text
    assert "  ~ update rds_encryption.pgm-000000000001  [restart]" in text
    assert "  - delete kms_key.old" in text
    assert '      tags: (absent) -> {"team":"dba"}' in text
    assert '      encryption.key: "disabled" -> "ServiceKey"' in text
    assert "x rds_encryption.pgm-y: CmkRequiresDedicatedInstance" in text
    assert text.rstrip().splitlines()[-1] == (
        "Plan: 1 to create, 1 to update, 1 to delete; 1 restart(s), 1 refused"
    )


def test_restart_is_impossible_to_miss() -> None:
    text = render_text(_plan([_instance_change(1), _instance_change(2, scheduled=True)]))
    lines = text.splitlines()
    head = lines.index("  ~ update rds_encryption.pgm-000000000001  [restart]")
    assert lines[head + 1].strip().startswith("! RESTARTS the instance when applied")
    assert "! RESTARTS the instance in its maintenance window 18:00Z-22:00Z" in text


def test_colour_only_when_asked() -> None:
    plan = _plan([KEY, _instance_change(1)], [REFUSAL])
    plain = render_text(plan)
    coloured = render_text(plan, color=True)
    assert not ANSI.search(plain)
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain


def test_warnings_section() -> None:
    warning = PlanWarning(
        address="rds_encryption.pgm-1", code=WarningCode.RESTART_REQUIRED, message="restarts"
    )
    text = render_text(_plan([_instance_change(1)], warnings=[warning]))
    assert "Warnings:\n  ! rds_encryption.pgm-1: RestartRequired\n      restarts" in text


def test_json_is_stable_and_parses() -> None:
    plan = _plan([KEY, _instance_change(1)], [REFUSAL])
    assert render_json(plan) == render_json(plan)
    assert json.loads(render_json(plan))["summary"]["refused"] == 1
    assert render_json(plan).endswith("}\n")


def test_markdown_refusals_first_and_escaped() -> None:
    md = render_markdown(_plan([KEY, _instance_change(1)], [REFUSAL]))
    assert md.index("Refused") < md.index("| create |") < md.index("<details>")
    assert "use the service key \\| or a dedicated class" in md
    assert md.count("<details>") == md.count("</details>") == 2
    assert "restarts" in md


def test_markdown_code_fence_survives_backticks() -> None:
    change = Change(
        address="kms_key.k",
        action=Action.UPDATE,
        operations=[Operation(op="kms:TagResource")],
        field_changes=[FieldChange(path="tags.x", before=None, after="a```b")],
    )
    md = render_markdown(_plan([change]))
    assert "````\n" in md


def test_markdown_stays_under_the_cap_and_says_what_it_left_out() -> None:
    changes = [_instance_change(i) for i in range(3000)]
    refusals = [
        REFUSAL.model_copy(update={"address": f"rds_encryption.pgm-r{i}"}) for i in range(20)
    ]
    md = render_markdown(_plan(changes, refusals))
    assert len(md) <= MAX_CHARS
    assert "Plan: 0 to create, 3000 to update, 0 to delete; 3000 restart(s), 20 refused" in md
    assert "rds_encryption.pgm-r19" in md, "refusals are kept when summarising"
    assert "too long for one comment" in md
    shown = md.count("- <code>~ rds_encryption.")
    assert 0 < shown < 3000
    assert f"{3000 - shown} more change(s)" in md


def test_markdown_with_huge_refusal_list_still_fits() -> None:
    refusals = [
        REFUSAL.model_copy(update={"address": f"rds_encryption.pgm-r{i:05d}"}) for i in range(5000)
    ]
    md = render_markdown(_plan([_instance_change(1)], refusals))
    assert len(md) <= MAX_CHARS
    assert "5000 refused" in md
    shown = md.count("| `rds_encryption.pgm-r")
    assert 0 < shown < 5000, "as many refusals as fit are shown, first in order"
    assert "rds_encryption.pgm-r00000" in md
    assert f"{5000 - shown} more refusal(s), 1 more change(s)" in md


def test_markdown_cap_is_exact_at_any_limit() -> None:
    changes = [_instance_change(i) for i in range(50)]
    refusals = [REFUSAL.model_copy(update={"address": f"a{i}"}) for i in range(50)]
    for limit in range(1500, 12_000, 37):
        md = render_markdown(_plan(changes, refusals), max_chars=limit)
        assert len(md) <= limit
        assert md.count("<details>") == md.count("</details>")


def test_renderers_have_no_timestamps() -> None:
    plan = _plan([KEY])
    later = plan.model_copy(update={"created_at": "2030-06-01T12:00:00Z"})
    assert render_text(plan) == render_text(later)
    assert render_markdown(plan) == render_markdown(later)


def test_markdown_headline_says_when_each_restart_happens() -> None:
    # The headline is all a summarised (over-long) comment keeps of a change.
    md = render_markdown(_plan([_instance_change(1), _instance_change(2, scheduled=True)]))
    assert "pgm-000000000001</code> (update) — :warning: **restarts when applied**" in md
    assert (
        "pgm-000000000002</code> (update) — :warning: "
        "**restarts in its maintenance window 18:00Z-22:00Z**"
    ) in md
    changes = [_instance_change(i, scheduled=True) for i in range(3)]
    long = render_markdown(_plan(changes), max_chars=900)
    assert "too long for one comment" in long
    assert "restarts in its maintenance window 18:00Z-22:00Z" in long


def test_summary_restart_counts_scheduled_changes_too() -> None:
    # A change in the maintenance window still restarts the instance, only later.
    plan = _plan([_instance_change(1), _instance_change(2, scheduled=True), KEY])
    assert plan.summary.restart == 2
    assert render_text(plan).rstrip().endswith("; 2 restart(s), 0 refused")


def test_text_of_a_refused_plan_does_not_claim_to_make_its_changes() -> None:
    refused = render_text(_plan([KEY], [REFUSAL]))
    assert refused.startswith("The plan would make these changes, in this order, but it is refused")
    assert render_text(_plan([KEY])).startswith("The plan makes these changes, in this order:")
