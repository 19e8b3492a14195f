"""What every command that reads the cloud shares: loading the spec, the cloud target and
connection, the progress bar while observing, the `--stats` printer and the plan's view (one
of each)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.cli.console import show_progress, use_color
from reconciler.cli.options import GlobalOptions
from reconciler.cli.root import fail
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.app.plan import Progress
    from reconciler.cloud.clients import CloudClients
    from reconciler.cloud.session import Target
    from reconciler.spec.loader import LoadedSpec

T = TypeVar("T")
RateLimits = tuple[tuple[str, float], ...]

INVALID_SPEC = "the spec is invalid: fix the problems above (`reconciler validate` checks offline)"


def load_or_raise(paths: Sequence[str], opts: GlobalOptions) -> LoadedSpec:
    """app.plan.load(); on a SpecError, every problem on stderr, then ReconcilerError (drift
    removes its old -o files before the one-line error)."""
    from reconciler.app.plan import load
    from reconciler.cli.options import default_region
    from reconciler.errors import SpecError
    from reconciler.spec.regions import implicit_region_warning

    warm_workers(opts, paths)
    try:
        loaded = load(paths, default_region(opts))
    except SpecError as error:
        for diagnostic in error.diagnostics:
            click.echo(str(diagnostic), err=True)
        raise ReconcilerError(INVALID_SPEC) from error
    warning = implicit_region_warning(loaded.spec)
    if warning is not None:
        click.echo(f"Warning: {warning}", err=True)
    return loaded


def load_or_fail(paths: Sequence[str], opts: GlobalOptions) -> LoadedSpec:
    """app.plan.load(), or every spec problem on stderr and exit 1."""
    try:
        return load_or_raise(paths, opts)
    except ReconcilerError as error:
        fail(str(error))
        raise  # pragma: no cover - fail() exits


LARGE_SPEC_BYTES = 128 * 1024
"""Spec files of at least this size (about 2,000 instances) may read in worker processes
under auto mode (state/processes.SMALL_FLEET is the rule, decided after loading)."""


def warm_workers(opts: GlobalOptions, paths: Sequence[str] = ()) -> None:
    """Start the workers' fork server now when they are likely to be used (reconciler/
    worker_start.py): its imports then overlap the loading of the spec and the connecting
    instead of delaying the first worker. With --processes N (N > 1), always; in auto mode
    (--processes 0), when the spec's files are large; otherwise the fork server starts with
    the first worker, if any, and a small plan in auto mode costs no background CPU."""
    if workers_likely(opts.processes, lambda: spec_bytes_of(paths)):
        from reconciler.worker_start import warm_up

        warm_up()


def workers_likely(processes: int | None, spec_bytes: Callable[[], int]) -> bool:
    """--processes N (N > 1): yes; auto (0): when the spec's files are large; else no."""
    if processes is None or processes == 1:
        return False
    return processes != 0 or spec_bytes() >= LARGE_SPEC_BYTES


def spec_bytes_of(paths: Sequence[str]) -> int:
    from reconciler.spec.files import expand

    total = 0
    for path, _ in expand(paths, []):
        try:
            total += path.stat().st_size
        except OSError:  # the load says what is wrong with it
            continue
    return total


def cloud_target(opts: GlobalOptions, parallelism: int, rate_limits: RateLimits | None) -> Target:
    """What open_cloud() is to connect to, from the global options."""
    from reconciler.cloud.session import Target

    return Target(
        endpoint=opts.endpoint,
        profile=opts.profile,
        emulator=opts.emulator,
        emulator_state=opts.emulator_state,
        parallelism=parallelism,
        rate_limits=rate_limits,
        processes=worker_processes(opts.processes),
    )


@contextlib.contextmanager
def cloud(
    opts: GlobalOptions, parallelism: int, rate_limits: RateLimits | None = None
) -> Iterator[CloudClients]:
    """open_cloud() for the global options. A ReconcilerError inside propagates (with --stats,
    the counts first); any other error becomes one, as a bug to report. A signal, and click's
    own exits (a prompt's Ctrl-D), unwind untouched."""
    from reconciler import cancellation
    from reconciler.cloud.session import open_cloud
    from reconciler.errors import Interrupted

    clients = None
    try:
        with open_cloud(cloud_target(opts, parallelism, rate_limits)) as clients:
            yield clients
    except (Interrupted, click.exceptions.Exit, click.Abort, click.ClickException):
        raise
    except ReconcilerError:
        if opts.stats and clients is not None:
            print_stats(clients)
        raise
    except Exception as error:  # a bug, not a user error: still one line, no traceback
        if cancellation.requested():  # unwound by the signal: RootGroup reports that
            raise
        raise ReconcilerError(
            f"unexpected {type(error).__name__} while talking to the cloud: {error}; "
            "please report it with the command you ran"
        ) from error


@contextlib.contextmanager
def connected(
    opts: GlobalOptions, parallelism: int, rate_limits: RateLimits | None = None
) -> Iterator[CloudClients]:
    """cloud(), with a ReconcilerError inside turned into one line and exit 1."""
    from reconciler.errors import Interrupted

    try:
        with cloud(opts, parallelism, rate_limits) as clients:
            yield clients
    except Interrupted:
        raise
    except ReconcilerError as error:
        fail(str(error))


def with_progress(work: Callable[[Progress | None], T]) -> T:
    """work(progress): an observation, with a progress bar on stderr on a terminal (none in
    CI or when piped: work(None))."""
    if not show_progress():
        return work(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("reading the cloud"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True, no_color=not use_color(sys.stderr)),
        transient=True,
    ) as bar:
        task = bar.add_task("observe", total=None)
        return work(lambda done, total: bar.update(task, completed=done, total=total))


def print_stats(clients: Any) -> None:
    """`--stats`: the API calls made, per action, and how many of them were retried."""
    counts = clients.counter.by_action()
    retries = clients.counter.retries()
    click.echo(f"API calls: {sum(counts.values())}", err=True)
    for name, count in counts.items():
        extra = f" ({retries[name]} retried)" if retries.get(name) else ""
        click.echo(f"  {name}: {count}{extra}", err=True)


def render_plan(plan: Any, fmt: str, *, to_stdout: bool = True) -> str:
    """The plan in one format (plan prints it, apply shows it before asking); text is
    coloured as the stream it goes to allows."""
    if fmt == "json":
        from reconciler.render.json import render_json

        return render_json(plan)
    if fmt == "markdown":
        from reconciler.render.markdown import render_markdown

        return render_markdown(plan)
    from reconciler.render.text import render_text

    return render_text(plan, color=use_color(sys.stdout if to_stdout else sys.stderr))


def worker_processes(given: int | None) -> int | None:
    """CloudSettings.processes from --processes: not given 1 (in this process), 0 None (one
    per account-region, at most one per core), else the number given."""
    if given is None:
        return 1
    return None if given == 0 else given
