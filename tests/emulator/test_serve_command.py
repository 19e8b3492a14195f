"""`reconciler emulator serve` as a user runs it (a real process): a bad --state or --host is one
line on stderr and exit 1, `--host ::1` serves IPv6, and clients that vanish mid-request leave
no traceback on stderr."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulator import raw_http as rh
from tests.emulator import wire_client as wc


def _serve_args(*extra: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", "emulator", "serve", *extra]


def _refused(*extra: str) -> str:
    done = subprocess.run(_serve_args(*extra), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


class Served:
    def __init__(self, *extra: str) -> None:
        self.process = subprocess.Popen(
            _serve_args(*extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.first_line = self.process.stdout.readline().strip()
        self.url = self.first_line.rsplit(" ", 1)[-1]
        self.endpoint = self.url.removeprefix("http://")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=30)
        return err


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served("--port", "0")
    assert server.first_line.startswith("emulator listening on http://127.0.0.1:")
    yield server
    if server.process.poll() is None:
        server.stop()


def test_state_on_a_directory_is_one_line(tmp_path: Path) -> None:
    line = _refused("--state", str(tmp_path))
    assert line.startswith("Error: ") and "directory" in line


def test_state_on_a_yaml_file_is_one_line_and_keeps_the_file(tmp_path: Path) -> None:
    spec = tmp_path / "main.yaml"
    spec.write_text("defaults:\n  region: cn-hangzhou\n")
    line = _refused("--state", str(spec))
    assert "not an emulator state file" in line and "delet" not in line.lower()
    assert spec.read_text() == "defaults:\n  region: cn-hangzhou\n"
    assert [p.name for p in tmp_path.iterdir()] == ["main.yaml"]


def test_state_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    line = _refused("--state", str(tmp_path / "nope" / "s.sqlite"))
    assert "does not exist" in line


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.invalid"])
def test_non_loopback_host_is_one_line(host: str) -> None:
    assert "loopback" in _refused("--host", host)


@pytest.mark.parametrize("seconds", ["inf", "nan", "1e300"])
def test_unusable_restart_seconds_is_one_line(seconds: str) -> None:
    assert "restart seconds" in _refused("--restart-seconds", seconds)


def test_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        line = _refused("--port", str(taken.getsockname()[1]))
    assert "cannot listen on 127.0.0.1:" in line


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_serve_on_ipv6_loopback() -> None:
    server = Served("--host", "::1")
    try:
        assert server.first_line.startswith("emulator listening on http://[::1]:"), (
            server.first_line
        )
        status, body = wc.call(server.endpoint, "kms", "ListKeys")
        assert status == 200, body
        answer = rh.exchange(
            server.endpoint,
            rh.request_bytes("GET", "/_emulator/calls", server.endpoint, []),
        )
        assert answer.json()["total"] == 1
    finally:
        err = server.stop()
    assert "Traceback" not in err


def test_vanishing_clients_leave_no_traceback(served: Served) -> None:
    endpoint = served.endpoint
    # 1. reset while the server reads the body
    sock = rh.open_socket(endpoint)
    sock.sendall(rh.request_bytes("POST", "/", endpoint, [("Content-Length", "1000")]) + b"abc")
    time.sleep(0.1)
    rh.reset(sock)
    # 2. reset while the server waits to write the answer (latency holds the answer back)
    latency = json.dumps({"ms": 300}).encode()
    rh.exchange(
        endpoint,
        rh.request_bytes(
            "POST",
            "/_emulator/latency",
            endpoint,
            [("Content-Length", str(len(latency)))],
            latency,
        ),
    )
    for _ in range(3):
        headers = wc.sign_v3("POST", endpoint, "ListKeys", wc.VERSIONS["kms"], {})
        sock = rh.open_socket(endpoint)
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"POST / HTTP/1.1\r\n{lines}\r\n".encode())
        time.sleep(0.05)
        rh.reset(sock)
    time.sleep(0.6)
    # 3. reset in the middle of the request line and headers
    sock = rh.open_socket(endpoint)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half")
    time.sleep(0.05)
    rh.reset(sock)
    # still serving
    zero = b'{"ms": 0}'
    rh.exchange(
        endpoint,
        rh.request_bytes(
            "POST", "/_emulator/latency", endpoint, [("Content-Length", str(len(zero)))], zero
        ),
    )
    assert wc.call(endpoint, "kms", "ListKeys")[0] == 200
    err = served.stop()
    assert "Traceback" not in err, err
    assert "ConnectionResetError" not in err and "BrokenPipeError" not in err, err
    assert err.strip().splitlines() == ["emulator stopped"], err
