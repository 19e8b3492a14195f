"""DescribeAccountKmsStatus as a fact: the documented values (SDK: Enabled, NotEnabled, InDebt,
Suspended), the older emulator's Disabled, and an unknown value as an error."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from reconciler.cloud import kms


class _Clients:
    def __init__(self, status: str) -> None:
        self.status = status

    def call(self, service: str, region: str, action: str, fn: Any) -> Any:
        assert (service, action) == ("kms", "DescribeAccountKmsStatus")
        body = SimpleNamespace(to_map=lambda: {"AccountStatus": self.status})
        return SimpleNamespace(body=body)


@pytest.mark.parametrize(
    ("answer", "status", "activated"),
    [
        ("Enabled", "Enabled", True),
        ("NotEnabled", "NotEnabled", False),
        ("InDebt", "InDebt", False),
        ("Suspended", "Suspended", False),
        ("Disabled", "NotEnabled", False),  # older emulator states
    ],
)
def test_documented_values(answer: str, status: str, activated: bool) -> None:
    clients: Any = _Clients(answer)
    assert kms.account_status(clients, "cn-hangzhou") == status
    assert kms.kms_activated(clients, "cn-hangzhou") is activated


def test_an_unknown_value_is_an_error() -> None:
    clients: Any = _Clients("Sleeping")
    with pytest.raises(Exception, match="AccountStatus"):
        kms.account_status(clients, "cn-hangzhou")
