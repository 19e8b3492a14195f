"""`plan --rate-limit service:Action=N`: a limit that would never apply is a usage error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.cloud.ratelimit import DEFAULT_LIMITS
from reconciler.errors import ReconcilerError
from reconciler.rate_limits import KNOWN_ACTIONS, parse_limits

PACKAGE = Path(__file__).resolve().parents[3] / "reconciler"
CALL = re.compile(r'\.call\(\s*"(rds|kms|ram)",\s*[^,]+,\s*"([A-Za-z]+)"')
OPERATION = re.compile(r'"((?:rds|kms|ram):[A-Z][A-Za-z]+)"')


@pytest.mark.parametrize(
    "item",
    ["Foo=5", "rds:DescribeKey=5", "DescribeKey=nan", "DescribeKey=inf", "DescribeKey=-1",
     "kms:DescribeKey", "=5", "DescribeKey=x"],
)  # fmt: skip
def test_a_limit_that_would_never_apply_is_a_usage_error(item: str) -> None:
    result = CliRunner().invoke(cli, ["plan", "--rate-limit", item, "specs"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "--rate-limit" in lines[0] and "service:Action=N" in lines[0]
    assert "Try 'reconciler plan --help'" in lines[0]


def test_an_action_without_its_service_overrides_the_default() -> None:
    assert parse_limits(["DescribeKey=1"])["kms:DescribeKey"] == 1.0
    assert parse_limits(["kms:DescribeKey=2"])["kms:DescribeKey"] == 2.0
    assert "kms:DescribeKey" not in parse_limits(["DescribeKey=0"])
    assert parse_limits([]) == DEFAULT_LIMITS


def test_unknown_actions_and_odd_numbers_are_refused() -> None:
    for bad in ("Foo=5", "nan", "kms:DescribeKey=inf", "kms:DescribeKey=NaN", "ram:Foo=1"):
        with pytest.raises(ReconcilerError, match="service:Action=N"):
            parse_limits([bad])


def test_known_actions_cover_every_call_and_operation_in_the_code() -> None:
    called = {
        f"{service}:{action}"
        for path in (PACKAGE / "cloud").glob("*.py")
        for service, action in CALL.findall(path.read_text(encoding="utf-8"))
    }
    operations = {
        name
        for path in (PACKAGE / "plan").glob("*.py")
        for name in OPERATION.findall(path.read_text(encoding="utf-8"))
    }
    operations -= {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}  # RDS's, in a policy
    assert called, "the pattern still finds the calls"
    assert called | operations <= KNOWN_ACTIONS, sorted((called | operations) - KNOWN_ACTIONS)
