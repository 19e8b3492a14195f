"""How worker processes start (reconciler/worker_start.py; docs/architecture.md, "Processes").

The fork server's own behaviour (workers forked from it, the run's environment adopted, a
worker ending with its run) is driven end to end in tests/e2e/test_processes.py; here, the
choices around it."""

from __future__ import annotations

import os
import sys
from multiprocessing import forkserver
from typing import Any

import pytest

from reconciler import worker_start


def _imported(modules: tuple[str, ...], answer: Any) -> None:
    answer.put([m for m in modules if m in sys.modules])


def test_a_worker_starts_with_the_sdks_imported_by_its_fork_server() -> None:
    """This module imports no SDK: a worker that has them at its start got them from the fork
    server's imports, not its own."""
    context = worker_start.worker_context()
    assert context.get_start_method() == "forkserver"
    answer = context.Queue()
    worker = context.Process(target=_imported, args=(worker_start.WORKER_MODULES, answer))
    worker.start()
    try:
        assert answer.get(timeout=60) == list(worker_start.WORKER_MODULES)
    finally:
        worker.join(10)
    assert worker.exitcode == 0


def test_a_fork_server_that_cannot_start_leaves_workers_spawned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its socket cannot be made (a read-only temporary folder): the run goes on, with workers
    started as before the fork server, rather than failing."""

    def cannot(*_args: object) -> None:
        raise PermissionError(13, "Permission denied", "/tmp/pymp-x/listener")

    monkeypatch.setattr(forkserver, "ensure_running", cannot)
    assert worker_start.worker_context().get_start_method() == "spawn"
    worker_start.warm_up()  # no error either


def test_adopting_the_run_s_environment_takes_the_credentials_library_s_copies_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker's environment is the run's, including what the credentials library copied
    from the environment when the fork server imported it (cloud/clients.py)."""
    from alibabacloud_credentials.utils import auth_util

    before = dict(os.environ)
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_ID", raising=False)
    try:
        worker_start.adopt_environment({**before, "ALIBABA_CLOUD_ACCESS_KEY_ID": "run-key-id"})
        assert os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"] == "run-key-id"
        assert auth_util.environment_access_key_id == "run-key-id"
    finally:
        worker_start.adopt_environment(before)
    assert dict(os.environ) == before
    assert auth_util.environment_access_key_id == before.get("ALIBABA_CLOUD_ACCESS_KEY_ID")
    assert "alibabacloud_credentials.utils.auth_util" in sys.modules


def test_a_worker_s_job_never_shows_the_environment_it_carries() -> None:
    """The job carries the run's environment, credentials included: its repr (an error
    message, a debug line) must not show them."""
    from reconciler.app.apply_worker import ApplyJob
    from reconciler.state.processes import Job

    secret = "s3cr3t-of-the-run-0123456789"
    for job_type in (Job, ApplyJob):
        values = {name: None for name in job_type.__dataclass_fields__}
        job = job_type(**{**values, "environ": {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret}})
        assert secret not in repr(job)
