"""The global options: accepted before or after the command name, merged into one object."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click


@dataclass
class GlobalOptions:
    """Options accepted before or after the command name."""

    endpoint: str | None = None
    region: str | None = None
    profile: str | None = None
    emulator: bool = False
    emulator_state: str = ".reconciler/emulator.sqlite"
    stats: bool = False
    processes: int | None = None
    """--processes: worker processes to read account-regions in; None (not given): 1, in this
    process; 0: one per account-region, at most one per core (state/processes.py)."""


def check_regions(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
    """--region must be a known region id (a usage error otherwise, exit 1): it names files,
    lock files and endpoints, so `cn-hangzhou/../x` or an empty one never gets that far."""
    from reconciler.spec.regions import region_problem

    for region in (value,) if isinstance(value, str) else value or ():
        problem = region_problem(region)
        if problem:
            raise click.BadParameter(problem)
    return value


REGION_VARIABLE = "ALIBABA_CLOUD_REGION_ID"
"""The region where the spec names none and no --region is given (the SDKs' own variable)."""


def region_from_environment() -> str | None:
    """ALIBABA_CLOUD_REGION_ID, when set and not empty; a value that is not a region id is a
    usage error naming the variable (it names endpoints and files, as --region does)."""
    import os

    from reconciler.spec.regions import region_problem

    value = os.environ.get(REGION_VARIABLE, "").strip()
    if not value:
        return None
    problem = region_problem(value)
    if problem:
        raise click.UsageError(f"{REGION_VARIABLE}={value}: {problem}")
    return value


def default_region(opts: GlobalOptions) -> str | None:
    """The region where the spec names none: --region, else ALIBABA_CLOUD_REGION_ID, else
    None (the spec language's cn-hangzhou). A spec's defaults.region wins over both: the
    reviewed file, not the shell, says where its resources are (README, "Regions")."""
    return opts.region or region_from_environment()


def repeatable_region(command: click.Command, help_text: str) -> None:
    """`COMMAND --region A --region B`: the global --region, repeatable on this command only;
    an omitted one leaves a --region given before the command name in force."""
    for param in command.params:
        if param.name == "region" and isinstance(param, click.Option):
            param.multiple = True
            param.default = None
            param.callback = lambda ctx, param, value: check_regions(
                ctx, param, tuple(value) or None
            )
            param.help = help_text


def given_regions(value: Any) -> tuple[str, ...]:
    """--region as a tuple: none, one (given before the command name) or several."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _global_option_decorators(
    hidden: bool,
) -> list[Callable[[Callable[..., Any]], Callable[..., Any]]]:
    """The global options; `hidden` ones are accepted but not listed in the command's help."""
    return [
        click.option(
            "--endpoint",
            envvar="RECONCILER_ENDPOINT",
            default=None,
            metavar="HOST:PORT",
            hidden=hidden,
            help="Send every API call to this endpoint over http (env RECONCILER_ENDPOINT).",
        ),
        click.option(
            "--region",
            default=None,
            hidden=hidden,
            callback=check_regions,
            help="Region to use where the spec names none (else ALIBABA_CLOUD_REGION_ID, else "
            "cn-hangzhou).",
        ),
        click.option(
            "--profile",
            default=None,
            hidden=hidden,
            help="Credentials profile (alibabacloud-credentials).",
        ),
        click.option(
            "--emulator",
            "use_emulator",
            is_flag=True,
            default=None,
            hidden=hidden,
            help="Start the local emulator in-process and use it (seeded 'demo' when new).",
        ),
        click.option(
            "--emulator-state",
            default=None,
            metavar="FILE",
            hidden=hidden,
            help="State file of --emulator (default .reconciler/emulator.sqlite).",
        ),
        click.option(
            "--stats",
            is_flag=True,
            default=None,
            hidden=hidden,
            help="Print API call counts to stderr.",
        ),
        click.option(
            "--processes",
            type=click.IntRange(0, 256),
            envvar="RECONCILER_PROCESSES",
            default=None,
            metavar="N",
            hidden=hidden,
            help="Read the cloud, and apply each region's changes, in up to N worker "
            "processes, one account-region each (env RECONCILER_PROCESSES; 0: one per "
            "account-region, at most one per core, none for fewer than 3,000 instances). "
            "Default 1: in this process; a process costs about a second to start, so more pay "
            "off only for fleets of thousands of instances over several regions.",
        ),
    ]


IGNORED_NOTE = (
    "The global options (--endpoint, --region, ...) are accepted here too, and ignored: "
    "this command does not talk to the cloud."
)
"""For the help of a command that takes the global options only to ignore them."""


_GLOBAL_NAMES = (
    "endpoint",
    "region",
    "profile",
    "use_emulator",
    "emulator_state",
    "stats",
    "processes",
)


def merge_global(opts: GlobalOptions, kwargs: dict[str, Any]) -> None:
    """Move the global options out of `kwargs` into `opts`; a value given later wins."""
    for name in _GLOBAL_NAMES:
        value = kwargs.pop(name)
        if value is not None:
            setattr(opts, "emulator" if name == "use_emulator" else name, value)


def global_options(command: Callable[..., Any] | None = None, *, ignored: bool = False) -> Any:
    """Accept the global options on a subcommand too, merged into the group's values.

    `@global_options(ignored=True)`: for a command that does not use them (validate, schema,
    emulator serve): still accepted, so every command takes them, but not listed in its help
    (say so with IGNORED_NOTE in the docstring)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            merge_global(click.get_current_context().find_object(GlobalOptions), kwargs)
            return command(*args, **kwargs)

        for option in reversed(_global_option_decorators(hidden=ignored)):
            wrapper = option(wrapper)
        return wrapper

    return decorate if command is None else decorate(command)


def root_global_options(group: Callable[..., Any]) -> Callable[..., Any]:
    """The same options on the root group (appended to its params, so keep the order)."""
    for option in _global_option_decorators(hidden=False):
        group = option(group)
    return group


def _parse_rate_limits(
    _ctx: click.Context, _param: click.Parameter, items: tuple[str, ...]
) -> tuple[tuple[str, float], ...]:
    """--rate-limit items -> the full limits table; a bad item is a usage error (exit 1)."""
    from reconciler.errors import ReconcilerError
    from reconciler.rate_limits import parse_limits

    try:
        return tuple(parse_limits(list(items)).items())
    except ReconcilerError as error:
        raise click.BadParameter(str(error)) from error


def read_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--parallelism and --rate-limit: how a command that reads the whole cloud reads it."""
    command = click.option(
        "--rate-limit",
        "rate_limits",
        multiple=True,
        metavar="SERVICE:ACTION=N",
        callback=_parse_rate_limits,
        help="Client-side limit of N calls a second for one API action in each region (RAM: "
        "for the account), as Alibaba's quotas are (repeatable), e.g. "
        "rds:DescribeDBInstanceEncryptionKey=50; 0 removes a default limit. Only the actions "
        "this tool calls are accepted.",
    )(command)
    return click.option(
        "--parallelism",
        type=click.IntRange(1, 256),
        default=16,
        show_default=True,
        help="Concurrent API calls while reading the cloud.",
    )(command)


def _parse_shard(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[int, int] | None:
    from reconciler.shard import ShardError, parse_shard

    if value is None:
        return None
    try:
        return parse_shard(value)
    except ShardError as error:
        raise click.BadParameter(str(error)) from error


def shard_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--shard I/N: this run covers shard I of N of the (account, region) units (README,
    "Sharding across CI runners"); `reconciler merge` combines the shards' JSON."""
    return click.option(
        "--shard",
        "shard",
        metavar="I/N",
        callback=_parse_shard,
        help="Cover only shard I of N: the spec's (account, region) units, sorted and dealt "
        "round-robin. The JSON records the shard; `reconciler merge` combines the N files.",
    )(command)
