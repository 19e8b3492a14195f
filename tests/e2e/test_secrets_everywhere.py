"""No output, log, journal, plan file, drift report (every format), import file or error
message carries the access key secret, the security token or a request signature: for every
command, on success and on failure, with every debug switch (DEBUG=sdk, DEBUG=*, Python
logging at DEBUG), with the credentials from the environment and from a --profile file. And
every failure shows the cloud's error code and request id.

The real CLI runs in a subprocess (the SDK's debug dump goes to the process's own stderr)
against an emulator whose secret is a known, distinctive value, through a recording proxy
that keeps every signature and token the emulator received: the test looks for the actual
values, not only for their patterns. 13 runs, about 30 s."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.test_no_secrets_in_output import LEAK_PATTERNS, Recorder, start_proxy

REPO = Path(__file__).resolve().parents[2]
SPECS = str(REPO / "specs")
KEY_ID = "emulator"
SECRET = "Kn0wn-Secret-Value-For-Tests-7fA9"
"""The account's own secret: the runs use STS credentials minted from it, and neither may leak."""
REQUEST_ID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}")
LOGGING_DEBUG = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG);"
    "from reconciler.cli import main; sys.argv[0] = 'reconciler'; main()"
)


@dataclass
class Cloud:
    emulator: Emulator
    endpoint: str  # the recording proxy in front of it
    recorder: Recorder
    creds: world.StsCredentials
    """What the runs hold, as a CI job does: an assumed role's key, secret and token."""


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    recorder = Recorder()
    settings = Settings(restart_seconds=0, access_key_id=KEY_ID, access_key_secret=SECRET)
    with Emulator(":memory:", settings=settings, seed="demo") as emu:
        proxy = start_proxy(emu.endpoint, recorder)
        try:
            creds = world.sts_credentials(emu, root_secret=SECRET)
            yield Cloud(emu, f"127.0.0.1:{proxy.server_address[1]}", recorder, creds)
        finally:
            proxy.shutdown()
            proxy.server_close()


def run(
    folder: Path, cloud: Cloud, *args: str, debug: str, source: str = "env", secret: str = ""
) -> subprocess.CompletedProcess[str]:
    """The CLI in `folder`, credentials from the environment or a --profile file."""
    creds = cloud.creds
    secret = secret or creds.access_key_secret
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "RECONCILER_"))
    }
    env.update({"HOME": str(folder), "CI": "1", "DEBUG": "" if debug == "logging" else debug})
    profile: list[str] = []
    if source == "env":
        env.update(
            {
                "ALIBABA_CLOUD_ACCESS_KEY_ID": creds.access_key_id,
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
                "ALIBABA_CLOUD_SECURITY_TOKEN": creds.security_token,
            }
        )
    else:  # the aliyun CLI's config file, an STS profile
        config = folder / ".aliyun" / "config.json"
        config.parent.mkdir(exist_ok=True)
        config.write_text(
            json.dumps(
                {
                    "current": "ci",
                    "profiles": [
                        {
                            "name": "ci",
                            "mode": "StsToken",
                            "access_key_id": creds.access_key_id,
                            "access_key_secret": secret,
                            "sts_token": creds.security_token,
                            "region_id": "cn-hangzhou",
                        }
                    ],
                }
            )
        )
        profile = ["--profile", "ci"]
    entry = ["-c", LOGGING_DEBUG] if debug == "logging" else ["-m", "reconciler"]
    return subprocess.run(
        [sys.executable, *entry, "--endpoint", cloud.endpoint, *profile, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=folder,
    )


def assert_nothing_leaks(cloud: Cloud, folder: Path, result: subprocess.CompletedProcess[str]):  # type: ignore[no-untyped-def]
    """Neither stream nor any file the run left in its folder (plan, reports, journal, import)
    holds the secret, the token, a signature the emulator received, or a signing header."""
    token, secret = cloud.creds.security_token, cloud.creds.access_key_secret
    assert token in cloud.recorder.values, "the token was really sent"
    secrets = (SECRET, secret, token, *cloud.recorder.values, *LEAK_PATTERNS)
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    for path in folder.rglob("*"):
        if path.is_file() and ".aliyun" not in path.parts:
            texts[str(path.relative_to(folder))] = path.read_text(errors="replace")
    for where, text in texts.items():
        for value in secrets:
            assert value not in text, f"{value[:12]}... in {where}"
    return texts


def fault(cloud: Cloud, action: str, code: str, status: int, **extra: object) -> None:
    world.admin(
        cloud.emulator.endpoint,
        "POST",
        "faults",
        {"action": action, "code": code, "status": status, **extra},
    )


def assert_code_and_request_id(text: str, code: str) -> None:
    assert code in text, text
    assert REQUEST_ID.search(text), f"no request id in: {text}"


@pytest.mark.parametrize(
    ("debug", "source"),
    [("sdk", "env"), ("logging", "env"), ("*", "profile"), ("sdk", "profile")],
)
def test_plan_files_and_every_output_format(
    cloud: Cloud, tmp_path: Path, debug: str, source: str
) -> None:
    result = run(tmp_path, cloud, "plan", SPECS, "-o", "plan.json", debug=debug,
                 source=source)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for fmt in ("json", "markdown"):
        again = run(tmp_path, cloud, "plan", SPECS, "--format", fmt, debug=debug,
                    source=source)  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert_nothing_leaks(cloud, tmp_path, again)
    texts = assert_nothing_leaks(cloud, tmp_path, result)
    assert "plan.json" in texts


CONSENT = ("--auto-approve", "--allow-restart", "--allow-irreversible")
"""The demo fleet restarts instances and enables TDE (one-way)."""


def test_apply_its_journal_and_the_json_result(cloud: Cloud, tmp_path: Path) -> None:
    result = run(tmp_path, cloud, "apply", SPECS, *CONSENT,
                 "--format", "json", debug="sdk")  # fmt: skip
    assert result.returncode == 0, result.stderr
    texts = assert_nothing_leaks(cloud, tmp_path, result)
    assert any(name.endswith("journal.jsonl") for name in texts)


def test_a_failed_apply_shows_the_code_and_request_id_and_nothing_secret(
    cloud: Cloud, tmp_path: Path
) -> None:
    fault(cloud, "ModifyDBInstanceConfig", "InvalidParameter", 400, times=100)
    result = run(tmp_path, cloud, "apply", SPECS, *CONSENT,
                 debug="logging", source="profile")  # fmt: skip
    assert result.returncode == 1
    assert_code_and_request_id(result.stdout, "InvalidParameter")
    assert_nothing_leaks(cloud, tmp_path, result)


def test_drift_reports_in_every_format(cloud: Cloud, tmp_path: Path) -> None:
    outs = ["report.json", "report.md", "report.xml", "report.sarif", "report.html", "report.txt"]
    args = [arg for name in outs for arg in ("-o", name)]
    result = run(tmp_path, cloud, "drift", SPECS, *args, debug="sdk")
    assert result.returncode == 2, result.stderr  # the demo world drifts from specs/
    texts = assert_nothing_leaks(cloud, tmp_path, result)
    assert set(outs) <= set(texts)


def test_import_files(cloud: Cloud, tmp_path: Path) -> None:
    result = run(tmp_path, cloud, "import", "-o", "imported", debug="logging")
    assert result.returncode == 0, result.stderr
    texts = assert_nothing_leaks(cloud, tmp_path, result)
    assert any(name.startswith("imported") for name in texts)


@pytest.mark.parametrize(
    ("command", "action", "code", "status", "extra"),
    [
        ("plan", "DescribeDBInstanceEncryptionKey", "Forbidden.RAM", 403, {"times": 100}),
        ("drift", "DescribeDBInstances", "Throttling.User", 400, {"rate": 1.0}),
    ],
)
def test_failed_reads_show_the_code_and_request_id_and_nothing_secret(
    cloud: Cloud, tmp_path: Path, command: str, action: str, code: str, status: int, extra: dict
) -> None:
    fault(cloud, action, code, status, **extra)
    result = run(tmp_path, cloud, command, SPECS, "-o", "out.json", debug="sdk")
    assert result.returncode == 1
    assert_code_and_request_id(result.stderr, code)
    assert not (tmp_path / "out.json").exists()
    assert_nothing_leaks(cloud, tmp_path, result)


@pytest.mark.parametrize("source", ["env", "profile"])
def test_a_wrong_secret_shows_the_code_and_request_id_and_neither_secret(
    cloud: Cloud, tmp_path: Path, source: str
) -> None:
    wrong = "a-wrong-secret-value-0815"
    result = run(tmp_path, cloud, "plan", SPECS, debug="sdk", source=source,
                 secret=wrong)  # fmt: skip
    assert result.returncode == 1
    assert_code_and_request_id(result.stderr, "SignatureDoesNotMatch")
    texts = assert_nothing_leaks(cloud, tmp_path, result)
    assert all(wrong not in text for text in texts.values())
