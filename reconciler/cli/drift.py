"""`reconciler drift`: read the cloud, report how it differs from the spec. Writes nothing to
the cloud. Exit 0 in sync, 2 drift, 1 error (docs/exit-codes.md)."""

from __future__ import annotations

import sys
from typing import Any

import click

from reconciler.cli.console import use_color
from reconciler.cli.drift_views import FORMATS, format_for, render
from reconciler.cli.options import (
    GlobalOptions,
    given_regions,
    global_options,
    read_options,
    repeatable_region,
    shard_option,
)
from reconciler.cli.outfile import OutFile
from reconciler.cli.root import EXIT_CHANGES, EXIT_OK, cli, fail
from reconciler.cli.run import cloud, load_or_raise, print_stats, with_progress
from reconciler.errors import Interrupted, ReconcilerError


@cli.command(short_help="Report how the cloud differs from the spec (nightly CI). Writes nothing.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to print the report on stdout (and write -o files whose name says none).",
)
@click.option(
    "-o",
    "--out",
    "outs",
    multiple=True,
    type=click.Path(path_type=str),
    metavar="FILE",
    help="Also write the report to FILE (repeatable), in the format its name says (.json, "
    ".md, .xml JUnit, .sarif, .html, .txt; else --format); stdout still gets --format. "
    "Written atomically and only on exit 0 or 2; on an error an old FILE is removed. FILE "
    "must be a regular file or a new path (a link, FIFO, device or folder is refused).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Unmanaged instances count as drift too (exit 2).",
)
@click.option(
    "--sarif-base",
    type=click.Path(path_type=str, file_okay=False, exists=True),
    metavar="DIR",
    help="SARIF artifact URIs are relative to DIR (the repository root code scanning expects); "
    "default: git's top level of the spec's folder, else the paths as given.",
)
@shard_option
@read_options
@global_options
def drift(
    paths: tuple[str, ...],
    fmt: str,
    outs: tuple[str, ...],
    strict: bool,
    sarif_base: str | None,
    parallelism: int,
    rate_limits: tuple[tuple[str, float], ...],
    shard: tuple[int, int] | None = None,
) -> None:
    """Read the cloud and report how it differs from the spec: items of kind changed, missing,
    unmanaged and at-risk, each with a severity (critical, high, medium, low, info), and the
    encryption coverage of every PostgreSQL instance per region. Writes nothing to the cloud.

    Coverage reads every region the account has (RDS DescribeRegions); --region (repeatable)
    narrows it to those regions and the spec's own, and the first is the region of a spec that
    names none. Every format says when, which account, which regions (and whether that was
    every region), the tool version and the spec's digest. With `accounts:`, each account is
    read with its own credentials and reported in one document (README, "Several accounts").

    PATH is a file or a folder (default specs/). `defaults.ignore` in the spec lists address
    globs whose differences are not reported (the report counts them). Exit codes: 0 in sync
    (unmanaged instances alone do not count, unless --strict), 2 drift, 1 error; 130/143
    interrupted. The JSON format: docs/drift-format.md.
    """
    opts: GlobalOptions = click.get_current_context().find_object(GlobalOptions)
    files = _prepare(outs)
    try:
        report, clients = _build(paths, opts, parallelism, rate_limits, shard)
        sarif = _sarif_context(report.spec_files, sarif_base)
        for path, out in files:
            out.commit(render(report, format_for(path, fmt), strict=strict, sarif=sarif))
    except BaseException as error:
        for _, out in files:
            line = out.abandon("this drift report failed")
            if line:
                click.echo(line, err=True)
        if isinstance(error, ReconcilerError) and not isinstance(error, Interrupted):
            fail(str(error))
        raise
    click.echo(
        render(report, fmt, strict=strict, color=use_color(sys.stdout), sarif=sarif),
        nl=False,
        color=use_color(sys.stdout),
    )
    for path, _ in files:
        click.echo(f"Drift report ({format_for(path, fmt)}) saved to {path}.", err=True)
    if opts.stats:
        print_stats(clients)
    sys.exit(EXIT_CHANGES if report.drifted(strict=strict) else EXIT_OK)


def _prepare(outs: tuple[str, ...]) -> list[tuple[str, OutFile]]:
    """Check every -o destination before any cloud call."""
    files = []
    for path in outs:
        try:
            files.append((path, OutFile.prepare(path, "drift report")))
        except ReconcilerError as error:
            fail(str(error))
    if files:
        from reconciler.cli.interrupt import on_leave

        def abandon_all() -> None:
            for _, out in files:
                out.abandon("the drift report was interrupted")

        on_leave(abandon_all)
    return files


def _build(
    paths: tuple[str, ...],
    opts: GlobalOptions,
    parallelism: int,
    rate_limits: tuple[tuple[str, float], ...],
    shard: tuple[int, int] | None = None,
) -> tuple[Any, Any]:
    """Load the spec, read the cloud (every PostgreSQL instance's encryption), build the
    report. A ReconcilerError propagates (the caller removes the -o files first)."""
    from reconciler.app.drift import drift_report
    from reconciler.app.shard import drift_shard

    regions = given_regions(opts.region)
    opts.region = regions[0] if regions else None  # the region of a spec that names none
    loaded = load_or_raise(paths, opts)
    with cloud(opts, parallelism, rate_limits) as clients:
        if loaded.spec.accounts and shard is None:
            return _drift_accounts(loaded, clients, regions, parallelism), clients
        if shard is not None:
            one = with_progress(
                lambda progress: drift_shard(
                    loaded,
                    clients,
                    *shard,
                    regions=regions,
                    parallelism=parallelism,
                    progress=progress,
                )
            )
            return one, clients
        report = with_progress(
            lambda progress: drift_report(
                loaded, clients, regions=regions, parallelism=parallelism, progress=progress
            )
        )
    return report, clients


def _drift_accounts(loaded: Any, clients: Any, regions: Any, parallelism: int) -> Any:
    """Each declared account's drift with its own credentials, as one report."""
    from reconciler.app.accounts_drift import drift_accounts

    return with_progress(
        lambda progress: drift_accounts(
            loaded, clients, regions=regions, parallelism=parallelism, progress=progress
        )
    )


def _sarif_context(spec_files: list[str], base: str | None) -> Any:
    """Where SARIF's artifact URIs are relative to: --sarif-base, else git's top level of the
    first spec file's folder, else nowhere (the paths as given)."""
    from reconciler.cli.sarif_base import sarif_context

    return sarif_context(spec_files, base)


repeatable_region(
    drift,
    "Region to read (repeatable): narrows the coverage to these and the spec's regions "
    "(default: every region of the account); the first is the region of a spec naming none.",
)
