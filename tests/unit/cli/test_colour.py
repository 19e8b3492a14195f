"""Colour: decided by the stream it is written to; FORCE_COLOR and NO_COLOR honoured; restarts,
refusals and the summary's counts each have their own look."""

from __future__ import annotations

import io
import re

import pytest

from reconciler.cli.console import use_color
from reconciler.plan.actions import Action, RefusalCode
from reconciler.plan.model import Change, FieldChange, Operation, Plan, Refusal, summarise
from reconciler.render.text import render_text
from tests.unit.bodies import instance_after

SGR = re.compile(r"\x1b\[([0-9;]*)m")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "env", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"CI": "true"}, False),
        (False, {"FORCE_COLOR": "1"}, True),  # piped on purpose: a CI log in colour
        (False, {"FORCE_COLOR": "1", "CI": "1"}, True),
        (True, {"NO_COLOR": "1"}, False),
        (False, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # the opt-out wins
        (True, {"NO_COLOR": ""}, True),  # empty means unset (no-color.org)
        (False, {"FORCE_COLOR": "0"}, False),
    ],
)
def test_use_color(tty: bool, env: dict[str, str], expected: bool) -> None:
    stream = Tty() if tty else io.StringIO()
    assert use_color(stream, env) is expected


def test_colour_of_stdout_does_not_depend_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """`reconciler plan 2>log` on a terminal is still coloured."""
    import sys

    monkeypatch.setattr(sys, "stdout", Tty())
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert use_color(sys.stdout, {}) is True


def _plan() -> Plan:
    restart = Change(
        address="rds_encryption.pgm-bp1aaaa0000001",
        action=Action.UPDATE,
        operations=[Operation(op="rds:ModifyDBInstanceConfig")],
        field_changes=[FieldChange(path="encryption.key", before="disabled", after="ServiceKey")],
        restart=True,
        after=instance_after("pgm-bp1aaaa0000001"),
    )
    key = Change(
        address="kms_key.rds-prod", action=Action.CREATE, operations=[Operation(op="kms:CreateKey")]
    )
    refusal = Refusal(
        address="rds_encryption.pgm-y",
        code=RefusalCode.CMK_REQUIRES_DEDICATED_INSTANCE,
        message="use the service key",
    )
    changes = [key, restart]
    return Plan(
        fingerprint="sha256:ab",
        created_at="2024-01-01T00:00:00Z",
        summary=summarise(changes, [refusal]),
        changes=changes,
        refusals=[refusal],
        warnings=[],
    )


def _style_of(text: str, needle: str) -> str:
    line = next(line for line in text.splitlines() if needle in line)
    found = SGR.match(line)
    assert found, line
    return found.group(1)


def test_restarts_and_refusals_look_different() -> None:
    text = render_text(_plan(), color=True)
    restart = _style_of(text, "[restart]")
    refusal = _style_of(text, "x rds_encryption.pgm-y")
    refused_title = _style_of(text, "Refused:")
    assert restart not in (refusal, refused_title)


def test_summary_counts_are_styled_and_plain_text_is_unchanged() -> None:
    plan = _plan()
    coloured = render_text(plan, color=True)
    summary = coloured.rstrip().splitlines()[-1]
    styles = set(SGR.findall(summary)) - {"0"}
    assert len(styles) >= 3, summary  # create, restart and refused counts each their own
    assert SGR.sub("", coloured) == render_text(plan)
    assert render_text(plan).rstrip().splitlines()[-1] == (
        "Plan: 1 to create, 1 to update, 0 to delete; 1 restart(s), 1 refused"
    )
