"""Minor engine versions of RDS instances (``CurrentKernelVersion`` of
DescribeDBInstanceAttribute, as the SDK names it). No state, no HTTP.

PostgreSQL's are ``rds_postgres_<major>00_<yyyymmdd>`` (the form of UpgradeDBInstanceKernelVersion's
``TargetMinorversion`` for PostgreSQL); a new instance runs the newest one, as the real cloud
creates it. Emulator choices (docs/emulator.md, "RDS: TDE"): the newest release date is
``NEWEST_RELEASE`` whatever the major version; other engines' minor versions are not modelled
(``""``).
"""

from __future__ import annotations

import re

NEWEST_RELEASE = "20250430"
TDE_MIN_RELEASE = "20221030"
"""PostgreSQL TDE needs minor engine version 20221030 or later ("Configure TDE")."""

_POSTGRES = re.compile(r"^rds_postgres_(\d+)00_(\d{8})$")


def newest(engine: str, engine_version: str) -> str:
    """The minor engine version a new instance of ``engine`` ``engine_version`` gets."""
    if engine != "PostgreSQL":
        return ""
    major = str(engine_version).split(".")[0]
    return f"rds_postgres_{major}00_{NEWEST_RELEASE}"


def release_of(kernel_version: str) -> str | None:
    """The release date (``yyyymmdd``) of a PostgreSQL minor engine version, or None."""
    match = _POSTGRES.match(kernel_version or "")
    return match.group(2) if match else None


def is_valid(kernel_version: str) -> bool:
    return release_of(kernel_version) is not None


# --- issue 19: the releases UpgradeDBInstanceKernelVersion knows, and TDE's major version ------

RELEASES = ("20220830", "20221030", "20230830", "20240830", NEWEST_RELEASE)
"""The PostgreSQL minor releases the emulator offers as an upgrade target (chosen dates; the
real list is "Release notes for minor engine versions of ApsaraDB RDS for PostgreSQL"). A seed
may pin any well-formed version (a world's history)."""
TDE_MIN_MAJOR = 10
"""PostgreSQL TDE needs PostgreSQL 10 or later ("Configure TDE")."""


def major_of(engine_version: str) -> int | None:
    """``16.0`` -> 16, ``9.4`` -> 9; None when it is not a version number."""
    head = str(engine_version).split(".")[0]
    return int(head) if head.isdigit() else None


def target_for(kernel_version: str, engine_version: str) -> str | None:
    """The known release ``kernel_version`` names for an instance of ``engine_version``
    (its major version, one of :data:`RELEASES`), else None."""
    match = _POSTGRES.match(kernel_version or "")
    if not match or match.group(1) != str(major_of(engine_version)):
        return None
    return kernel_version if match.group(2) in RELEASES else None
