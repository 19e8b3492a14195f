"""`reconciler permissions`: the RAM policy documents the tool's own identity needs. Offline."""

from __future__ import annotations

import click

from reconciler.cli.options import global_options
from reconciler.cli.root import cli

MODES = ("plan", "drift", "apply")


@cli.command(short_help="Print the RAM policy documents the tool's own identity needs.")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=None,
    help="Print this mode's policy document alone: plan (plan's reads), drift (the reads of "
    "drift and import), apply (apply's reads and writes). Default: every mode's document in "
    "one JSON object keyed by mode.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("json", "markdown")),
    default="json",
    show_default=True,
    help="json: the policy documents; markdown: the table of every action the tool may call, "
    "why, in which modes and on which resource (not with --mode).",
)
@global_options(ignored=True)
def permissions(mode: str | None, fmt: str) -> None:
    """Print the RAM policy documents (JSON, RAM policy syntax, Version 1) that the identity
    the tool runs as needs: its AccessKey, profile, ECS role or OIDC role. Each mode's document
    alone is enough for its commands; every action is allowed on "Resource": "*" (see
    docs/permissions.md to narrow it).

    \b
      reconciler permissions --mode plan      plan: reads only
      reconciler permissions --mode drift     drift and import: reads only
      reconciler permissions --mode apply     apply: its reads and writes
    \b
    For example, for the CI job that plans:
      aliyun ram CreatePolicy --PolicyName reconciler-plan \\
          --PolicyDocument "$(reconciler permissions --mode plan)"

    Missing one of these actions, plan, drift, import or apply stops with exit 1, naming the
    action and the cloud's error code (Forbidden.RAM, Forbidden.NoPermission, NoPermission).
    Exit codes: 0, or 1 on a usage error.

    The global options (--endpoint, --region, ...) are accepted and ignored: this command
    does not talk to the cloud.
    """
    from reconciler import permissions as perms

    if fmt == "markdown":
        if mode is not None:
            raise click.UsageError("--format markdown lists every mode: leave out --mode")
        click.echo(perms.actions_table(), nl=False)
        return
    text = perms.all_documents_text() if mode is None else perms.document_text(mode)
    click.echo(text, nl=False)
