"""`reconciler validate` and `reconciler schema`: the spec, offline."""

from __future__ import annotations

import sys

import click

from reconciler.app.plan import DEFAULT_PATHS
from reconciler.cli.options import global_options
from reconciler.cli.root import EXIT_ERROR, cli


@cli.command(short_help="Check spec files, reporting every problem with FILE:LINE:COL.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@global_options(ignored=True)
def validate(paths: tuple[str, ...]) -> None:
    """Check spec files: syntax, fields, values and cross-file rules, all problems at once.

    PATH is a file or a folder (default specs/). A folder loads the *.yaml and *.yml files
    directly in it, in sorted order, not its subfolders (a subfolder is a separate
    configuration, as in Terraform). Each folder PATH is validated as its own configuration
    (validate specs/examples/* checks each example alone); the files given are one
    configuration together. Dotfiles (.draft.yaml) are ignored. Besides the files themselves
    it checks what the plan would refuse from the spec alone: unknown regions, a key of
    another region than its instance, a missing version. Prints FILE:LINE:COL: message for
    every problem.
    Exit codes: 0 valid, 1 errors.

    The global options (--endpoint, --region, ...) are accepted and ignored: this command
    does not talk to the cloud.
    """
    from reconciler.spec.loader import load_configurations

    configurations = load_configurations(paths or DEFAULT_PATHS)
    problems = [d for c in configurations for d in c.diagnostics]
    for configuration in configurations:
        for diagnostic in configuration.diagnostics:
            click.echo(str(diagnostic), err=True)
        if configuration.loaded is None:
            continue
        loaded, spec = configuration.loaded, configuration.loaded.spec
        label = " ".join(configuration.paths)
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
