"""Command line. The ONLY module that prints or prompts.

Heavy modules (the SDKs, deepdiff, rich) are imported inside the commands that need them so
that `reconciler --help` starts fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

DEFAULT_PATHS = ("specs",)

# Exit codes (DESIGN section 6).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


@dataclass
class GlobalOptions:
    """Options accepted before or after the command name."""

    endpoint: str | None = None
    region: str | None = None
    profile: str | None = None
    emulator: bool = False
    emulator_state: str = ".reconciler/emulator.sqlite"
    stats: bool = False


_GLOBAL_OPTIONS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option("--endpoint", envvar="RECONCILER_ENDPOINT", default=None, metavar="HOST:PORT",
                 help="Send every API call to this endpoint over http (env RECONCILER_ENDPOINT)."),
    click.option("--region", default=None, help="Region to use where the spec names none."),
    click.option("--profile", default=None, help="Credentials profile (alibabacloud-credentials)."),
    click.option("--emulator", "use_emulator", is_flag=True, default=None,
                 help="Start the local emulator in-process and use it (seeded 'demo' when new)."),
    click.option("--emulator-state", default=None, metavar="FILE",
                 help="State file of --emulator (default .reconciler/emulator.sqlite)."),
    click.option("--stats", is_flag=True, default=None, help="Print API call counts to stderr."),
]


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Accept the global options on a subcommand too, merged into the group's values."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts: GlobalOptions = click.get_current_context().find_object(GlobalOptions)
        for name in ("endpoint", "region", "profile", "use_emulator", "emulator_state", "stats"):
            value = kwargs.pop(name)
            if value is not None:
                setattr(opts, "emulator" if name == "use_emulator" else name, value)
        return command(*args, **kwargs)

    for option in reversed(_GLOBAL_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def fail(message: str) -> None:
    """Print an error to stderr and exit 1, never with a traceback."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context, **kwargs: Any) -> None:
    """Declarative reconciler for disk encryption of ApsaraDB RDS for PostgreSQL.

    Desired state lives in YAML (default folder specs/). Typical use: `plan` on every pull
    request, `apply` on merge, `drift` nightly. Exit codes: 0 success, 1 error or refusal,
    2 changes or drift (plan --detailed-exitcode, drift).
    """
    opts = GlobalOptions()
    for name, value in kwargs.items():
        if value is not None:
            setattr(opts, "emulator" if name == "use_emulator" else name, value)
    ctx.obj = opts


for _option in _GLOBAL_OPTIONS:  # appended to the Group's params, so keep the order
    cli = _option(cli)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@global_options
def validate(paths: tuple[str, ...]) -> None:
    """Check spec files: syntax, fields, values and cross-file rules, all problems at once.

    PATH is a file or a folder (default specs/). A folder loads the *.yaml and *.yml files
    directly in it, in sorted order, not its subfolders (a subfolder is a separate
    configuration, as in Terraform). Prints FILE:LINE:COL: message for every problem.
    Exit codes: 0 valid, 1 errors.
    """
    from reconciler.errors import SpecError
    from reconciler.spec.loader import load_spec

    try:
        loaded = load_spec(paths or DEFAULT_PATHS)
    except SpecError as error:
        for diagnostic in error.diagnostics:
            click.echo(_format_diagnostic(diagnostic), err=True)
        files = len({d.file for d in error.diagnostics})
        count = len(error.diagnostics)
        click.echo(
            f"{count} error{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''}",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    spec = loaded.spec
    click.echo(
        f"{len(loaded.files)} files, {len(spec.kms_keys)} keys, "
        f"{len(spec.instances)} instances: valid"
    )


def _format_diagnostic(diagnostic: Any) -> str:
    """FILE:LINE:COL: message; a problem with a whole path (line 0) prints as FILE: message."""
    if diagnostic.line == 0:
        return f"{diagnostic.file}: {diagnostic.message}"
    return str(diagnostic)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the spec language on stdout.

    Save it next to your specs (reconciler schema > specs/spec.schema.json) and start each file
    with `# yaml-language-server: $schema=spec.schema.json` for completion and checks in editors.
    """
    from reconciler.spec.schema import spec_json_schema_text

    click.echo(spec_json_schema_text(), nl=False)


def main() -> None:
    cli(prog_name="reconciler")
