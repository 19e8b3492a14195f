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
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="NAME",
    help="Of the spec's accounts (PATH, default specs/): print this account's role policy and "
    "the trust policy the role needs (repeatable; `all` for every declared account).",
)
@click.option(
    "--principal",
    default=None,
    metavar="ID|ARN",
    help="With --account: who the trust policy lets assume the role: the base credentials' "
    "16-digit account id (its root) or a RAM user's or role's ARN.",
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@global_options(ignored=True)
def permissions(
    mode: str | None,
    fmt: str,
    accounts: tuple[str, ...] = (),
    principal: str | None = None,
    paths: tuple[str, ...] = (),
) -> None:
    """Print the RAM policy documents (JSON, RAM policy syntax, Version 1) that the identity
    the tool runs as needs: its AccessKey, profile, ECS role or OIDC role. Each mode's document
    alone is enough for its commands; every action is allowed on "Resource": "*" (see
    docs/permissions.md to narrow it).

    \b
      reconciler permissions --mode plan      plan: reads only
      reconciler permissions --mode drift     drift and import: reads only
      reconciler permissions --mode apply     apply: its reads and writes
      reconciler permissions --account prod --principal 1234567890123456 specs/
                                              prod's role policy and its trust policy
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

    if accounts:
        _account_permissions(paths, accounts, mode, principal)
        return
    if fmt == "markdown":
        if mode is not None:
            raise click.UsageError("--format markdown lists every mode: leave out --mode")
        click.echo(perms.actions_table(), nl=False)
        return
    text = perms.all_documents_text() if mode is None else perms.document_text(mode)
    click.echo(text, nl=False)


def _account_permissions(
    paths: tuple[str, ...], names: tuple[str, ...], mode: str | None, principal: str | None
) -> None:
    """--account: each named account's role policy and trust policy (README, "Several
    accounts"); an account the spec does not declare is a usage error."""
    import difflib

    from reconciler import permissions as perms
    from reconciler.cli.options import GlobalOptions
    from reconciler.cli.run import load_or_fail

    if principal is None:
        raise click.UsageError(
            "--account needs --principal: the base credentials' account id (or the ARN of the "
            "RAM user or role that runs the tool), whom each role's trust policy must allow"
        )
    loaded = load_or_fail(paths, click.get_current_context().find_object(GlobalOptions))
    declared = loaded.spec.accounts
    chosen = list(declared) if "all" in names else list(names)
    for name in chosen:
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=1)
            hint = f"did you mean {close[0]}?" if close else f"declared: {', '.join(declared)}"
            raise click.UsageError(f"--account {name}: the spec declares no such account; {hint}")
    found = {n: (declared[n].role_arn, declared[n].account_id) for n in chosen}
    text = perms.account_documents(found, mode, perms.trusted_principal(principal))
    click.echo(text, nl=False)
