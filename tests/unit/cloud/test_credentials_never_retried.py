"""A credentials error is never retried, and never passed off as a network failure of the
cloud endpoint: the SDK raises CredentialException when a provider fails (an STS token that
cannot be refreshed, the ECS metadata service or an OIDC token file out of reach), often
while handling a network error of the PROVIDER's own endpoint."""

from __future__ import annotations

import pytest
import requests
from alibabacloud_credentials.exceptions import CredentialException

from reconciler.cloud.redact import remember_secret
from reconciler.cloud.retry import RetryPolicy, classify
from reconciler.errors import NetworkError, PermanentError

SECRET = "credentials-secret-value-0042"


def _provider_failure(*, while_network_failed: bool) -> CredentialException:
    try:
        try:
            if while_network_failed:
                requests.get(
                    "http://127.0.0.1:1/latest/meta-data/ram/security-credentials/", timeout=1
                )
        except requests.ConnectionError:
            raise CredentialException(
                f"Failed to get RAM session credentials (secret {SECRET})"
            ) from None
        raise CredentialException(f"refresh failed, secret {SECRET}")
    except CredentialException as error:
        return error


@pytest.mark.parametrize("while_network_failed", [False, True])
def test_a_credentials_error_is_permanent_named_and_redacted(while_network_failed: bool) -> None:
    remember_secret(SECRET)
    error = classify(
        "rds:DescribeDBInstances", _provider_failure(while_network_failed=while_network_failed)
    )
    assert isinstance(error, PermanentError) and not isinstance(error, NetworkError)
    assert error.code == "CredentialsError"
    assert "credentials" in error.message and SECRET not in str(error)


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_credentials_error_is_tried_once(wrapped: bool) -> None:
    """Also when the SDK wraps it (UnretryableException(inner_exception=...))."""
    from Tea.exceptions import UnretryableException

    attempts: list[int] = []

    def call() -> None:
        attempts.append(1)
        failure = _provider_failure(while_network_failed=True)
        if wrapped:
            raise UnretryableException(None, failure)
        raise failure

    with pytest.raises(PermanentError):
        RetryPolicy(base_delay=0.001, sleep=lambda s: None).run("rds:X", call)
    assert attempts == [1]
