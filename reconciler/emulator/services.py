"""The services the emulator serves: each module registers its actions when imported.

To add a service, append its responses module here (one line). A module that cannot be
imported because a part of the emulator it needs does not exist (yet) is skipped with a
warning, so the emulator runs while a service is being built; any other import error is raised.
"""

from __future__ import annotations

import importlib
import logging

SERVICES: tuple[str, ...] = (
    "reconciler.emulator.kms.responses",
    "reconciler.emulator.ram.responses",
    "reconciler.emulator.rds.responses",
)
_LOG = logging.getLogger(__name__)


def load_services() -> None:
    for module_name in SERVICES:
        try:
            importlib.import_module(module_name)
        except ImportError as error:
            if not (error.name or "").startswith("reconciler.emulator"):
                raise
            _LOG.warning("emulator service %s not loaded: %s", module_name, error)
