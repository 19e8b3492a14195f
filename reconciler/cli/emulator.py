"""`reconciler emulator serve`: the local emulator of the RDS, KMS and RAM APIs."""

from __future__ import annotations

import sys

import click

from reconciler.cli.options import global_options
from reconciler.cli.root import cli, fail


@cli.group()
def emulator() -> None:
    """The local emulator of the RDS, KMS and RAM APIs (loopback only)."""


@emulator.command("serve")
@global_options(ignored=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port; 0 picks a free one.",
)
@click.option(
    "--state",
    "state_path",
    default=":memory:",
    metavar="FILE.sqlite",
    help="SQLite state file (default: in memory, lost on exit).",
)
@click.option("--seed", default=None, metavar="NAME|FILE", help="Build a world first (e.g. demo).")
@click.option(
    "--access-key-id",
    default="emulator",
    show_default=True,
    help="The account's own key: it may call anything. Other keys belong to RAM users (a "
    "seed's users:, POST /_emulator/users), whose policies decide each call.",
)
@click.option("--access-key-secret", default="emulator-secret", show_default=True)
@click.option("--account-id", default="1234567890123456", show_default=True)
@click.option(
    "--restart-seconds",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0),
    help="How long an instance restart (CONFIG_ENCRYPTING) lasts on the emulated clock.",
)
@click.option(
    "--kms-quotas/--no-kms-quotas",
    default=True,
    show_default=True,
    help="Answer past KMS's documented per-account quotas (DescribeKey 50/s, ListResourceTags "
    "300/s, CreateKey 10/s, DescribeAccountKmsStatus 1/s) with its throttling error.",
)
def emulator_serve(
    host: str,
    port: int,
    state_path: str,
    seed: str | None,
    access_key_id: str,
    access_key_secret: str,
    account_id: str,
    restart_seconds: float,
    kms_quotas: bool,
) -> None:
    """Serve the emulator until Ctrl-C. The first stdout line is the URL to use.

    The global options (--endpoint, --region, ...) are accepted and ignored: this command
    serves the cloud, it does not talk to it.
    """
    import signal
    import threading

    from reconciler.emulator.runtime import Settings
    from reconciler.emulator.seeds import SeedError
    from reconciler.emulator.server import Emulator

    settings = Settings(
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        account_id=account_id,
        restart_seconds=restart_seconds,
        kms_quotas=kms_quotas,
    )
    try:
        server = Emulator(state_path=state_path, host=host, port=port, settings=settings, seed=seed)
        url = server.start()
    except (SeedError, ValueError, OSError) as error:
        fail(str(error))
        return
    click.echo(f"emulator listening on {url}")
    sys.stdout.flush()
    stop = threading.Event()
    # Stopping is this command's normal end: Ctrl-C or SIGTERM stop the server, exit 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    click.echo("emulator stopped", err=True)
