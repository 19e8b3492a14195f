"""Command line. The ONLY module that prints or prompts.

Heavy modules (the SDKs, deepdiff, rich) are imported inside the commands that need them so
that `reconciler --help` starts fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
    click.option(
        "--endpoint",
        envvar="RECONCILER_ENDPOINT",
        default=None,
        metavar="HOST:PORT",
        help="Send every API call to this endpoint over http (env RECONCILER_ENDPOINT).",
    ),
    click.option("--region", default=None, help="Region to use where the spec names none."),
    click.option("--profile", default=None, help="Credentials profile (alibabacloud-credentials)."),
    click.option(
        "--emulator",
        "use_emulator",
        is_flag=True,
        default=None,
        help="Start the local emulator in-process and use it (seeded 'demo' when new).",
    ),
    click.option(
        "--emulator-state",
        default=None,
        metavar="FILE",
        help="State file of --emulator (default .reconciler/emulator.sqlite).",
    ),
    click.option("--stats", is_flag=True, default=None, help="Print API call counts to stderr."),
]


_GLOBAL_NAMES = ("endpoint", "region", "profile", "use_emulator", "emulator_state", "stats")


def _merge_global(opts: GlobalOptions, kwargs: dict[str, Any]) -> None:
    """Move the global options out of `kwargs` into `opts`; a value given later wins."""
    for name in _GLOBAL_NAMES:
        value = kwargs.pop(name)
        if value is not None:
            setattr(opts, "emulator" if name == "use_emulator" else name, value)


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Accept the global options on a subcommand too, merged into the group's values."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _merge_global(click.get_current_context().find_object(GlobalOptions), kwargs)
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
    _merge_global(ctx.obj, kwargs)


for _option in _GLOBAL_OPTIONS:  # appended to the Group's params, so keep the order
    cli = _option(cli)


@cli.command(short_help="Check spec files, reporting every problem with FILE:LINE:COL.")
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
            click.echo(str(diagnostic), err=True)
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


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the spec language on stdout.

    Save it next to your specs (reconciler schema > specs/spec.schema.json) and start each file
    with `# yaml-language-server: $schema=spec.schema.json` for completion and checks in editors.
    """
    from reconciler.spec.schema import spec_json_schema_text

    click.echo(spec_json_schema_text(), nl=False)


# --- plan (issue 5) ---------------------------------------------------------------------------


def _plain_output() -> bool:
    """Plain text (no colour, no progress) when piped, in CI, or with NO_COLOR."""
    import os

    return bool(os.environ.get("CI")) or bool(os.environ.get("NO_COLOR")) or not sys.stderr.isatty()


def _cloud_target(opts: GlobalOptions, parallelism: int, rate_limits: tuple[str, ...]) -> Any:
    from reconciler.cloud.ratelimit import parse_limits
    from reconciler.cloud.session import Target

    return Target(
        endpoint=opts.endpoint,
        profile=opts.profile,
        emulator=opts.emulator,
        emulator_state=opts.emulator_state,
        parallelism=parallelism,
        rate_limits=tuple(parse_limits(list(rate_limits)).items()),
    )


def _apply_region_option(spec: Any, region: str | None) -> Any:
    """--region fills defaults.region where the spec files did not set one."""
    if region is None or "region" in spec.defaults.model_fields_set:
        return spec
    return spec.model_copy(update={"defaults": spec.defaults.model_copy(update={"region": region})})


def _observe_with_progress(spec: Any, clients: Any, parallelism: int) -> Any:
    from reconciler.state.observe import observe

    if _plain_output():
        return observe(spec, clients, parallelism=parallelism)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("reading the cloud"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("observe", total=None)
        return observe(
            spec,
            clients,
            parallelism=parallelism,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _print_stats(clients: Any) -> None:
    counts = clients.counter.by_action()
    retries = clients.counter.retries()
    click.echo(f"API calls: {sum(counts.values())}", err=True)
    for name, count in counts.items():
        extra = f" ({retries[name]} retried)" if retries.get(name) else ""
        click.echo(f"  {name}: {count}{extra}", err=True)


def _render(plan: Any, fmt: str) -> str:
    if fmt == "json":
        from reconciler.render.json import render_json

        return render_json(plan)
    if fmt == "markdown":
        from reconciler.render.markdown import render_markdown

        return render_markdown(plan)
    from reconciler.render.text import render_text

    return render_text(plan, color=not _plain_output() and sys.stdout.isatty())


@cli.command(short_help="Read the cloud and show the ordered, guarded plan. Writes nothing.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also save the plan as JSON (DESIGN format_version 1) to this file.",
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
@click.option(
    "--parallelism",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Concurrent API calls while reading the cloud.",
)
@click.option(
    "--rate-limit",
    "rate_limits",
    multiple=True,
    metavar="ACTION=PER_SECOND",
    help="Client-side limit for one API action (repeatable), e.g. "
    "DescribeDBInstanceEncryptionKey=50; 0 removes a default limit.",
)
@global_options
def plan(
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    parallelism: int,
    rate_limits: tuple[str, ...],
) -> None:
    """Read the cloud, compare it with the spec, and show the ordered plan. Writes nothing.

    PATH is a file or a folder (default specs/). Exit codes: 0 success; with
    --detailed-exitcode 0 = no changes, 2 = changes; 1 = error or a refused change (always).
    With --format json, stdout holds the JSON document alone.
    """
    from datetime import UTC, datetime

    from reconciler.cloud.session import open_cloud
    from reconciler.errors import ReconcilerError, SpecError
    from reconciler.plan.planner import build_plan
    from reconciler.render.json import render_json
    from reconciler.spec.loader import load_spec

    opts: GlobalOptions = click.get_current_context().find_object(GlobalOptions)
    try:
        loaded = load_spec(paths or DEFAULT_PATHS)
    except SpecError as error:
        for diagnostic in error.diagnostics:
            click.echo(str(diagnostic), err=True)
        fail("the spec is invalid: fix the problems above (`reconciler validate` checks offline)")
    spec = _apply_region_option(loaded.spec, opts.region)
    clients = None
    try:
        with open_cloud(_cloud_target(opts, parallelism, rate_limits)) as clients:
            observed = _observe_with_progress(spec, clients, parallelism)
    except ReconcilerError as error:
        if opts.stats and clients is not None:
            _print_stats(clients)
        fail(str(error))
    except Exception as error:  # a bug, not a user error: still one line, no traceback
        fail(
            f"unexpected {type(error).__name__} while reading the cloud: {error}; "
            "please report it with the command you ran"
        )
    created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    the_plan = build_plan(spec, observed, created_at=created_at, locations=loaded.locations)
    if out:
        try:
            Path(out).write_text(render_json(the_plan), encoding="utf-8")
        except OSError as error:
            fail(f"cannot write the plan to {out}: {error.strerror}")
    click.echo(_render(the_plan, fmt), nl=False)
    if out and fmt != "json":
        click.echo(f"Plan saved to {out}.", err=True)
    if opts.stats:
        _print_stats(clients)
    if the_plan.refusals:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_CHANGES if detailed_exitcode and the_plan.changes else EXIT_OK)


@cli.group()
def emulator() -> None:
    """The local emulator of the RDS, KMS and RAM APIs (loopback only)."""


@emulator.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port; 0 picks a free one.",
)
@click.option(
    "--state",
    "state_path",
    default=":memory:",
    metavar="FILE.sqlite",
    help="SQLite state file (default: in memory, lost on exit).",
)
@click.option("--seed", default=None, metavar="NAME|FILE", help="Build a world first (e.g. demo).")
@click.option("--access-key-id", default="emulator", show_default=True)
@click.option("--access-key-secret", default="emulator-secret", show_default=True)
@click.option("--account-id", default="1234567890123456", show_default=True)
@click.option(
    "--restart-seconds",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0),
    help="How long an instance restart (CONFIG_ENCRYPTING) lasts on the emulated clock.",
)
def emulator_serve(
    host: str,
    port: int,
    state_path: str,
    seed: str | None,
    access_key_id: str,
    access_key_secret: str,
    account_id: str,
    restart_seconds: float,
) -> None:
    """Serve the emulator until Ctrl-C. The first stdout line is the URL to use."""
    import signal
    import threading

    from reconciler.emulator.runtime import Settings
    from reconciler.emulator.seeds import SeedError
    from reconciler.emulator.server import Emulator

    settings = Settings(
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        account_id=account_id,
        restart_seconds=restart_seconds,
    )
    try:
        server = Emulator(state_path=state_path, host=host, port=port, settings=settings, seed=seed)
        url = server.start()
    except (SeedError, ValueError, OSError) as error:
        fail(str(error))
        return
    click.echo(f"emulator listening on {url}")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    click.echo("emulator stopped", err=True)


def main() -> None:
    cli(prog_name="reconciler")
