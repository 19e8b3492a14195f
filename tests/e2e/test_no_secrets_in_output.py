"""`DEBUG=sdk` (the SDK's own debug switch) must not make the CLI print a secret, a security
token or a signature, on success or failure (README, "In CI").

The real CLI runs in a subprocess (the SDK's debug dump goes to the process's own stderr),
against the emulator through a small recording proxy that keeps every signature and token the
emulator received, so the test looks for the actual values, not only for their patterns."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
TOKEN = "CAIS-known-security-token-4711"
SECRET = "emulator-secret"
SIGNATURE = re.compile(r"Signature=([^,&\s]+)")
LEAK_PATTERNS = ("Signature=", "x-acs-security-token", "ACS3-HMAC-SHA256 Credential")


@dataclass
class Recorder:
    """Every signature and token a request carried on its way to the emulator."""

    values: set[str] = field(default_factory=set)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, headers: dict[str, str]) -> None:
        with self.lock:
            self.requests += 1
            for match in SIGNATURE.finditer(headers.get("authorization", "")):
                self.values.add(match.group(1))
            if headers.get("x-acs-security-token"):
                self.values.add(headers["x-acs-security-token"])


def start_proxy(target: str, recorder: Recorder) -> ThreadingHTTPServer:
    host, port = target.rsplit(":", 1)

    class Forward(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            recorder.record({k.lower(): v for k, v in self.headers.items()})
            upstream = http.client.HTTPConnection(host, int(port), timeout=30)
            upstream.putrequest("POST", self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                upstream.putheader(name, value)  # Host included: it is signed
            upstream.endheaders(body)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "connection", "date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            upstream.close()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def proxied_demo() -> Iterator[tuple[str, Recorder, world.StsCredentials]]:
    """The demo world behind a recording proxy, and STS credentials minted from the account's
    key, as a CI job holds them."""
    recorder = Recorder()
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed="demo") as emu:
        proxy = start_proxy(emu.endpoint, recorder)
        creds = world.sts_credentials(emu)
        try:
            yield f"127.0.0.1:{proxy.server_address[1]}", recorder, creds
        finally:
            proxy.shutdown()
            proxy.server_close()


# The CLI with Python logging set to DEBUG first, as a wrapper script or a plugin might do:
# urllib3 then logs every request line.
LOGGING_DEBUG = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG);"
    "from reconciler.cli import main; sys.argv[0] = 'reconciler'; main()"
)


def run_cli(
    tmp_path: Path,
    endpoint: str,
    secret: str,
    debug: str,
    *,
    logging_debug: bool = False,
    creds: world.StsCredentials | None = None,
) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "RECONCILER_"))
    }
    env.update(
        {
            "HOME": str(tmp_path),
            "CI": "1",
            "DEBUG": debug,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": creds.access_key_id if creds else "emulator",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
            "ALIBABA_CLOUD_SECURITY_TOKEN": creds.security_token if creds else TOKEN,
        }
    )
    return subprocess.run(
        [
            sys.executable,
            *(["-c", LOGGING_DEBUG] if logging_debug else ["-m", "reconciler"]),
            "--endpoint",
            endpoint,
            "plan",
            SPECS,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )


def assert_no_leak(result: subprocess.CompletedProcess, *values: str) -> None:
    for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        for value in (*LEAK_PATTERNS, *values):
            assert value not in text, f"{value!r} printed on {stream}"


@pytest.mark.parametrize(
    ("debug", "logging_debug"), [("sdk", False), ("SDK", False), ("*", False), ("sdk", True)]
)
def test_debug_sdk_prints_no_secret_on_success(
    tmp_path: Path,
    proxied_demo: tuple[str, Recorder, world.StsCredentials],
    debug: str,
    logging_debug: bool,
) -> None:
    endpoint, recorder, creds = proxied_demo
    secret = creds.access_key_secret
    result = run_cli(tmp_path, endpoint, secret, debug, logging_debug=logging_debug, creds=creds)
    assert result.returncode == 0, result.stderr
    if logging_debug:
        assert "urllib3.connectionpool" in result.stderr, "the HTTP library did log"
    assert "+ create kms_key.rds-prod" in result.stdout
    token = creds.security_token
    assert recorder.requests > 5 and token in recorder.values, "the token was really sent"
    assert_no_leak(result, SECRET, creds.access_key_secret, token, *recorder.values)


def test_debug_sdk_prints_no_secret_when_the_signature_is_wrong(
    tmp_path: Path, proxied_demo: tuple[str, Recorder, world.StsCredentials]
) -> None:
    endpoint, recorder, creds = proxied_demo
    wrong = "a-wrong-secret-value-0815"
    result = run_cli(tmp_path, endpoint, wrong, "sdk", creds=creds)
    assert result.returncode == 1
    assert "SignatureDoesNotMatch" in result.stderr
    assert len(recorder.values) >= 2, "a signature and the token were recorded"
    assert_no_leak(result, wrong, *recorder.values)


def test_debug_sdk_prints_no_secret_when_nothing_answers(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "127.0.0.1:1", SECRET, "sdk")
    assert result.returncode == 1
    assert "127.0.0.1:1" in result.stderr and "connection refused" in result.stderr
    assert_no_leak(result, SECRET)
