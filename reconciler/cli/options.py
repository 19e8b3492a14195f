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


def merge_global(opts: GlobalOptions, kwargs: dict[str, Any]) -> None:
    """Move the global options out of `kwargs` into `opts`; a value given later wins."""
    for name in _GLOBAL_NAMES:
        value = kwargs.pop(name)
        if value is not None:
            setattr(opts, "emulator" if name == "use_emulator" else name, value)


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Accept the global options on a subcommand too, merged into the group's values."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        merge_global(click.get_current_context().find_object(GlobalOptions), kwargs)
        return command(*args, **kwargs)

    for option in reversed(_GLOBAL_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def root_global_options(group: Callable[..., Any]) -> Callable[..., Any]:
    """The same options on the root group (appended to its params, so keep the order)."""
    for option in _GLOBAL_OPTIONS:
        group = option(group)
    return group
