"""Client factory: credentials chain errors, endpoint handling, counting (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cloud.clients import (
    CloudClients,
    CloudSettings,
    CredentialsError,
    StaticCredentials,
    check_endpoint,
    check_oidc_environment,
)
from reconciler.errors import ReconcilerError

CLEAN_ENV = {
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
}


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("ALIBABA_CLOUD_"):
            monkeypatch.delenv(name)
    for name, value in CLEAN_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(tmp_path / "none.ini"))
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


def test_partial_oidc_environment_names_what_is_missing() -> None:
    env = {"ALIBABA_CLOUD_ROLE_ARN": "acs:ram::1:role/x", "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/t"}
    with pytest.raises(CredentialsError) as info:
        check_oidc_environment(env)
    assert "ALIBABA_CLOUD_OIDC_PROVIDER_ARN" in str(info.value)
    assert "missing" in str(info.value)


def test_full_or_absent_oidc_environment_is_fine(tmp_path: Path) -> None:
    assert check_oidc_environment({}) is False
    token = tmp_path / "token"
    token.write_text("eyJ...")
    full = {
        "ALIBABA_CLOUD_ROLE_ARN": "a",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "b",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token),
    }
    assert check_oidc_environment(full) is True


@pytest.mark.parametrize("token", ["missing", "empty", "folder"])
def test_a_full_oidc_environment_whose_token_file_cannot_be_read_says_so(
    tmp_path: Path, token: str
) -> None:
    """Issue 20: with every OIDC variable set but no token in the file, the error used to be
    "no credentials found"; it names the file and what is wrong with it."""
    path = tmp_path / "token"
    if token == "empty":
        path.write_text("")
    elif token == "folder":
        path.mkdir()
    full = {
        "ALIBABA_CLOUD_ROLE_ARN": "a",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "b",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(path),
    }
    with pytest.raises(CredentialsError) as info:
        check_oidc_environment(full)
    message = str(info.value)
    assert f"ALIBABA_CLOUD_OIDC_TOKEN_FILE={path}" in message
    assert {"missing": "does not exist", "empty": "is empty", "folder": "not a file"}[
        token
    ] in message


def test_partial_oidc_is_an_error_even_with_other_sources(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "acs:ram::1:oidc-provider/x")
    with pytest.raises(CredentialsError, match="ALIBABA_CLOUD_ROLE_ARN"):
        CloudClients(CloudSettings(endpoint="127.0.0.1:9"))


def test_no_credentials_says_what_to_set(bare_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(CredentialsError) as info:
        CloudClients(CloudSettings(endpoint="127.0.0.1:9"))
    message = str(info.value)
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in message and "--profile" in message


def test_environment_credentials_are_used_and_never_shown(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "AKID-test")
    bare_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "very-secret-value")
    clients = CloudClients(CloudSettings(endpoint="127.0.0.1:9"))
    assert "very-secret-value" not in repr(clients.settings)


def test_unknown_profile_is_an_error(bare_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(CredentialsError, match="profile 'nope'"):
        CloudClients(CloudSettings(endpoint="127.0.0.1:9", profile="nope"))


def test_static_credentials_repr_hides_secret() -> None:
    assert "emulator-secret" not in repr(StaticCredentials("emulator", "emulator-secret"))


@pytest.mark.parametrize("value", ["127.0.0.1:8080", "localhost:1", "http://127.0.0.1:80/"])
def test_endpoint_accepted(value: str) -> None:
    assert check_endpoint(value).count(":") == 1


@pytest.mark.parametrize("value", ["127.0.0.1", "https://x:1", "x:port", ":80"])
def test_endpoint_rejected_with_example(value: str) -> None:
    with pytest.raises(ReconcilerError, match="HOST:PORT"):
        check_endpoint(value)


def test_endpoint_override_points_every_service_at_it_over_http() -> None:
    clients = CloudClients(
        CloudSettings(endpoint="127.0.0.1:18080", credentials=StaticCredentials("a", "b"))
    )
    for service in ("rds", "kms", "ram"):
        client = clients.client(service, "cn-shanghai")  # type: ignore[arg-type]
        assert client._endpoint == "127.0.0.1:18080"
        assert client._protocol == "http"


def test_real_endpoints_without_override() -> None:
    clients = CloudClients(CloudSettings(credentials=StaticCredentials("a", "b")))
    assert clients.client("rds", "cn-hangzhou")._endpoint == "rds.aliyuncs.com"
    assert clients.client("kms", "cn-shanghai")._endpoint == "kms.cn-shanghai.aliyuncs.com"
    assert clients.client("ram", "eu-central-1")._endpoint == "ram.aliyuncs.com"


def test_one_client_per_service_and_region_shared() -> None:
    clients = CloudClients(CloudSettings(credentials=StaticCredentials("a", "b")))
    assert clients.client("kms", "cn-hangzhou") is clients.client("kms", "cn-hangzhou")
    assert clients.client("kms", "cn-hangzhou") is not clients.client("kms", "cn-shanghai")
    assert clients.client("ram", "cn-hangzhou") is clients.client("ram", "cn-shanghai")


def test_connection_refused_is_retried_and_counted() -> None:
    from reconciler.cloud import kms
    from reconciler.cloud.retry import RetryPolicy
    from reconciler.errors import TransientError

    clients = CloudClients(
        CloudSettings(endpoint="127.0.0.1:1", credentials=StaticCredentials("a", "b")),
        retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.001),
    )
    with pytest.raises(TransientError, match="ConnectionRefused"):
        kms.describe_key(clients, "cn-hangzhou", "alias/x")
    assert clients.counter.by_action() == {"kms:DescribeKey": 3}
    assert clients.counter.retries() == {"kms:DescribeKey": 2}
