"""`reconciler merge FILE.json...`: the shards' plan or drift JSON (`--shard I/N -o FILE`) as one
document, in every format its kind has (README, "Sharding across CI runners")."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from reconciler.cli.console import use_color
from reconciler.cli.drift_views import FORMATS, format_for, render
from reconciler.cli.outfile import OutFile
from reconciler.cli.root import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, cli, fail
from reconciler.cli.run import render_plan
from reconciler.errors import ReconcilerError

PLAN_FORMATS = ("text", "json", "markdown")


@cli.command(short_help="Combine the shards' plan or drift JSON into one document.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str), metavar="FILE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to print the merged document (a plan: text, json or markdown).",
)
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=str),
    metavar="FILE",
    help="Also write the merged document to FILE, in the format its name says (as drift -o), "
    "else --format.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Plans: exit 2 when there are changes (as plan --detailed-exitcode).",
)
@click.option("--strict", is_flag=True, help="Drift: unmanaged instances count as drift.")
def merge(
    files: tuple[str, ...], fmt: str, out: str | None, detailed_exitcode: bool, strict: bool
) -> None:
    """Read the JSON of every shard of one `plan --shard I/N` or `drift --shard I/N` run (all
    plans or all drift reports of the same spec, shards 1..N each once), check them and print
    them as one document. Exit codes as the command would give: a plan 1 when any change is
    refused, 2 with --detailed-exitcode when there are changes, else 0; a drift report 2 on
    drift, 0 in sync; 1 on any error (a missing or duplicate shard names it). See
    docs/exit-codes.md."""
    from reconciler.merge import merge_documents

    try:
        kind, merged = merge_documents([(name, _read(name)) for name in files])
    except ReconcilerError as error:
        fail(str(error))
    if kind == "plan" and fmt not in PLAN_FORMATS:
        fail(f"a plan is printed as {', '.join(PLAN_FORMATS)}, not {fmt}")
    if out is not None:
        _write(out, _render(kind, merged, format_for(out, fmt), strict, color=False))
    click.echo(
        _render(kind, merged, fmt, strict, color=use_color(sys.stdout)),
        nl=False,
        color=use_color(sys.stdout),
    )
    sys.exit(_exit_code(kind, merged, detailed_exitcode, strict))


def _read(name: str) -> Any:
    try:
        return json.loads(Path(name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(f"{name}: cannot be read as JSON: {error}")


def _render(kind: str, merged: Any, fmt: str, strict: bool, *, color: bool) -> str:
    if kind == "plan":
        return render_plan(merged, fmt)
    from reconciler.cli.sarif_base import sarif_context

    return render(
        merged, fmt, strict=strict, color=color, sarif=sarif_context(merged.spec_files, None)
    )


def _write(path: str, text: str) -> None:
    try:
        saved = OutFile.prepare(path, "merged document")
        saved.commit(text)
    except ReconcilerError as error:
        fail(str(error))
    click.echo(f"Merged document saved to {path}.", err=True)


def _exit_code(kind: str, merged: Any, detailed: bool, strict: bool) -> int:
    if kind == "plan":
        if merged.refusals:
            return EXIT_ERROR
        return EXIT_CHANGES if detailed and merged.changes else EXIT_OK
    return EXIT_CHANGES if merged.drifted(strict=strict) else EXIT_OK
