"""The root command group, exit codes, and the one way a command fails.

Heavy modules (the SDKs, deepdiff, rich) are imported inside the commands that need them so
that `reconciler --help` starts fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from reconciler.cli.options import GlobalOptions, merge_global, root_global_options

DEFAULT_PATHS = ("specs",)

# Exit codes (DESIGN section 6).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def fail(message: str) -> None:
    """Print an error to stderr and exit 1, never with a traceback."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@root_global_options
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context, **kwargs: Any) -> None:
    """Declarative reconciler for disk encryption of ApsaraDB RDS for PostgreSQL.

    \b
    Desired state lives in YAML, by default in specs/. Typical use:
      reconciler validate                      on every commit (no cloud access)
      reconciler plan --detailed-exitcode      on every pull request (reads, never writes)
      reconciler plan --format markdown        for a pull-request comment
      reconciler --emulator plan               the same against the local emulator
    Exit codes: 0 success, 1 error or refused change, 2 changes (plan --detailed-exitcode).
    Credentials: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, --profile, ECS RAM role or OIDC.
    Global options work before or after the command name.
    """
    ctx.obj = GlobalOptions()
    merge_global(ctx.obj, kwargs)


def main() -> None:
    cli(prog_name="reconciler")
