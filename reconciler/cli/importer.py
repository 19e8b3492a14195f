"""`reconciler import`: read what exists and write spec YAML for it, with a header that says
what it plans (computed by planning it against the same reading)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.options import (
    GlobalOptions,
    check_regions,
    global_options,
    region_from_environment,
)
from reconciler.cli.outfile import OutFile, refuse_unless_regular
from reconciler.cli.root import EXIT_OK, cli, fail
from reconciler.cli.run import cloud, load_or_raise, print_stats, with_progress
from reconciler.errors import Interrupted, ReconcilerError

if TYPE_CHECKING:
    from reconciler.app.importer import ImportedSpec
    from reconciler.spec.loader import LoadedSpec

SCHEMA_NAME = "spec.schema.json"


def _regions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@cli.command(
    "import", short_help="Write spec YAML for what exists; its header says what plan plans."
)
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=str, file_okay=False),
    metavar="DIR",
    help="Write 00-defaults.yaml, keys.yaml, one <region>.yaml per region and spec.schema.json "
    "into DIR (created if missing; it must hold no YAML file yet). Default: one YAML document "
    "on stdout.",
)
@click.option(
    "--parallelism",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Concurrent API calls while reading the cloud.",
)
@click.option(
    "--as-fleet",
    is_flag=True,
    help="Read every instance's tags too, and write a fleet (fleets.yaml) selecting a tag where "
    "the tag explains the instances: at least two carry it, every instance read that carries it "
    "is imported, all with the same encryption and TDE. The others stay listed by id.",
)
@click.option(
    "--accounts",
    "accounts_path",
    type=click.Path(exists=True, path_type=str),
    metavar="PATH",
    help="Import every account of the `accounts:` block of this spec file or folder (e.g. "
    "specs/), each read with its own credentials as plan reads it, into one spec with that "
    "block, `account:` on every entry and files per account and region.",
)
@click.option(
    "--account",
    "account_names",
    multiple=True,
    metavar="NAME",
    help="With --accounts: import only this account (repeatable).",
)
@global_options
def import_(
    out_dir: str | None,
    parallelism: int,
    as_fleet: bool,
    accounts_path: str | None,
    account_names: tuple[str, ...],
) -> None:
    """Read every instance of every region of the account (RDS DescribeRegions; --region,
    repeatable after `import`, narrows it), the KMS keys they use and the RAM role RDS uses,
    and write spec YAML for them that `reconciler plan` plans no change on: what the cloud
    would need changed (a key without the RDS tag, the RAM role CMK instances need missing) is
    left out, as comments saying why, and the header says so, computed by planning the files
    against what was read. One <region>.yaml per region with something to import; the header
    names the regions with nothing. The spec's default region is the first --region, else
    ALIBABA_CLOUD_REGION_ID, else cn-hangzhou. Keys are named by their alias where they have
    one; instances that cannot be encrypted (serverless, storage that is not ESSD, another
    engine) are comments saying why. Every file starts with the $schema line.

    Exit codes: 0 written, 1 error (nothing written); 130/143 interrupted.
    """
    opts: GlobalOptions = click.get_current_context().find_object(GlobalOptions)
    accounts = _accounts(opts, accounts_path, account_names)
    target = _prepare(out_dir)
    try:
        imported = _read(opts, _regions(opts.region), parallelism, as_fleet, accounts)
        if target is not None:
            _write(target, imported.files)
    except Interrupted:
        raise
    except ReconcilerError as error:
        fail(str(error))
    if target is None:
        click.echo(imported.document, nl=False)
    else:
        click.echo(f"Wrote {', '.join(sorted(imported.files))} to {target}.", err=True)
    click.echo(_summary(imported), err=True)
    sys.exit(EXIT_OK)


def _summary(imported: ImportedSpec) -> str:
    """Which regions were read, and which had nothing to import (never skipped silently)."""
    text = f"Read {len(imported.regions)} region(s): {', '.join(sorted(imported.regions))}."
    if imported.empty_regions:
        empty = imported.empty_regions
        text += f" Nothing to import in {len(empty)}: {', '.join(empty)}."
    return text


def _prepare(out_dir: str | None) -> Path | None:
    """Check DIR before any cloud call: its parent exists, and it holds no spec file yet (a
    file left there would be merged with the imported ones)."""
    if out_dir is None:
        return None
    target = Path(out_dir)
    if not target.parent.is_dir():
        fail(f"cannot import into {out_dir}: folder {target.parent} does not exist")
    if target.is_dir():
        present = sorted(p.name for p in target.iterdir() if p.suffix in (".yaml", ".yml"))
        if present:
            fail(
                f"cannot import into {out_dir}: it already holds {', '.join(present)}; "
                "name a new or empty folder"
            )
        try:  # the one file that may be there already: replaced only if it is a regular file
            refuse_unless_regular(target / SCHEMA_NAME, "imported spec")
        except ReconcilerError as error:
            fail(str(error))
    return target


def _accounts(opts: GlobalOptions, path: str | None, names: tuple[str, ...]) -> LoadedSpec | None:
    """The --accounts spec narrowed to --account, checked before any cloud call."""
    if path is None:
        if names:
            fail("--account needs --accounts PATH (the spec file or folder declaring it)")
        return None
    from reconciler.app.importer import pick_accounts

    try:
        return pick_accounts(load_or_raise([path], opts), names)
    except ReconcilerError as error:
        fail(str(error))
        raise  # pragma: no cover - fail() exits


def _read(
    opts: GlobalOptions,
    given: tuple[str, ...],
    parallelism: int,
    as_fleet: bool = False,
    accounts: LoadedSpec | None = None,
) -> ImportedSpec:
    """app.importer.import_spec() (import_accounts() with --accounts) for the regions, with the
    progress bar and --stats."""
    from reconciler.app.importer import import_accounts, import_regions, import_spec

    regions = import_regions(given)
    home = region_from_environment()
    with cloud(opts, parallelism) as clients:
        if accounts is not None:
            imported = with_progress(
                lambda progress: import_accounts(
                    clients,
                    accounts,
                    (),
                    regions,
                    home=home,
                    parallelism=parallelism,
                    progress=progress,
                    as_fleet=as_fleet,
                )
            )
            if opts.stats:
                print_stats(clients)
            return imported
        imported = with_progress(
            lambda progress: import_spec(
                clients,
                regions,
                home=home,
                parallelism=parallelism,
                progress=progress,
                as_fleet=as_fleet,
            )
        )
        if opts.stats:
            print_stats(clients)
    return imported


def _write(target: Path, files: dict[str, str]) -> None:
    from reconciler.spec.schema import spec_json_schema_text

    target.mkdir(exist_ok=True)
    for name, text in {**files, SCHEMA_NAME: spec_json_schema_text()}.items():
        OutFile.prepare(str(target / name), "imported spec").commit(text)


def _accept_repeated_region() -> None:
    """`import --region A --region B`: the global --region, repeatable on this command only;
    an omitted one leaves a --region given before the command name in force."""
    for param in import_.params:
        if param.name == "region" and isinstance(param, click.Option):
            param.multiple = True
            param.default = None
            param.callback = lambda ctx, param, value: check_regions(
                ctx, param, tuple(value) or None
            )
            param.help = "Region to read (repeatable; default: every region of the account)."


_accept_repeated_region()
