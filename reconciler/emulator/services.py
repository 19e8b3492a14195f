"""The services the emulator serves: each module registers its actions when imported.

To add a service, append its responses module here (one line). An import error is raised:
an emulator that silently lacks a service would answer InvalidAction.NotFound and mislead.
"""

from __future__ import annotations

import importlib

SERVICES: tuple[str, ...] = (
    "reconciler.emulator.kms.responses",
    "reconciler.emulator.ram.responses",
    "reconciler.emulator.rds.responses",
    "reconciler.emulator.sts.responses",
    # Not a service: the RAM users of access keys, and the check of every call against their
    # policies (an emulator without it would let every key call anything).
    "reconciler.emulator.identity",
)


def load_services() -> None:
    for module_name in SERVICES:
        importlib.import_module(module_name)
