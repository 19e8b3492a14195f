"""Actions that restart an RDS instance without changing its encryption:
UpgradeDBInstanceKernelVersion and RestartDBInstance, as the SDK models shape them.

Documented (API references "UpgradeDBInstanceKernelVersion" and "RestartDBInstance"; the
"Instance state table"; docs/real-cloud.md "TDE and the key list"):
- UpgradeDBInstanceKernelVersion(DBInstanceId, TargetMinorVersion, UpgradeTime Immediate |
  MaintainTime | SpecifyTime, SwitchTime) answers DBInstanceName, TargetMinorVersion, TaskId.
  A PostgreSQL instance must use cloud disks (local SSDs upgrade by a restart). No
  TargetMinorVersion: the newest. Codes: 400 ``InvalidMinorVerison.NotFound`` (sic),
  ``InvalidMinorVersionLowerThanInstance``, ``InvalidMinorVersionAlreadyLatest``,
  ``EngineNotSupported``, ``IncorrectDBInstanceState``.
- ``EngineVersionUpgrading``: "the database engine version of the instance is being upgraded".

Emulator choices (docs/emulator.md, "RDS: TDE"):
- PostgreSQL only (another engine: 400 ``EngineNotSupported``); local SSDs: 400
  ``Unsupported.StorageType`` (guess). Known targets: ``rds_postgres_<major>00_<date>`` with
  the instance's major version and a date of ``kernel.RELEASES``; a target equal to the
  current version is ``InvalidMinorVersionLowerThanInstance``.
- The upgrade is a restart: ``EngineVersionUpgrading`` for ``--restart-seconds`` from its start
  (now; the next opening of the MaintainTime window; or SwitchTime), then ``Running`` on the
  target, which ``CurrentKernelVersion`` shows from the end on. A second request before the
  first has started replaces it. The TaskId is not listed by DescribeHistoryTasks.
- RestartDBInstance: ``Rebooting`` for ``--restart-seconds`` (documented status; duration
  chosen); ``NodeId`` is SQL Server's and refused.
- Both need a Running, unlocked instance (403 ``IncorrectDBInstanceState``,
  ``IncorrectDBInstanceLockMode``). A restart while the instance's TDE key is lost locks it
  (``tde_loss``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.emulator.dispatch import RequestContext
from reconciler.emulator.errors import ApiError
from reconciler.emulator.rds import kernel, models, rules
from reconciler.emulator.rds.models import RdsWorld

UPGRADE_TIMES = ("Immediate", "MaintainTime", "SpecifyTime")
REQUIRED = {
    "UpgradeDBInstanceKernelVersion": ("DBInstanceId",),
    "RestartDBInstance": ("DBInstanceId",),
}


def _error(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def _check_can_restart(world: RdsWorld, doc: dict[str, Any]) -> None:
    rules.check_not_locked(models.lock_of(world, doc)[0])
    rules.check_running(models.status_of(doc, world.now))


def _target(doc: dict[str, Any], requested: str | None) -> str:
    """The minor version to upgrade to, after the documented checks."""
    current = doc.get("CurrentKernelVersion") or ""
    newest = kernel.newest(doc["Engine"], doc["EngineVersion"])
    if not requested:
        if current == newest:
            raise _error(
                "InvalidMinorVersionAlreadyLatest",
                "Minor version for instance is already the latest version.",
            )
        return newest
    target = kernel.target_for(requested, doc["EngineVersion"])
    if target is None:
        raise _error("InvalidMinorVerison.NotFound", "Specify minor version not founud.")
    if (kernel.release_of(target) or "") <= (kernel.release_of(current) or ""):
        raise _error(
            "InvalidMinorVersionLowerThanInstance",
            "Specify minor version cannot not be lower than current instance.",
        )
    return target


def _start(world: RdsWorld, doc: dict[str, Any], when: str, switch_time: str | None) -> float:
    if when not in UPGRADE_TIMES:
        raise rules.invalid(f"UpgradeTime must be one of {', '.join(UPGRADE_TIMES)}.")
    if when == "MaintainTime":
        return rules.window_start_at_or_after(world.now, doc["MaintainTime"])
    if when == "Immediate":
        return world.now
    if switch_time is None:
        raise rules.invalid("UpgradeTime=SpecifyTime needs SwitchTime.")
    try:
        moment = datetime.strptime(switch_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise rules.invalid("SwitchTime must be yyyy-MM-ddTHH:mm:ssZ (UTC).") from None
    return max(world.now, moment.timestamp())


def request_upgrade(
    world: RdsWorld, doc: dict[str, Any], target: str | None, when: str, switch_time: str | None
) -> dict[str, Any]:
    """The instance document with its minor version upgrade scheduled (see the module)."""
    if doc["Engine"] != rules.ENGINE:
        raise _error("EngineNotSupported", "The engine does not support the operation.")
    if doc["DBInstanceStorageType"] == "local_ssd":
        raise rules.invalid(
            "A minor version upgrade needs cloud disks; local SSDs upgrade by a restart.",
            "Unsupported.StorageType",
        )
    start = _start(world, doc, when, switch_time)  # the request's shape first
    _check_can_restart(world, doc)
    chosen = _target(doc, target)
    upgrade = {"target": chosen, "start": start, "end": start + world.restart_seconds}
    return {**doc, "kernel_upgrade": upgrade}


def upgrade_dbinstance_kernel_version(ctx: RequestContext) -> dict[str, Any]:
    world = RdsWorld(ctx)
    doc = models.load(world, ctx.required("DBInstanceId"))
    doc = request_upgrade(
        world,
        doc,
        ctx.str_param("TargetMinorVersion"),
        ctx.str_param("UpgradeTime", "Immediate") or "Immediate",
        ctx.str_param("SwitchTime"),
    )
    models.save(world, doc)
    return {
        "DBInstanceName": doc["DBInstanceId"],
        "TargetMinorVersion": doc["kernel_upgrade"]["target"],
        "TaskId": str(400_000_000 + ctx.next_serial("rds_kernel_upgrade")),
    }


def restart_dbinstance(ctx: RequestContext) -> dict[str, Any]:
    world = RdsWorld(ctx)
    doc = models.load(world, ctx.required("DBInstanceId"))
    if ctx.str_param("NodeId") is not None:
        raise rules.invalid("NodeId (a SQL Server cluster node) is not emulated.")
    _check_can_restart(world, doc)
    models.save(world, models.restart(world, doc))
    return {}


ACTIONS = {
    "UpgradeDBInstanceKernelVersion": upgrade_dbinstance_kernel_version,
    "RestartDBInstance": restart_dbinstance,
}
