"""`plan` against an endpoint that is wrong or unreachable: one line naming the endpoint, the
cause and the fix, quickly (no 10 s of retries where retrying cannot help)."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from tests.e2e.conftest import ENV, run_cli

SPECS = str(Path(__file__).resolve().parents[2] / "specs")


def timed_plan(*args: str) -> tuple[int, str, float]:
    started = time.monotonic()
    run = run_cli(*args, "plan", SPECS)
    return run.exit_code, run.stderr, time.monotonic() - started


def error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_port_out_of_range_is_a_usage_error_before_any_call() -> None:
    code, stderr, seconds = timed_plan("--endpoint", "127.0.0.1:99999")
    assert code == 1
    line = error_line(stderr)
    assert "port 99999 is out of range: use 1 to 65535" in line
    assert "e.g. --endpoint 127.0.0.1:8080" in line
    assert "connection" not in line
    assert seconds < 2.0


def test_bad_endpoint_from_the_environment_is_the_same_usage_error() -> None:
    result = CliRunner().invoke(
        cli,
        ["plan", SPECS],
        env={**ENV, "RECONCILER_ENDPOINT": "::1:8080"},
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "put an IPv6 address in brackets" in error_line(result.stderr)


def test_connection_refused_fails_fast_naming_the_endpoint_and_the_fix() -> None:
    code, stderr, seconds = timed_plan("--endpoint", "127.0.0.1:1")
    assert code == 1
    line = error_line(stderr)
    assert "cannot connect to 127.0.0.1:1: connection refused" in line
    assert "--endpoint" in line and "running" in line
    assert seconds < 3.0, f"took {seconds:.1f} s"


def test_unresolvable_host_fails_fast_naming_it() -> None:
    code, stderr, seconds = timed_plan("--endpoint", "no-such-host.invalid:8080")
    assert code == 1
    line = error_line(stderr)
    assert "no-such-host.invalid:8080" in line and "does not resolve" in line
    assert seconds < 3.0, f"took {seconds:.1f} s"


def test_ipv6_loopback_endpoint_is_accepted_and_refused_quickly() -> None:
    code, stderr, seconds = timed_plan("--endpoint", "[::1]:1")
    assert code == 1
    line = error_line(stderr)
    assert "[::1]:1" in line and ("connection refused" in line or "cannot connect" in line)
    assert seconds < 3.0
