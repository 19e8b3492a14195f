"""Command line: click commands, one module per command group. The ONLY
code that prints or prompts.

    root.py      the `reconciler` group, exit codes, usage errors, `main`
    run.py       shared by the commands that read the cloud: load, connect, progress, --stats
    options.py   the global options (before or after the command name)
    spec.py      validate, schema (offline)
    plan.py      plan
    apply.py     apply (apply_view.py: its live display and summary)
    drift.py     drift
    importer.py  import
    permissions.py  permissions (the RAM policies the tool needs)
    show.py      show (a saved plan, offline)
    emulator.py  emulator serve
    merge.py     merge (the shards' plan or drift JSON into one document)
"""

from reconciler.cli import (  # noqa: F401 - registers the commands
    apply,
    drift,
    emulator,
    importer,
    merge,
    permissions,
    plan,
    show,
    spec,
)
from reconciler.cli.options import GlobalOptions, global_options
from reconciler.cli.root import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, cli, fail, main

__all__ = [
    "EXIT_CHANGES",
    "EXIT_ERROR",
    "EXIT_OK",
    "GlobalOptions",
    "cli",
    "fail",
    "global_options",
    "main",
]
