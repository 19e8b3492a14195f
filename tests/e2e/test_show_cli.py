"""`reconciler show PLANFILE` (issue 20): a plan saved by `plan -o` against the emulator, shown
again offline in each format exactly as `plan --format` printed it; a file that is not a valid
plan is refused with the error `apply --plan` gives, and nothing is printed on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator
from tests.e2e.conftest import run_cli

SPECS = str(Path(__file__).resolve().parents[2] / "specs")


@pytest.fixture
def saved(demo: Emulator, tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    run = run_cli("--endpoint", demo.endpoint, "plan", SPECS, "-o", str(path))
    assert run.exit_code == 0, run.stderr
    return path


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_show_prints_what_plan_printed(demo: Emulator, saved: Path, fmt: str) -> None:
    planned = run_cli("--endpoint", demo.endpoint, "plan", SPECS, "--format", fmt)
    plan_id = json.loads(saved.read_text())["plan_id"]
    shown = run_cli("show", str(saved), "--format", fmt)
    assert shown.exit_code == 0, shown.stderr
    if fmt == "json":  # the document as saved, byte for byte (plan_id is drawn per plan)
        assert shown.stdout == saved.read_text()
        assert json.loads(shown.stdout)["plan_id"] == plan_id
    else:  # the views carry no plan_id or time: the same cloud gives the same Markdown
        assert shown.stdout == planned.stdout
        assert "restart" in shown.stdout


def test_show_text_is_the_default_and_names_every_change(saved: Path) -> None:
    shown = run_cli("show", str(saved))
    assert shown.exit_code == 0, shown.stderr
    for change in json.loads(saved.read_text())["changes"]:
        assert change["address"] in shown.stdout
    assert "\x1b[" not in shown.stdout  # no colour when not on a terminal


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda doc: doc.pop("changes"), "is not a plan document (no `changes`)"),
        (lambda doc: doc.update(format_version="2"), 'has format_version "2"'),
        (lambda doc: doc["changes"][0].update(restart="sometimes"), "is not a valid plan"),
        (lambda doc: doc["changes"][-1].update(after={"bogus": 1}), "is not a valid plan"),
    ],
    ids=["no-changes", "format-version", "mistyped-field", "foreign-body"],
)
def test_an_edited_plan_file_is_refused_as_apply_refuses_it(
    demo: Emulator, saved: Path, edit, says: str
) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(saved.read_text())
    edit(doc)
    saved.write_text(json.dumps(doc))
    shown = run_cli("show", str(saved), "--format", "markdown")
    applied = run_cli("--endpoint", demo.endpoint, "apply", SPECS, "--plan", str(saved))
    assert shown.exit_code == 1 and shown.stdout == ""
    assert says in shown.stderr
    assert applied.exit_code == 1
    assert shown.stderr.strip() in applied.stderr  # the very error apply --plan gives


@pytest.mark.parametrize(
    ("content", "says"),
    [(None, "does not exist"), ("{not json", "is not JSON"), (b"\xff\xfe", "not UTF-8")],
)
def test_an_unreadable_plan_file_is_one_line_and_exit_1(
    tmp_path: Path, content: str | bytes | None, says: str
) -> None:
    path = tmp_path / "plan.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    shown = run_cli("show", str(path))
    assert shown.exit_code == 1 and shown.stdout == ""
    assert says in shown.stderr and len(shown.stderr.strip().splitlines()) == 1
