"""Can this instance take TDE at all? ApsaraDB RDS for PostgreSQL's "Configure TDE"
(docs/real-cloud.md, "TDE and the key list"): PostgreSQL 10 or later, cloud disks, minor engine
version 20221030 or later, and every attached read-only instance likewise. Each check is an
allow-list (a version or storage type this module cannot read is refused) and returns
(code, message) with what to do next, or None. The planner and the guard at the write
(write_guards.py) share them."""

from __future__ import annotations

import re
from collections.abc import Mapping

from reconciler.core.facts import ObservedInstance
from reconciler.kinds.rds_encryption.guards import ESSD_STORAGE_TYPES, Finding
from reconciler.plan.actions import RefusalCode

MIN_MAJOR = 10
MIN_RELEASE = "20221030"
"""The first minor engine version (release date) with TDE ("Configure TDE")."""
CLOUD_DISK_STORAGE_TYPES = ESSD_STORAGE_TYPES
"""The cloud disks this tool tells apart, as disk encryption does (kinds/rds_encryption/
guards.py): ESSD and Premium ESSD. Any other type (local SSD, or one not known) is refused."""
_KERNEL = re.compile(r"^rds_postgres_(\d+)00_(\d{8})$")
"""CurrentKernelVersion of PostgreSQL, the form of UpgradeDBInstanceKernelVersion's
TargetMinorversion (docs/emulator.md, "RDS: TDE")."""


def _major(instance: ObservedInstance) -> int | None:
    head = instance.engine_version.split(".")[0]
    return int(head) if head.isdigit() else None


def upgrade_target(instance: ObservedInstance) -> str:
    """The first minor engine version with TDE for the instance's major version."""
    return f"rds_postgres_{_major(instance) or MIN_MAJOR}00_{MIN_RELEASE}"


def version_problem(instance: ObservedInstance) -> str | None:
    """Why the engine or its minor version does not take TDE; None when it does."""
    if instance.engine.lower() != "postgresql":
        return f"runs {instance.engine}; this tool manages TDE of PostgreSQL only"
    major = _major(instance)
    if major is None or major < MIN_MAJOR:
        return (
            f"runs PostgreSQL {instance.engine_version or '(version not read)'}, and TDE needs "
            f"PostgreSQL {MIN_MAJOR} or later: upgrade the major version first"
        )
    found = _KERNEL.match(instance.kernel_version)
    if found is None or found.group(2) < MIN_RELEASE:
        return (
            f"runs minor engine version {instance.kernel_version or '(not read)'}, and TDE "
            f"needs {MIN_RELEASE} or later: upgrade it to {upgrade_target(instance)} or later "
            "(UpgradeDBInstanceKernelVersion, or the console's minor engine version update)"
        )
    return None


def storage_problem(instance: ObservedInstance) -> str | None:
    if instance.storage_type.lower() in CLOUD_DISK_STORAGE_TYPES:
        return None
    return (
        f"uses {instance.storage_type or '(storage not read)'} storage, and TDE needs cloud "
        f"disks ({', '.join(sorted(CLOUD_DISK_STORAGE_TYPES))}): change the storage type first"
    )


def check_version(instance: ObservedInstance) -> Finding | None:
    if instance.engine.lower() == "postgresql" and not instance.kernel_version:
        return (
            RefusalCode.TDE_NOT_READ,
            f"the minor engine version of {instance.instance_id} (CurrentKernelVersion) was not "
            "read, so it is not assumed to take TDE. Plan again",
        )
    problem = version_problem(instance)
    if problem is None:
        return None
    return RefusalCode.TDE_UNSUPPORTED_ENGINE_VERSION, f"{instance.instance_id} {problem}"


def check_storage(instance: ObservedInstance) -> Finding | None:
    problem = storage_problem(instance)
    if problem is None:
        return None
    return RefusalCode.TDE_UNSUPPORTED_STORAGE, f"{instance.instance_id} {problem}"


def check_read_only(
    instance: ObservedInstance, read_only: Mapping[str, ObservedInstance | None]
) -> Finding | None:
    """Every read-only instance of `instance` meets the same prerequisites; `read_only` maps
    each id to its facts, None where they were not read (refused: nothing is assumed)."""
    problems = []
    for ro_id in instance.read_only_ids:
        facts = read_only.get(ro_id)
        if facts is None or not facts.kernel_version:
            problems.append(f"{ro_id}: its engine version and storage were not read")
            continue
        found = [p for p in (version_problem(facts), storage_problem(facts)) if p]
        problems.extend(f"{ro_id} {p}" for p in found)
    if not problems:
        return None
    return (
        RefusalCode.TDE_READ_ONLY_NOT_READY,
        f"every read-only instance of {instance.instance_id} must meet TDE's prerequisites as "
        f"well, and {'; '.join(problems)}. Fix them (or plan again where they were not read) "
        "first",
    )


def instance_problems(
    instance: ObservedInstance, read_only: Mapping[str, ObservedInstance | None]
) -> list[Finding]:
    """Version, storage and read-only instances: the conditions for TDE at all."""
    found = [check_version(instance), check_storage(instance), check_read_only(instance, read_only)]
    return [f for f in found if f is not None]
