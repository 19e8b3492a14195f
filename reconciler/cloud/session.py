"""Open the cloud a command talks to: the real one, an `--endpoint`, or an in-process emulator.

Shared by every command that reads or writes the cloud (plan, apply, drift, import), so the
global options mean the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def open_cloud(target: Target) -> Iterator[CloudClients]:
    """Yield ready clients; an in-process emulator lives as long as the `with` block."""
    limiter = RateLimiter(
        dict(target.rate_limits) if target.rate_limits is not None else dict(DEFAULT_LIMITS)
    )
    if not target.emulator:
        yield CloudClients(
            CloudSettings(
                endpoint=target.endpoint, profile=target.profile, parallelism=target.parallelism
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
            ),
            limiter=limiter,
        )
    finally:
        emulator.stop()


def start_emulator(state_file: str):  # type: ignore[no-untyped-def] - emulator type is lazy
    """Start the emulator on a free loopback port, state in `state_file` (its directory is
    created), seeded with the demo world when the file is new."""
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
    is_new = not path.exists() or path.stat().st_size == 0
    try:
        emulator = Emulator(
            str(path), host="127.0.0.1", port=0, seed=EMULATOR_SEED if is_new else None
        )
        emulator.start()
    except ReconcilerError:
        raise
    except Exception as error:
        if is_new:
            path.unlink(missing_ok=True)  # do not leave a half-seeded world behind
        raise ReconcilerError(
            f"cannot start the emulator with state {state_file}: {error} "
            "(delete the file to start from a fresh demo world)"
        ) from error
    return emulator
