"""`reconciler validate` and `reconciler schema`: the spec, offline."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from reconciler.app.plan import DEFAULT_PATHS
from reconciler.cli.options import GlobalOptions, default_region, global_options
from reconciler.cli.root import EXIT_ERROR, EXIT_OK, cli
from reconciler.cli.validate_output import github_annotations, json_document

if TYPE_CHECKING:  # pragma: no cover - types only
    from reconciler.errors import Diagnostic
    from reconciler.spec.loader import Configuration


@cli.command(short_help="Check spec files, reporting every problem with FILE:LINE:COL.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@click.option(
    "--each",
    is_flag=True,
    help="Check each folder PATH as its own configuration (validate --each specs/examples/*); "
    "default: every PATH together as one, as plan loads them.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text: FILE:LINE:COL: message on stderr. json: one document on stdout (files, "
    "problems with file/line/col/message/code, warnings, exit_code). github: workflow "
    "commands on stdout (::error file=...,line=...::message), annotations in a pull request.",
)
@global_options(ignored=True)
def validate(paths: tuple[str, ...], each: bool, output_format: str) -> None:
    """Check spec files: syntax, fields, values and cross-file rules, all problems at once.

    PATH is a file or a folder (default specs/). A folder loads the *.yaml and *.yml files
    directly in it, in sorted order, not its subfolders. Every PATH together is one
    configuration, as `plan PATH...` loads it, so validate accepts exactly what plan can load
    (a key, an instance or `defaults` set in two folders is reported at both places); with
    --each, each folder PATH is its own configuration (the files named are one more).
    Dotfiles (.draft.yaml) are ignored. Besides the files themselves it checks what the plan
    would refuse from the spec alone: unknown regions, a key of another region than its
    instance, a missing version. Warns when the spec names no region at all (it then means
    cn-hangzhou; the region option or ALIBABA_CLOUD_REGION_ID fill defaults.region where the
    spec sets none, as for plan: the region option is honoured here too).
    Exit codes: 0 valid, 1 errors (every format).

    The global options (--endpoint, ...) are accepted, and all but the region ignored: this
    command does not talk to the cloud.
    """
    from reconciler.spec.loader import load_configurations
    from reconciler.spec.regions import implicit_region_warning

    opts = click.get_current_context().find_object(GlobalOptions)
    region = default_region(opts)
    configurations = load_configurations(
        paths or DEFAULT_PATHS, default_region=region, together=not each
    )
    problems = [d for c in configurations for d in c.diagnostics]
    loaded = [c.loaded for c in configurations if c.loaded is not None]
    warnings = [w for one in loaded if (w := implicit_region_warning(one.spec)) is not None]
    exit_code = EXIT_ERROR if problems else EXIT_OK
    if output_format == "json":
        files = sorted({f for one in loaded for f in one.files} | {d.file for d in problems})
        click.echo(json_document(files, problems, warnings, exit_code), nl=False)
    elif output_format == "github":
        click.echo(github_annotations(problems, warnings), nl=False)
    else:
        _text(configurations, problems, warnings)
    sys.exit(exit_code)


def _text(
    configurations: list[Configuration], problems: list[Diagnostic], warnings: list[str]
) -> None:
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
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
