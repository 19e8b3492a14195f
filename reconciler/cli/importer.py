"""`reconciler import`: read what exists and write spec YAML for it, with a header that says
what it plans (computed by planning it against the same reading)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.options import GlobalOptions, check_regions, global_options
from reconciler.cli.outfile import OutFile, refuse_unless_regular
from reconciler.cli.root import EXIT_OK, cli, fail
from reconciler.errors import Interrupted, ReconcilerError

if TYPE_CHECKING:
    from reconciler.spec.models import Spec

DEFAULT_REGION = "cn-hangzhou"
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
@global_options
def import_(out_dir: str | None, parallelism: int) -> None:
    """Read every instance of the regions named by --region (repeatable, after `import`;
    default cn-hangzhou), the KMS keys they use and the RAM role RDS uses, and write spec YAML
    for them. The header says what `reconciler plan` plans on it, computed by planning it
    against what was read: no changes, unless the cloud needs some (a key without the RDS tag,
    the RAM role CMK instances need missing). Keys are named by their alias where
    they have one; instances that cannot be encrypted (serverless, storage that is not ESSD,
    another engine) are comments saying why. Every file starts with the $schema line.

    Exit codes: 0 written, 1 error (nothing written); 130/143 interrupted.
    """
    opts: GlobalOptions = click.get_current_context().find_object(GlobalOptions)
    regions = list(dict.fromkeys(_regions(opts.region))) or [DEFAULT_REGION]
    target = _prepare(out_dir)
    try:
        files, document = _read(opts, regions, parallelism)
        if target is not None:
            _write(target, files)
    except Interrupted:
        raise
    except ReconcilerError as error:
        fail(str(error))
    if target is None:
        click.echo(document, nl=False)
    else:
        click.echo(f"Wrote {', '.join(sorted(files))} to {target}.", err=True)
    sys.exit(EXIT_OK)


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


def _read(opts: GlobalOptions, regions: list[str], parallelism: int) -> tuple[dict[str, str], str]:
    from reconciler.cli.drift import cloud_target
    from reconciler.cloud.session import open_cloud
    from reconciler.drift.importer import (
        import_document,
        import_files,
        plan_imported,
        planned_lines,
    )
    from reconciler.spec.models import Defaults, RamSpec, Spec
    from reconciler.spec.regions import region_problem
    from reconciler.state.observe import ReadScope, observe

    for region in regions:
        problem = region_problem(region)
        if problem:
            raise ReconcilerError(f"--region {region}: {problem}")
    scope = ReadScope(
        spec=Spec(defaults=Defaults(region=regions[0])),
        regions=tuple(regions),
        all_instances=True,
        all_engines=True,
        keys_in_use=True,
        ram=RamSpec(),
    )
    with open_cloud(cloud_target(opts, parallelism, None)) as clients:
        observed = observe(scope, clients, parallelism=parallelism)
        if opts.stats:
            counts = clients.counter.by_action()
            click.echo(f"API calls: {sum(counts.values())}", err=True)
            for name, count in counts.items():
                click.echo(f"  {name}: {count}", err=True)
    planned = planned_lines(plan_imported(_check(import_files(observed, regions)), observed))
    return import_files(observed, regions, planned), import_document(observed, regions, planned)


def _check(files: dict[str, str]) -> Spec:
    """The files must load as one valid configuration; anything else is a bug, said so."""
    from reconciler.errors import SpecError
    from reconciler.spec.loader import load_spec

    with tempfile.TemporaryDirectory(prefix="reconciler-import-") as folder:
        for name, text in files.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        try:
            return load_spec([folder]).spec
        except SpecError as error:
            raise ReconcilerError(
                "the imported YAML does not validate (please report it): "
                + "; ".join(d.message for d in error.diagnostics[:5])
            ) from error


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
            param.help = "Region to read (repeatable; default cn-hangzhou)."


_accept_repeated_region()
