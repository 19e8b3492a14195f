"""`reconciler apply`: carry out the plan (made now, or saved by `plan -o`), then report.

    reconciler apply [PATH...]             plan now, show it, ask, apply
    reconciler apply --plan PLAN.json      apply a saved plan after checking it is not stale

Order: read the plan file and the spec, check that the journal can be written (no cloud yet),
read the account (one call), take the locks of every (account, region) the spec touches in the
user's state folder, read the cloud under them, check a saved plan against it, refuse what
may not be applied (refusals, a restart without --allow-restart, enabling TDE without
--allow-irreversible), show the plan,
ask (or --auto-approve), apply.
Nothing is written before the answer, and nothing after a refusal.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from reconciler.cli.console import show_progress, use_color
from reconciler.cli.options import GlobalOptions, global_options
from reconciler.cli.root import EXIT_ERROR, EXIT_OK, cli, fail
from reconciler.cli.run import connected, load_or_fail, print_stats, render_plan, with_progress
from reconciler.core.rules import SECONDS_PER_DAY
from reconciler.errors import ReconcilerError

OBSERVE_PARALLELISM = 16
"""Concurrent reads while observing (plan's default); --parallelism bounds the changes."""
DEFAULT_STATE_DIR = ".reconciler"
PROMPT = "Do you want to perform these actions? Only 'yes' will be accepted to approve."

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([hms]?)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


class Duration(click.ParamType):
    """`30m`, `1800s`, `1800` (seconds), `1h30m`, `90.5s` -> seconds (a positive float)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float):
            seconds = float(value)
        else:
            text = str(value).strip().lower()
            parts = _DURATION.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                self.fail(f"{value!r} is not a duration such as 30m, 1800s or 1h", param, ctx)
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
        if not 0 < seconds <= 7 * SECONDS_PER_DAY:
            self.fail(f"{value!r} must be more than 0 and at most 7 days", param, ctx)
        return seconds


def state_dir(opts: GlobalOptions) -> Path:
    """Where the journal lives: `.reconciler/`, or with --emulator the folder of its state
    file."""
    if opts.emulator:
        return Path(opts.emulator_state).parent
    return Path(DEFAULT_STATE_DIR)


def cloud_identity(opts: GlobalOptions) -> str | None:
    """Which cloud the locks are for: None for the real one, else the endpoint, or with
    --emulator its state file (its port changes with every run; its state does not)."""
    if opts.emulator:
        return "emulator:" + str(Path(opts.emulator_state).resolve())
    return opts.endpoint.strip() if opts.endpoint else None


@cli.command(short_help="Carry out the plan (made now, or saved with plan -o).")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=str),
    metavar="FILE",
    help="Apply this saved plan (plan -o FILE) instead of planning now. Apply plans afresh and "
    "makes a saved change only where the fresh plan makes the very same one: a plan of other "
    "spec files than PATH, an edited change, or one whose facts moved since is refused before "
    "any write (the output names each and how). See docs/plan-format.md.",
)
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Apply without asking. Without it, apply shows the plan and asks on a terminal, and "
    "refuses to run without one.",
)
@click.option(
    "--allow-restart",
    is_flag=True,
    help="Let changes that restart an instance run: now (restart: immediate) or scheduled for "
    "its maintenance window (restart: maintenance-window; that RDS waits for the window is not "
    "documented for encryption). Without it such a plan is refused before any write, naming "
    "the instances.",
)
@click.option(
    "--allow-irreversible",
    is_flag=True,
    help="Let changes that cannot be undone run: enabling TDE (RDS cannot turn TDE off once "
    "on; it also restarts the instance, so --allow-restart is needed too). Without it such a "
    "plan is refused before any write, naming the instances.",
)
@click.option(
    "--parallelism",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Independent changes carried out at once (per account: a spec with `accounts:` "
    "applies every account at once).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=Duration(),
    default="30m",
    show_default=True,
    metavar="DURATION",
    help="How long to wait for an instance to be Running again (e.g. 30m, 1800s, 1h).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to print the result on stdout. With json, stdout holds the result document "
    "alone; the plan, the prompt and the progress go to stderr.",
)
@global_options
def apply(
    paths: tuple[str, ...],
    plan_file: str | None,
    auto_approve: bool,
    allow_restart: bool,
    allow_irreversible: bool,
    parallelism: int,
    timeout_s: float,
    fmt: str,
) -> None:
    """Carry out the plan: the one made now from PATH (default specs/), or the one saved in
    --plan FILE, checked against the cloud first.

    Shows the plan and asks for 'yes' (a terminal is needed, or --auto-approve). Changes that
    restart an instance need --allow-restart, scheduled ones too; changes that cannot be
    undone (enabling TDE) need --allow-irreversible as well. One apply at a time per
    account and region on this machine (locks in $RECONCILER_STATE_HOME, else
    $XDG_STATE_HOME/reconciler, else ~/.local/state/reconciler); writes are recorded in
    .reconciler/journal.jsonl (with --emulator, beside its state file). Exit codes: 0 every
    change done or scheduled (also when there is nothing to do); 1 a failed change, a refusal,
    a stale saved plan, a usage error; 130/143 interrupted (writes in flight finish, nothing
    new starts). See docs/exit-codes.md.
    """
    from reconciler.app.apply import check_journal
    from reconciler.apply.executor import ApplyOptions

    opts: GlobalOptions = click.get_current_context().find_object(GlobalOptions)
    saved = _read_saved(plan_file)
    loaded = load_or_fail(paths, opts)
    options = ApplyOptions(
        allow_restart=allow_restart,
        allow_irreversible=allow_irreversible,
        parallelism=parallelism,
        timeout_s=timeout_s,
    )
    folder = state_dir(opts)
    try:
        check_journal(folder)
    except ReconcilerError as error:
        fail(str(error))
    if loaded.spec.accounts:
        _run_accounts(loaded, saved, options, opts, folder, auto_approve, fmt)
    _run(loaded, saved, options, opts, folder, auto_approve, fmt)


def _read_saved(plan_file: str | None) -> Any:
    if plan_file is None:
        return None
    from reconciler.app.saved_plan import read_plan_file

    try:
        return read_plan_file(plan_file)
    except ReconcilerError as error:
        fail(str(error))


def _run(
    loaded: Any,
    saved: Any,
    options: Any,
    opts: GlobalOptions,
    folder: Path,
    auto_approve: bool,
    fmt: str,
) -> None:
    from reconciler.app.apply import check_applicable, check_locked_account, locked, to_apply
    from reconciler.app.fleets import with_fleets
    from reconciler.app.plan import observe_and_plan

    view_to_stderr = fmt == "json"
    with (
        connected(opts, max(OBSERVE_PARALLELISM, options.parallelism)) as clients,
        locked(loaded, clients, cloud_identity(opts)) as account,
    ):
        plan_id = saved.plan_id if saved is not None else None
        loaded = with_fleets(loaded, clients, parallelism=OBSERVE_PARALLELISM)
        observed, fresh = with_progress(
            lambda progress: observe_and_plan(
                loaded, clients, parallelism=OBSERVE_PARALLELISM, progress=progress, plan_id=plan_id
            )
        )
        check_locked_account(account, observed)
        if saved is not None:
            _refuse_if_stale(saved, loaded, observed, fresh)
        work = to_apply(saved, loaded, observed, fresh)
        the_plan = work.plan
        if the_plan.refusals:
            _show(the_plan, to_stderr=view_to_stderr)
            fail("the plan is refused: fix the refusals above, then plan again")
        if not the_plan.changes and not work.made:
            _show(the_plan, to_stderr=view_to_stderr)
            if fmt == "json":
                _print_result_json(the_plan, None)
            if opts.stats:
                print_stats(clients)
            sys.exit(EXIT_OK)
        check_applicable(the_plan, options)  # ApplyError: one line, exit 1
        if the_plan.changes:
            _show(the_plan, to_stderr=view_to_stderr)
        if work.made:
            _say_made(work.made, to_stderr=view_to_stderr)
        if the_plan.changes:
            _confirm(auto_approve, to_stderr=view_to_stderr)
        result = _apply_with_display(work, clients, options, folder, fmt)
        if opts.stats:
            print_stats(clients)
    _report(the_plan, result, fmt)
    sys.exit(EXIT_OK if result.ok else EXIT_ERROR)


def _run_accounts(
    loaded: Any,
    saved: Any,
    options: Any,
    opts: GlobalOptions,
    folder: Path,
    auto_approve: bool,
    fmt: str,
) -> None:
    """_run() of a spec with `accounts:` (README, "Several accounts"): each account's locks
    taken, its plan made and a saved plan's part checked with that account's clients; one
    plan shown and approved; each account's changes carried out with its own clients."""
    with connected(opts, max(OBSERVE_PARALLELISM, options.parallelism)) as base:
        with contextlib.ExitStack() as locks:
            parts, works = _account_works(loaded, saved, base, opts, locks)
            the_plan = _combined_or_done(loaded, parts, works, options, opts, base, fmt)
            view_to_stderr = fmt == "json"
            if the_plan.changes:
                _show(the_plan, to_stderr=view_to_stderr)
            made = _made_of_accounts(loaded, works)
            if made:
                _say_made(made, to_stderr=view_to_stderr)
            if the_plan.changes:
                _confirm(auto_approve, to_stderr=view_to_stderr)
            result = _apply_accounts(loaded, parts, works, the_plan, options, folder, fmt)
        if opts.stats:
            print_stats(base)
    _report(the_plan, result, fmt)
    sys.exit(EXIT_OK if result.ok else EXIT_ERROR)


def _account_works(
    loaded: Any, saved: Any, base: Any, opts: GlobalOptions, locks: contextlib.ExitStack
) -> tuple[list[Any], dict[str, Any]]:
    """Each account connected and locked, then every account observed and planned at once,
    as plan reads them (one plan id for all; no account's reads begin before every lock is
    held, so nothing read before a lock is used for a write)."""
    from reconciler.app.accounts import (
        connect_accounts,
        observe_and_plan_each,
        prefixed_addresses,
        split_plan,
    )
    from reconciler.app.apply import check_locked_account, locked, to_apply
    from reconciler.app.plan import new_plan_id

    parts = connect_accounts(loaded, base)
    saved_parts = split_plan(saved, loaded) if saved is not None else {}
    plan_id = saved.plan_id if saved is not None else new_plan_id()
    identity = cloud_identity(opts)
    accounts = {
        part.name: locks.enter_context(locked(part.loaded, part.clients, identity))
        for part in parts
    }
    found = with_progress(
        lambda progress: observe_and_plan_each(
            parts, parallelism=OBSERVE_PARALLELISM, progress=progress, now=None, plan_id=plan_id
        )
    )
    works = {}
    for part in parts:
        observed, fresh = found[part.name]
        check_locked_account(accounts[part.name], observed)
        own_saved = saved_parts.get(part.name)
        if own_saved is not None:
            shown = part.name if prefixed_addresses(loaded) else None
            _refuse_if_stale(own_saved, part.loaded, observed, fresh, account=shown)
        works[part.name] = to_apply(own_saved, part.loaded, observed, fresh)
    return parts, works


def _combined_or_done(
    loaded: Any,
    parts: list[Any],
    works: dict[str, Any],
    options: Any,
    opts: GlobalOptions,
    base: Any,
    fmt: str,
) -> Any:
    """The one plan of every account; refused, or nothing to do, ends the command here."""
    from reconciler.app.accounts import combine_accounts
    from reconciler.app.apply import check_applicable

    the_plan = combine_accounts(loaded, {name: work.plan for name, work in works.items()})
    view_to_stderr = fmt == "json"
    if the_plan.refusals:
        _show(the_plan, to_stderr=view_to_stderr)
        fail("the plan is refused: fix the refusals above, then plan again")
    if not the_plan.changes and not any(w.made for w in works.values()):
        _show(the_plan, to_stderr=view_to_stderr)
        if fmt == "json":
            _print_result_json(the_plan, None)
        if opts.stats:
            print_stats(base)
        sys.exit(EXIT_OK)
    check_applicable(the_plan, options)  # ApplyError: one line, exit 1
    return the_plan


def _apply_accounts(
    loaded: Any,
    parts: list[Any],
    works: dict[str, Any],
    the_plan: Any,
    options: Any,
    folder: Path,
    fmt: str,
) -> Any:
    """Every account's changes at once, each with its own clients (app/apply_accounts.py),
    under one display of the one plan; the result with the plan's addresses."""
    from reconciler.app.accounts import prefixed_addresses
    from reconciler.app.apply import journal_path
    from reconciler.app.apply_accounts import AccountRun, apply_accounts, process_shares
    from reconciler.apply.journal import Journal
    from reconciler.errors import AccountApplyError, Interrupted

    runs = [
        AccountRun(part.name, works[part.name], part.clients)
        for part in parts
        if works[part.name].plan.changes or works[part.name].made
    ]
    prefix = prefixed_addresses(loaded)
    journal = Journal(journal_path(folder))
    journal.check()
    to_stderr = fmt == "json"
    view = _view(the_plan, to_stderr)
    click.echo("", err=to_stderr)
    shares = process_shares(runs)
    for run in runs:
        shown = run.name if prefix else None
        cap = shares[run.name]
        _say_fan_out(run.work.plan, run.clients, to_stderr=to_stderr, account=shown, cap=cap)
    try:
        with view:
            return apply_accounts(
                runs, the_plan, options, view.on_event, journal=journal, prefix=prefix
            )
    except Interrupted as error:
        _say_interrupted(the_plan, error.apply_result, folder)
        raise
    except AccountApplyError as error:  # the other accounts' outcomes, then the one line
        _report(the_plan, error.apply_result, "text", to_stderr=True)
        raise


def _made_of_accounts(loaded: Any, works: dict[str, Any]) -> list[Any]:
    """The changes already made of every account, addressed as the combined plan."""
    from reconciler.app.accounts import SEPARATOR, prefixed_addresses

    if not prefixed_addresses(loaded):
        return [c for w in works.values() for c in w.made]
    return [
        c.model_copy(update={"address": f"{name}{SEPARATOR}{c.address}"})
        for name, w in works.items()
        for c in w.made
    ]


def _say_made(made: Any, *, to_stderr: bool) -> None:
    click.echo(
        f"{len(made)} change(s) of the saved plan are already made (an earlier run of this plan "
        "was stopped after making them, or someone made them by hand); they are not made again:",
        err=to_stderr,
    )
    for change in made:
        click.echo(f"  = {change.address}", err=to_stderr)
    click.echo("", err=to_stderr)


def _refuse_if_stale(
    saved: Any, loaded: Any, observed: Any, fresh: Any, *, account: str | None = None
) -> None:
    """`account`: the name prefixed to each address, as the combined plan spells it."""
    from reconciler.app.accounts import account_finding
    from reconciler.app.saved_plan import check_saved_plan

    findings = check_saved_plan(saved, loaded, observed, fresh)
    if not findings:
        return
    if account is not None:
        findings = [account_finding(finding, account) for finding in findings]
    moved = [f for f in findings if f.address]
    click.echo("The saved plan cannot be applied:", err=True)
    for finding in findings:
        click.echo(f"  x {finding}", err=True)
    if moved:
        click.echo(
            f"{len(moved)} change(s) rest on facts that moved since the plan was made; other "
            "changes in the cloud do not matter.",
            err=True,
        )
    fail("the saved plan is stale: nothing was written. Plan again (`reconciler plan -o FILE`)")


def _show(the_plan: Any, *, to_stderr: bool) -> None:
    stream = sys.stderr if to_stderr else sys.stdout
    text = render_plan(the_plan, "text", to_stdout=not to_stderr)
    click.echo(text, nl=False, err=to_stderr, color=use_color(stream))


def _confirm(auto_approve: bool, *, to_stderr: bool) -> None:
    """Ask on a terminal; without one, refuse unless --auto-approve."""
    if auto_approve:
        return
    if not _on_a_terminal(to_stderr):
        fail(
            "no terminal to ask for approval: pass --auto-approve to apply without asking "
            "(nothing was written)"
        )
    click.echo("", err=to_stderr)
    click.echo(PROMPT, err=to_stderr)
    try:
        answer = click.prompt("  Enter a value", default="", show_default=False, err=to_stderr)
    except click.Abort:
        answer = ""
    if answer.strip() != "yes":
        click.echo("", err=to_stderr)
        fail("apply cancelled: only 'yes' approves (nothing was written)")


def _on_a_terminal(to_stderr: bool) -> bool:
    """Someone can answer: stdin and the stream the question goes to are terminals."""
    return sys.stdin.isatty() and (sys.stderr if to_stderr else sys.stdout).isatty()


def _apply_with_display(work: Any, clients: Any, options: Any, folder: Path, fmt: str) -> Any:
    from reconciler.app.apply import apply as apply_work
    from reconciler.errors import Interrupted

    to_stderr = fmt == "json"
    view = _view(work.plan, to_stderr)
    click.echo("", err=to_stderr)
    _say_fan_out(work.plan, clients, to_stderr=to_stderr)
    try:
        with view:
            return apply_work(work, clients, options, view.on_event, state_dir=folder)
    except Interrupted as error:
        _say_interrupted(work.plan, error.apply_result, folder)
        raise


def _view(the_plan: Any, to_stderr: bool) -> Any:
    """The progress display: live on a terminal, plain lines otherwise (CI)."""
    from reconciler.cli.apply_view import LiveView, PlainView

    stream = sys.stderr if to_stderr else sys.stdout
    if show_progress() and stream.isatty():
        return LiveView(the_plan, stream, color=use_color(stream))
    return PlainView(stream)


def _say_interrupted(the_plan: Any, partial: Any, folder: Path) -> None:
    from reconciler.app.apply import journal_path

    if partial is not None:
        _report(the_plan, partial, "text", to_stderr=True, interrupted=True)
    click.echo(
        "Apply stopped: no write was started after the signal; "
        f"{journal_path(folder)} records every write made. Run the same command "
        "again to carry on.",
        err=True,
    )


def _say_fan_out(
    plan: Any, clients: Any, *, to_stderr: bool, account: str | None = None, cap: int | None = None
) -> None:
    from reconciler.app.apply import fan_out_of

    fanout = fan_out_of(plan, clients, cap)
    if fanout is not None:
        whose = f"Account {account}: a" if account else "A"
        click.echo(
            f"{whose}pplying {len(fanout.units)} regions' changes in {fanout.processes} worker "
            "processes (--processes), after the account-wide changes.",
            err=to_stderr,
        )


def _report(
    the_plan: Any, result: Any, fmt: str, *, to_stderr: bool = False, interrupted: bool = False
) -> None:
    from reconciler.cli.apply_view import summary_lines

    err = to_stderr or fmt == "json"
    click.echo("", err=err)
    for line in summary_lines(the_plan, result, interrupted=interrupted):
        click.echo(line, err=err)
    if fmt == "json":
        _print_result_json(the_plan, result)


def _print_result_json(the_plan: Any, result: Any) -> None:
    from reconciler.apply.executor import ApplyResult
    from reconciler.cli.apply_view import result_document

    document = result_document(the_plan, result if result is not None else ApplyResult())
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))
