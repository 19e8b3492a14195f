"""The root command group, exit codes, and the one way a command fails.

Heavy modules (the SDKs, deepdiff, rich) are imported inside the commands that need them so
that `reconciler --help` starts fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from reconciler import __version__
from reconciler.cli.options import GlobalOptions, merge_global, root_global_options

# Exit codes (docs/exit-codes.md).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


class UsageFailure(click.ClickException):
    """A usage error (unknown command or option, a bad value, no command at all), shown as
    one line with a hint and exit 1. Click's own usage exit code is 2, which in CI means
    "changes" (plan --detailed-exitcode): a typo must never look like that."""

    exit_code = EXIT_ERROR

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message())
        self.error = error

    def show(self, file: Any = None) -> None:
        error = self.error
        if isinstance(error, click.exceptions.NoArgsIsHelpError):
            click.echo(error.ctx.get_help(), err=True)
            return
        if isinstance(error, click.NoSuchOption) and error.ctx is not None and error.possibilities:
            # Suggest only what the help lists, not the global options a command ignores.
            shown = {
                name
                for param in error.ctx.command.get_params(error.ctx)
                if not getattr(param, "hidden", False)
                for name in (*param.opts, *param.secondary_opts)
            }
            error.possibilities = [p for p in error.possibilities if p in shown]  # type: ignore[misc]
        hint = f" Try '{error.ctx.command_path} --help'." if error.ctx is not None else ""
        click.echo(f"Error: {' '.join(error.format_message().split())}{hint}", err=True)


class RootGroup(click.Group):
    """The `reconciler` group: turns click's usage errors into UsageFailure (exit 1).

    Parsing the root's own options happens in `make_context`; everything below it (resolving
    the command, parsing its options, sub-groups) in `invoke`."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            raise UsageFailure(error) from error

    def invoke(self, ctx: click.Context) -> Any:
        from reconciler import cancellation

        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise UsageFailure(error) from error
        except BaseException:
            # Whatever unwound the command (Interrupted itself, or an error that a call
            # refused after the signal turned into), a signal decides the exit code.
            interrupted = cancellation.interrupted()
            if interrupted is None:
                raise
            from reconciler.cli.interrupt import say

            say(interrupted)
            sys.exit(interrupted.exit_code)


def fail(message: str) -> None:
    """Print an error to stderr and exit 1, never with a traceback."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@root_global_options
@click.group("reconciler", cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    # The package's own __version__, not the installed metadata: an editable install's metadata
    # keeps the version it was installed with (docs/releases.md).
    version=__version__,
    prog_name="reconciler",
    message="%(prog)s %(version)s",
    help="Show the version and exit.",
)
@click.pass_context
def cli(ctx: click.Context, **kwargs: Any) -> None:
    """Declarative reconciler for disk encryption of ApsaraDB RDS for PostgreSQL.

    \b
    Desired state lives in YAML, by default in specs/. Typical use:
      reconciler validate                      on every commit (no cloud access)
      reconciler plan --detailed-exitcode      on every pull request (reads, never writes)
      reconciler plan --format markdown        for a pull-request comment
      reconciler --emulator plan               the same against the local emulator
    Exit codes: 0 success, 1 error, refused change or usage error, 2 changes (only with
    plan --detailed-exitcode); 130/143 interrupted (SIGINT/SIGTERM). See docs/exit-codes.md.
    Without a command, this help is printed on stderr and the exit code is 1.
    Credentials: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, --profile, ECS RAM role or OIDC.
    Region where the spec names none: --region, else ALIBABA_CLOUD_REGION_ID, else cn-hangzhou.
    Shell completion: eval "$(_RECONCILER_COMPLETE=bash_source reconciler)" (or zsh_source,
    fish_source).
    The global options below are accepted by every command, before or after its name;
    commands that do not talk to the cloud (validate, schema, emulator serve) ignore them.
    """
    ctx.obj = GlobalOptions()
    merge_global(ctx.obj, kwargs)


def main() -> None:
    """The console script (and `python -m reconciler`)."""
    from reconciler.cli.interrupt import install

    install()
    cli(prog_name="reconciler")
