"""Errors carry their fields in their types (issue 17): what classification learns (the code's
family, the server's retry-after) and the partial result of an interrupted apply are declared
fields with defaults, never attributes bolted on afterwards."""

from __future__ import annotations

import signal

import pytest

from reconciler.apply.results import ApplyResult, ChangeOutcome
from reconciler.cloud.retry import Family, classify, family_of
from reconciler.errors import CloudCallError, Interrupted, PermanentError, TransientError


class ThrottledBySdk(Exception):
    def __init__(self) -> None:
        super().__init__("Throttling.User")
        self.code = "Throttling.User"
        self.status_code = 400
        self.retry_after = 2500


def test_a_cloud_error_made_by_hand_has_no_family_and_no_retry_after() -> None:
    error = PermanentError("kms:DescribeKey", "Forbidden.KeyNotFound", "no such key")
    assert error.family is None and error.retry_after is None
    assert family_of(error) is Family.NOT_FOUND  # falls back to the code


def test_the_family_and_retry_after_are_constructor_fields() -> None:
    error = TransientError("rds:X", "Weird", "m", 400, family=Family.BUSY, retry_after=1.5)
    assert (error.family, error.retry_after) == (Family.BUSY, 1.5)
    assert family_of(error) is Family.BUSY  # the field wins over the code's spelling
    assert str(error) == "rds:X: Weird: m"


def test_classify_fills_the_fields() -> None:
    error = classify("rds:ModifyDBInstanceConfig", ThrottledBySdk(), write=True)
    assert isinstance(error, TransientError)
    assert error.family is Family.THROTTLING
    assert error.retry_after == pytest.approx(2.5)


def test_the_fields_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        CloudCallError("a", "b", "c", 400, "req", Family.BUSY)  # type: ignore[misc]


def test_an_interrupt_carries_no_apply_result_until_apply_attaches_its_partial_result() -> None:
    interrupted = Interrupted(signal.SIGINT)
    assert interrupted.apply_result is None
    partial = ApplyResult([ChangeOutcome("kms_key.a", "done", "")])
    assert interrupted.with_apply_result(partial) is interrupted
    assert interrupted.apply_result is partial
    assert interrupted.exit_code == 130
