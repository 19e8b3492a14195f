"""kill -9 after the cloud committed a write and before the journal recorded its answer; then
a rerun of the same saved plan makes no second change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.apply.journal import Journal
from reconciler.cli import cli
from tests.e2e import world
from tests.e2e.conftest import ENV
from tests.faults.conftest import GP, MODIFY, ONE_INSTANCE, accepted_tokens, lose_answer, tasks


def apply_process(endpoint: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "--endpoint", endpoint, "apply", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )


def test_kill_9_between_the_write_and_its_journal_entry_then_no_duplicate(
    demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump({"version": 1, **ONE_INSTANCE}))
    made = CliRunner().invoke(
        cli, ["--endpoint", demo.endpoint, "plan", "spec.yaml", "-o", "plan.json"], env=ENV
    )
    assert made.exit_code == 0, made.stderr
    token = json.loads(Path("plan.json").read_text())["changes"][0]["operations"][0]["params"][
        "ClientToken"
    ]
    # The write commits; its answer is held for 5 s: the process is killed while waiting.
    lose_answer(demo, MODIFY, delay_ms=5000)
    args = (
        "--plan",
        "plan.json",
        "spec.yaml",
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    process = apply_process(demo.endpoint, *args)
    journal = Journal(tmp_path / ".reconciler" / "journal.jsonl")
    deadline = time.monotonic() + 60
    while not (accepted_tokens(demo) and journal.in_doubt()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the write never got going"
        time.sleep(0.02)
    process.kill()
    process.wait(timeout=30)
    (in_doubt,) = journal.in_doubt()  # sent, committed by the cloud, answer never recorded
    assert in_doubt["address"] == f"rds_encryption.{GP}" and in_doubt["client_token"] == token

    rerun = apply_process(demo.endpoint, *args)
    out, err = rerun.communicate(timeout=120)

    assert rerun.returncode == 0, out + err
    assert "already made" in out
    assert accepted_tokens(demo) == [token] and len(tasks(demo)) == 1
    assert world.calls(demo.endpoint)[MODIFY] == 1  # never sent again
    again = CliRunner().invoke(
        cli, ["--endpoint", demo.endpoint, "plan", "spec.yaml", "--detailed-exitcode"], env=ENV
    )
    assert again.exit_code == 0, again.stdout
