"""`reconciler validate` and `reconciler schema`: the spec, offline."""

from __future__ import annotations

import sys
from pathlib import Path

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
    configuration, as in Terraform). Each folder PATH is validated as its own configuration
    (validate specs/examples/* checks each example alone); the files given are one
    configuration together. Prints FILE:LINE:COL: message for every problem.
    Exit codes: 0 valid, 1 errors.

    The global options (--endpoint, --region, ...) are accepted and ignored: this command
    does not talk to the cloud.
    """
    from reconciler.errors import Diagnostic, SpecError
    from reconciler.spec.loader import load_spec

    configurations = _configurations(paths or DEFAULT_PATHS)
    problems: list[Diagnostic] = []
    for label, group in configurations:
        try:
            loaded = load_spec(group)
        except SpecError as error:
            problems += error.diagnostics
            for diagnostic in error.diagnostics:
                click.echo(str(diagnostic), err=True)
            continue
        spec = loaded.spec
        prefix = f"{label}: " if len(configurations) > 1 else ""
        click.echo(
            f"{prefix}{len(loaded.files)} files, {len(spec.kms_keys)} keys, "
            f"{len(spec.instances)} instances: valid"
        )
    if problems:
        files = len({d.file for d in problems})
        count = len(problems)
        click.echo(
            f"{count} error{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''}",
            err=True,
        )
        sys.exit(EXIT_ERROR)


def _configurations(paths: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """(label, paths) per configuration: each folder PATH is one, and the files given (with
    any path that does not exist, which the loader reports) are one together, placed where the
    first of them was given."""
    groups: list[tuple[str, list[str]]] = []
    files: list[str] = []
    for path in paths:
        if Path(path).is_dir():
            groups.append((path, [path]))
            continue
        if not files:
            groups.append(("", files))
        files.append(path)
    return [(label or " ".join(group), tuple(group)) for label, group in groups]


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
