"""How worker processes start: forked by a fork server that has the SDKs imported already.

Starting a worker with `spawn` runs a new interpreter that imports the SDKs and this package
again: about 0.7 s of CPU each on two cores, paid by every worker of every run, and on the
critical path of a plan, since no worker reads before its imports are done
(docs/architecture.md, "Processes"). A fork server is started once per run: it imports
WORKER_MODULES once, then each worker is a fork of it, ready at once.

It is as safe as `spawn`, and for the same reasons: the fork server is a new interpreter that
runs no thread, holds no lock, client, connection or signal handler of ours, so a fork of it
inherits none either. What a fork of it does not have is the run's environment as of the
worker's start (the server's is the run's as of the server's start): `environment()` is sent
with each job and `adopt_environment` puts it in place first, so a worker resolves credentials
(the default chain, a profile) exactly as a spawned worker would. One difference remains for a
caller that changes its environment after the fork server started (the CLI never does): a
module that reads the environment when a worker imports it before the job starts (the
caller's main module, which multiprocessing imports in each worker) sees the fork server's.

A worker's parent is the fork server, not the run: `watch_run` ends a worker once the run's
process is gone, whoever its parent is.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import select
import sys
import time
from collections.abc import Mapping
from typing import Any

WORKER_MODULES = (
    "reconciler.state.processes",
    "reconciler.app.apply_worker",
    "reconciler.cloud.clients",
    "reconciler.kinds",
    "alibabacloud_rds20140815.client",
    "alibabacloud_kms20160120.client",
    "alibabacloud_ram20150501.client",
    "alibabacloud_sts20150401.client",
)
"""What every worker imports before its first call: imported once, by the fork server."""

POLL_SECONDS = 0.2


def worker_context() -> Any:
    """The multiprocessing context workers start in: the fork server where the platform has
    one (Linux, macOS), with WORKER_MODULES preloaded, started now if it is not running; and
    `spawn` where there is none or it cannot start (its socket cannot be made, say): slower
    to start workers, the same workers."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_MODULES))
    try:
        forkserver.ensure_running()  # returns at once; the imports run in the fork server
    except OSError:
        return multiprocessing.get_context("spawn")
    return context


def warm_up() -> None:
    """Start the fork server now, so that its imports overlap the run's own work (loading
    the spec, connecting accounts) instead of delaying the first worker. Returns at once."""
    worker_context()


def environment() -> dict[str, str]:
    """The run's environment now, for a worker to adopt (see the module's docstring)."""
    return dict(os.environ)


CREDENTIALS_ENVIRONMENT = "alibabacloud_credentials.utils.auth_util"
"""The credentials library's module that copies the environment when imported."""


def adopt_environment(environ: Mapping[str, str]) -> None:
    """In a worker: the run's environment, in place of the fork server's. The credentials
    library keeps copies of some variables from its import (cloud/clients.py builds its chain
    from os.environ for that reason); they are taken again, so that nothing in a worker can
    see the fork server's environment."""
    if dict(os.environ) == dict(environ):
        return
    os.environ.clear()
    os.environ.update(environ)
    copies = sys.modules.get(CREDENTIALS_ENVIRONMENT)
    if copies is not None:
        importlib.reload(copies)


def watch_run(run: int) -> None:
    """In a worker, on a daemon thread: end this worker when the run's process `run` has
    ended (killed, or left without stopping its workers). Never returns."""
    try:
        handle = os.pidfd_open(run)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux, an old kernel): poll instead
        _poll_run(run)
    else:
        select.select([handle], [], [])  # readable once the process has ended
    os._exit(1)


def _poll_run(run: int) -> None:
    while True:
        try:
            os.kill(run, 0)
        except ProcessLookupError:
            return
        except PermissionError:  # alive, not ours to signal
            pass
        time.sleep(POLL_SECONDS)
