"""Open the cloud a command talks to: the real one, an `--endpoint`, or an in-process emulator.

Shared by every command that reads or writes the cloud (plan, apply, drift, import), so the
global options mean the same everywhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from reconciler.cloud.clients import (
    EMULATOR_ACCESS_KEY_ID,
    EMULATOR_ACCESS_KEY_SECRET,
    CloudClients,
    CloudSettings,
    StaticCredentials,
)
from reconciler.cloud.ratelimit import DEFAULT_LIMITS, RateLimiter
from reconciler.errors import ReconcilerError

DEFAULT_EMULATOR_STATE = ".reconciler/emulator.sqlite"
EMULATOR_SEED = "demo"


@dataclass(frozen=True)
class Target:
    """What the global options ask for."""

    endpoint: str | None = None
    profile: str | None = None
    emulator: bool = False
    emulator_state: str = DEFAULT_EMULATOR_STATE
    parallelism: int = 16
    rate_limits: tuple[tuple[str, float], ...] | None = None
    """Per-action limits (ACTION or service:Action -> calls per second); None: the defaults."""
    processes: int | None = 1
    """CloudSettings.processes (`--processes`; None: one per account-region and core)."""


@contextmanager
def open_cloud(target: Target) -> Iterator[CloudClients]:
    """Yield ready clients; an in-process emulator lives as long as the `with` block."""
    limiter = RateLimiter(
        dict(target.rate_limits) if target.rate_limits is not None else dict(DEFAULT_LIMITS)
    )
    if not target.emulator:
        yield CloudClients(
            CloudSettings(
                endpoint=target.endpoint,
                profile=target.profile,
                parallelism=target.parallelism,
                processes=target.processes,
            ),
            limiter=limiter,
        )
        return
    emulator = start_emulator(target.emulator_state)
    try:
        yield CloudClients(
            CloudSettings(
                endpoint=emulator.endpoint,
                credentials=StaticCredentials(EMULATOR_ACCESS_KEY_ID, EMULATOR_ACCESS_KEY_SECRET),
                parallelism=target.parallelism,
                processes=target.processes,
            ),
            limiter=limiter,
        )
    finally:
        emulator.stop()


def start_emulator(state_file: str):  # type: ignore[no-untyped-def] - emulator type is lazy
    """Start the emulator on a free loopback port, state in `state_file` (its directory is
    created), seeded with the demo world when the file is new.

    Several processes may start on the same new file at once (parallel CI jobs, two
    terminals): creating and seeding happen under an exclusive lock on a sibling
    `<state_file>.lock`, so one seeds and the others open the seeded world. A file this process
    did not create is never deleted, and a file that is not an emulator state file (it may be
    the user's YAML) is reported, not offered for deletion."""
    try:
        from reconciler.emulator.server import Emulator
    except ImportError as error:  # pragma: no cover - only while the emulator is being built
        raise ReconcilerError(f"the emulator is not available: {error}") from error

    path = Path(state_file)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReconcilerError(
            f"cannot create the folder of --emulator-state {state_file}: {error.strerror}"
        ) from error
    with _exclusive(path.with_name(path.name + ".lock"), state_file):
        created = not path.exists()
        is_new = created or path.stat().st_size == 0
        try:
            emulator = Emulator(
                str(path), host="127.0.0.1", port=0, seed=EMULATOR_SEED if is_new else None
            )
        except Exception as error:
            if created:  # ours, and half-built: do not leave it behind
                _remove_state(path)
            raise _state_error(state_file, error, created) from error
    try:
        emulator.start()
    except OSError as error:
        emulator.stop()
        raise ReconcilerError(f"cannot start the emulator: {error.strerror or error}") from error
    return emulator


@contextmanager
def _exclusive(lock_path: Path, state_file: str) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path` (created if missing, left in place: removing
    it would race with a process that just opened it)."""
    import fcntl

    try:
        handle = open(lock_path, "a")  # noqa: SIM115 - held across the yield
    except OSError as error:
        raise ReconcilerError(
            f"cannot lock --emulator-state {state_file} ({lock_path}): {error.strerror}"
        ) from error
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # releases the lock


def _remove_state(path: Path) -> None:
    for name in (path.name, path.name + "-wal", path.name + "-shm", path.name + "-journal"):
        with suppress(OSError):
            (path.parent / name).unlink()


def _state_error(state_file: str, error: Exception, created: bool) -> ReconcilerError:
    if isinstance(error, ReconcilerError):
        return error
    detail = " ".join(str(error).split()) or type(error).__name__
    if created:
        return ReconcilerError(
            f"cannot build the demo world in --emulator-state {state_file}: {detail}"
        )
    if isinstance(error, sqlite3.DatabaseError):
        return ReconcilerError(
            f"--emulator-state {state_file} is not an emulator state file ({detail}); "
            "name a new file with --emulator-state"
        )
    return ReconcilerError(f"cannot open --emulator-state {state_file}: {detail}")
