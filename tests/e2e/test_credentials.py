"""Credentials through the CLI, against the emulator behind a recording proxy (which counts
every request, signed correctly or not): the chain (environment, profile file, a profile named
by ALIBABA_CLOUD_PROFILE), --profile winning over the environment, STS tokens, a partial OIDC
environment refused naming what is missing, missing credentials explained; and a credentials
error, ours or the cloud's, never retried."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.e2e import world
from tests.e2e.test_no_secrets_in_output import Recorder, start_proxy

SECRET = "Cred-Test-Secret-Value-1234"
ONE_INSTANCE = {
    "version": 1,
    "defaults": {"region": "cn-hangzhou"},
    "instances": {"pgm-bp1gp00000000002": {"encryption": {"key": "service"}}},
}
FIRST_READS = 5
"""The reads a plan of ONE_INSTANCE starts with (service key, list, tasks, KMS status...):
a run refused by the cloud sends each at most once."""


@contextmanager
def _proxied_emulator() -> Iterator[tuple[Emulator, str, Recorder]]:
    recorder = Recorder()
    settings = Settings(restart_seconds=0, access_key_id="emulator", access_key_secret=SECRET)
    with Emulator(":memory:", settings=settings, seed="demo") as emu:
        proxy = start_proxy(emu.endpoint, recorder)
        try:
            yield emu, f"127.0.0.1:{proxy.server_address[1]}", recorder
        finally:
            proxy.shutdown()
            proxy.server_close()


@pytest.fixture
def proxied() -> Iterator[tuple[str, Recorder]]:
    with _proxied_emulator() as (_emu, endpoint, recorder):
        yield endpoint, recorder


@pytest.fixture
def spec(tmp_path: Path) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(ONE_INSTANCE))
    return str(path)


def ini(tmp_path: Path, **profiles: dict[str, str]) -> str:
    """An alibabacloud credentials file (ALIBABA_CLOUD_CREDENTIALS_FILE) with these profiles."""
    lines = []
    for name, fields in profiles.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {v}" for k, v in fields.items()]
    path = tmp_path / "credentials.ini"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def plan(tmp_path: Path, endpoint: str, spec: str, *extra: str, **env: str | None):  # type: ignore[no-untyped-def]
    base: dict[str, str | None] = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": None,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None,
        "ALIBABA_CLOUD_SECURITY_TOKEN": None,
        "ALIBABA_CLOUD_PROFILE": None,
        "ALIBABA_CLOUD_ROLE_ARN": None,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": None,
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": None,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
        "ALIBABA_CLOUD_CREDENTIALS_FILE": str(tmp_path / "none.ini"),
        "HOME": str(tmp_path),
        "CI": "1",
    }
    base.update(env)
    return CliRunner().invoke(cli, ["--endpoint", endpoint, *extra, "plan", spec], env=base)


AK = {"type": "access_key", "access_key_id": "emulator", "access_key_secret": SECRET}


def test_the_environment_with_an_sts_token(tmp_path: Path, spec: str) -> None:
    """STS credentials a CI job holds (a RAM user's assumed role, minted by the emulator's
    STS): the token goes out as x-acs-security-token on the calls."""
    with _proxied_emulator() as (emu, endpoint, recorder):
        sts = world.sts_credentials(emu, root_secret=SECRET)
        result = plan(
            tmp_path,
            endpoint,
            spec,
            ALIBABA_CLOUD_ACCESS_KEY_ID=sts.access_key_id,
            ALIBABA_CLOUD_ACCESS_KEY_SECRET=sts.access_key_secret,
            ALIBABA_CLOUD_SECURITY_TOKEN=sts.security_token,
        )
        assert result.exit_code == 0, result.stderr
        assert sts.security_token in recorder.values


def test_a_profile_of_the_credentials_file(tmp_path: Path, proxied, spec: str) -> None:  # type: ignore[no-untyped-def]
    endpoint, _ = proxied
    path = ini(tmp_path, ci=AK)
    result = plan(tmp_path, endpoint, spec, "--profile", "ci", ALIBABA_CLOUD_CREDENTIALS_FILE=path)
    assert result.exit_code == 0, result.stderr


def test_the_chain_takes_the_profile_named_by_the_environment(
    tmp_path: Path, proxied, spec: str
) -> None:  # type: ignore[no-untyped-def]
    endpoint, _ = proxied
    path = ini(tmp_path, ci=AK)
    result = plan(
        tmp_path, endpoint, spec, ALIBABA_CLOUD_CREDENTIALS_FILE=path, ALIBABA_CLOUD_PROFILE="ci"
    )
    assert result.exit_code == 0, result.stderr


def test_profile_wins_over_the_environment(tmp_path: Path, proxied, spec: str) -> None:  # type: ignore[no-untyped-def]
    endpoint, _ = proxied
    path = ini(tmp_path, ci=AK)
    result = plan(
        tmp_path,
        endpoint,
        spec,
        "--profile",
        "ci",
        ALIBABA_CLOUD_CREDENTIALS_FILE=path,
        ALIBABA_CLOUD_ACCESS_KEY_ID="emulator",
        ALIBABA_CLOUD_ACCESS_KEY_SECRET="the-wrong-secret-in-the-env",
    )
    assert result.exit_code == 0, result.stderr


def test_an_unknown_profile_is_one_line_before_any_call(tmp_path: Path, proxied, spec: str) -> None:  # type: ignore[no-untyped-def]
    endpoint, recorder = proxied
    path = ini(tmp_path, ci=AK)
    result = plan(
        tmp_path, endpoint, spec, "--profile", "nope", ALIBABA_CLOUD_CREDENTIALS_FILE=path
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: profile 'nope' gave no credentials")
    assert recorder.requests == 0


@pytest.mark.parametrize(
    "present",
    [
        ("ALIBABA_CLOUD_ROLE_ARN",),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
    ],
)
def test_a_partial_oidc_environment_is_refused_naming_the_missing_variable(
    tmp_path: Path, proxied, spec: str, present: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    """Even with an access key in the environment: a half-set OIDC is a mistake to report,
    not a reason to fall through silently to another identity."""
    endpoint, recorder = proxied
    env = {name: "x" for name in present}
    result = plan(
        tmp_path,
        endpoint,
        spec,
        ALIBABA_CLOUD_ACCESS_KEY_ID="emulator",
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET,
        **env,
    )
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert (
        message.startswith("Error: OIDC credentials are partly configured") and "\n" not in message
    )
    missing = {
        "ALIBABA_CLOUD_ROLE_ARN",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    } - set(present)
    assert all(name in message.split("but", 1)[1] for name in missing)
    assert recorder.requests == 0


def test_missing_credentials_are_explained_before_any_call(
    tmp_path: Path, proxied, spec: str
) -> None:  # type: ignore[no-untyped-def]
    endpoint, recorder = proxied
    result = plan(tmp_path, endpoint, spec)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no Alibaba Cloud credentials found")
    for hint in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "--profile", "OIDC", "--emulator"):
        assert hint in result.stderr
    assert recorder.requests == 0


@pytest.mark.parametrize(
    ("key_id", "secret", "code"),
    [
        ("emulator", "a-wrong-secret-value", "SignatureDoesNotMatch"),
        ("LTAI-unknown-key-id", SECRET, "InvalidAccessKeyId.NotFound"),
    ],
)
def test_credentials_the_cloud_refuses_are_never_retried(
    tmp_path: Path, proxied, spec: str, key_id: str, secret: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    endpoint, recorder = proxied
    result = plan(
        tmp_path,
        endpoint,
        spec,
        ALIBABA_CLOUD_ACCESS_KEY_ID=key_id,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=secret,
    )
    assert result.exit_code == 1
    assert code in result.stderr and "check the credentials" in result.stderr
    assert 1 <= recorder.requests <= FIRST_READS, recorder.requests  # each read at most once
