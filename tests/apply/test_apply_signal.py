"""A real SIGTERM during apply, handled as the CLI handles it (cli/interrupt.py): no new write
after it, the writes in flight finish, the journal has no write in doubt, exit 143."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, os, signal, sys
from reconciler.apply.executor import apply_plan
from reconciler.apply.journal import Journal
from reconciler.cli import interrupt
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.errors import Interrupted
from tests.apply.conftest import REPO_SPECS, FakeTime, clients_for, make_plan, options

journal = Journal(sys.argv[1])
with Emulator(":memory:", settings=Settings(restart_seconds=0), seed="demo") as emu:
    clients = clients_for(emu)
    plan = make_plan(clients, REPO_SPECS)
    interrupt.install()
    sent = []

    def on_event(event):
        if event.kind == "write" and event.address.startswith("rds_encryption.") and not sent:
            sent.append(event.address)
            os.kill(os.getpid(), signal.SIGTERM)

    try:
        consent = options(FakeTime(emu), allow_restart=True, allow_irreversible=True,
                          parallelism=1, journal=journal)
        apply_plan(plan, clients, consent, on_event)
    except Interrupted as error:
        statuses = {o.address: o.status for o in error.apply_result.outcomes}
        print(json.dumps({"signalled": sent[0], "statuses": statuses}), flush=True)
        os._exit(error.exit_code)
print("not interrupted", flush=True)
os._exit(0)
"""


def test_sigterm_stops_new_writes_and_leaves_the_journal_consistent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal_path = tmp_path / "journal.jsonl"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(journal_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )
    assert done.returncode == 143, done.stdout + done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    statuses = report["statuses"]
    assert report["signalled"] == "rds_encryption.pgm-bp1ded0000000001"
    assert statuses["kms_key.rds-prod"] == "done"
    later = [a for a in statuses if a.startswith("rds_encryption.")][1:]
    assert all(statuses[a] == "not_started" for a in later)

    from reconciler.apply.journal import Journal

    journal = Journal(journal_path)
    assert journal.in_doubt() == []
    writes = [e for e in journal.entries() if e["event"] == "before"]
    instance_writes = [e["address"] for e in writes if e["op"] == "rds:ModifyDBInstanceConfig"]
    # The signal came as the first instance's write was about to go: it was either sent and
    # finished (its `after` is there), or stopped before its journal entry; nothing after it.
    assert instance_writes in ([], ["rds_encryption.pgm-bp1ded0000000001"])
