"""`reconciler show PLANFILE`: a saved plan (`plan -o FILE`) rendered again, as Terraform's
`show` does. Offline: the file is read and checked exactly as `apply --plan` reads it
(reconciler.app.saved_plan.read_plan_file), so a file that is not a valid plan is refused
here with the same one-line error, before anyone reviews or applies it."""

from __future__ import annotations

import sys

import click

from reconciler.cli.console import use_color
from reconciler.cli.options import global_options
from reconciler.cli.root import cli, fail
from reconciler.cli.run import render_plan
from reconciler.errors import ReconcilerError


@cli.command(short_help="Show a saved plan (plan -o FILE) as text, JSON or Markdown. Offline.")
@click.argument("plan_file", type=click.Path(path_type=str), metavar="PLANFILE")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="How to print the plan on stdout: the views `plan --format` prints. json prints the "
    "plan document (docs/plan-format.md) as this version reads it.",
)
@global_options(ignored=True)
def show(plan_file: str, fmt: str) -> None:
    """Print the plan saved in PLANFILE (by `plan -o PLANFILE`) without reading the cloud.

    The file is read and checked as `apply --plan` reads it: a file that is not a plan
    document of this format_version (not JSON, a field missing or of the wrong type, a
    change's before/after that its kind never writes) is refused with exit 1 and one line
    saying what is wrong. A well-formed edit (another value, a dropped restart flag) is shown
    as the file has it: only `apply --plan` can tell, by comparing every change with a fresh
    plan of the cloud, and it refuses such a change. Showing a plan says nothing about
    whether it is still current.

    \b
      reconciler show plan.json                      the text view
      reconciler show plan.json --format markdown    a pull-request comment
      reconciler show plan.json --format json        the document, e.g. for jq
    \b
    Exit codes: 0 shown; 1 an unreadable or invalid plan file, or a usage error
    (docs/exit-codes.md).

    The global options (--endpoint, --region, ...) are accepted and ignored: this command
    does not talk to the cloud.
    """
    from reconciler.app.saved_plan import read_plan_file

    try:
        the_plan = read_plan_file(plan_file)
    except ReconcilerError as error:
        fail(str(error))
    click.echo(render_plan(the_plan, fmt), nl=False, color=use_color(sys.stdout))
