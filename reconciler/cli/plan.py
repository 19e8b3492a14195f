"""`reconciler plan`: read the cloud, compare it with the spec, show the ordered plan."""

from __future__ import annotations

import sys
from typing import Any

import click

from reconciler.cli.console import use_color
from reconciler.cli.options import GlobalOptions, global_options, read_options, shard_option
from reconciler.cli.outfile import OutFile
from reconciler.cli.root import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, cli, fail
from reconciler.cli.run import connected, load_or_fail, print_stats, render_plan, with_progress
from reconciler.errors import ReconcilerError


@cli.command(short_help="Read the cloud and show the ordered, guarded plan. Writes nothing.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=str),
    metavar="FILE",
    help="Also save the plan as JSON (docs/plan-format.md) to FILE, only when the plan "
    "succeeds (exit 0 or 2): a failed, refused or interrupted plan writes no file and removes "
    "an old one at FILE. FILE must be a regular file or a new path (a link, FIFO, device or "
    "folder is refused). '-' prints the JSON on stdout instead, and the --format view on "
    "stderr.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="How to print the plan on stdout.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to change, 2 when there are changes.",
)
@shard_option
@read_options
@global_options
def plan(
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    parallelism: int,
    rate_limits: tuple[tuple[str, float], ...],
    shard: tuple[int, int] | None = None,
) -> None:
    """Read the cloud, compare it with the spec, and show the ordered plan. Writes nothing.

    PATH is a file or a folder (default specs/). Exit codes: 0 success; with
    --detailed-exitcode 0 = no changes, 2 = changes; 1 = error, refused change or usage error
    (always); 130/143 interrupted. See docs/exit-codes.md. With --format json, stdout holds the
    JSON document alone (docs/plan-format.md).
    """
    from reconciler.render.json import render_json

    opts: GlobalOptions = click.get_current_context().find_object(GlobalOptions)
    saved = _prepare_out_file(out)
    try:
        the_plan, clients = _build(paths, opts, parallelism, rate_limits, shard)
    except BaseException:
        _abandon(saved, "this plan failed")
        raise
    refused = bool(the_plan.refusals)
    if the_plan.shard is not None and not the_plan.shard.units:
        click.echo(
            f"Shard {the_plan.shard.index}/{the_plan.shard.count} has no unit: nothing to plan.",
            err=True,
        )
    view = render_plan(the_plan, fmt, to_stdout=out != "-")
    if out == "-":  # stdout holds the saved plan alone; the view goes to stderr
        if not refused:
            click.echo(render_json(the_plan), nl=False)
        if fmt != "json" or refused:
            click.echo(view, nl=False, err=True, color=use_color(sys.stderr))
    else:
        click.echo(view, nl=False, color=use_color(sys.stdout))  # click strips it otherwise
    if saved is not None:
        if refused:
            _abandon(saved, "the plan is refused")
        else:
            try:
                saved.commit(render_json(the_plan))
            except ReconcilerError as error:
                fail(str(error))
            click.echo(f"Plan saved to {saved.path}.", err=True)
    if opts.stats:
        print_stats(clients)
    if refused:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_CHANGES if detailed_exitcode and the_plan.changes else EXIT_OK)


def _prepare_out_file(out: str | None) -> OutFile | None:
    """Check the `-o` destination before anything else, so a typo in it costs no cloud read."""
    if out is None or out == "-":
        return None
    try:
        saved = OutFile.prepare(out, "plan")
    except ReconcilerError as error:
        fail(str(error))
    from reconciler.cli.interrupt import on_leave

    on_leave(lambda: _abandon(saved, "the plan was interrupted"))
    return saved


def _abandon(saved: OutFile | None, why: str) -> None:
    if saved is not None:
        line = saved.abandon(why)
        if line:
            click.echo(line, err=True)


def _build(
    paths: tuple[str, ...],
    opts: GlobalOptions,
    parallelism: int,
    rate_limits: tuple[tuple[str, float], ...],
    shard: tuple[int, int] | None = None,
) -> tuple[Any, Any]:
    """Load the spec, read the cloud, build the plan; fail() with one line on an error."""
    from reconciler.app.plan import observe_and_plan
    from reconciler.app.shard import plan_shard

    loaded = load_or_fail(paths, opts)
    if loaded.spec.accounts and shard is None:
        return _build_accounts(loaded, opts, parallelism, rate_limits)
    with connected(opts, parallelism, rate_limits) as clients:
        if shard is not None:
            one = with_progress(
                lambda progress: plan_shard(
                    loaded, clients, *shard, parallelism=parallelism, progress=progress
                )
            )
            return one, clients
        _observed, the_plan = with_progress(
            lambda progress: observe_and_plan(
                loaded, clients, parallelism=parallelism, progress=progress
            )
        )
    return the_plan, clients


def _build_accounts(
    loaded: Any, opts: GlobalOptions, parallelism: int, rate_limits: tuple[tuple[str, float], ...]
) -> tuple[Any, Any]:
    """_build() of a spec with `accounts:`: every account observed and planned with its own
    credentials, as one plan (README, "Several accounts")."""
    from reconciler.app.accounts import observe_and_plan_accounts

    with connected(opts, parallelism, rate_limits) as clients:
        the_plan = with_progress(
            lambda progress: observe_and_plan_accounts(
                loaded, clients, parallelism=parallelism, progress=progress
            )
        )
    return the_plan, clients
