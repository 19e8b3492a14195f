"""`reconciler validate` and `reconciler schema`: the spec, offline."""

from __future__ import annotations

import sys

import click

from reconciler.cli.options import global_options
from reconciler.cli.root import DEFAULT_PATHS, EXIT_ERROR, cli


@cli.command(short_help="Check spec files, reporting every problem with FILE:LINE:COL.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@global_options(ignored=True)
def validate(paths: tuple[str, ...]) -> None:
    """Check spec files: syntax, fields, values and cross-file rules, all problems at once.

    PATH is a file or a folder (default specs/). A folder loads the *.yaml and *.yml files
    directly in it, in sorted order, not its subfolders (a subfolder is a separate
    configuration, as in Terraform). Prints FILE:LINE:COL: message for every problem.
    Exit codes: 0 valid, 1 errors.

    The global options (--endpoint, --region, ...) are accepted and ignored: this command
    does not talk to the cloud.
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
@global_options(ignored=True)
def schema() -> None:
    """Print the JSON Schema of the spec language on stdout.

    Save it next to your specs (reconciler schema > specs/spec.schema.json) and start each file
    with `# yaml-language-server: $schema=spec.schema.json` for completion and checks in editors.

    The global options (--endpoint, --region, ...) are accepted and ignored: this command
    does not talk to the cloud.
    """
    from reconciler.spec.schema import spec_json_schema_text

    click.echo(spec_json_schema_text(), nl=False)
