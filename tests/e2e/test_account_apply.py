"""apply of a spec with two accounts (README, "Several accounts"): every address the user reads
-- the progress lines, a stale saved plan's findings, the result -- carries its account (a
failure in one account: tests/e2e/test_accounts_at_once.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.test_accounts import _spec, endpoint, run, two_accounts
from tests.emulator.accounts_world import B_INSTANCE, B_ROOT_KEY, B_ROOT_SECRET

__all__ = ["endpoint"]  # the fixture, imported for the tests below

UNPREFIXED = re.compile(r"(?<![a-z/])rds_encryption\.pgm-")


def _b_client(endpoint: str, service: str) -> Any:
    """A client of account B's own root key (an out-of-band change, as in its console)."""
    from alibabacloud_tea_openapi.utils_models import Config

    config = Config(
        access_key_id=B_ROOT_KEY,
        access_key_secret=B_ROOT_SECRET,
        region_id="cn-hangzhou",
        endpoint=endpoint,
        protocol="http",
    )
    if service == "kms":
        from alibabacloud_kms20160120.client import Client as Kms

        return Kms(config)
    from alibabacloud_rds20140815.client import Client as Rds

    return Rds(config)


def _move_b_instance_to_its_key(endpoint: str) -> None:
    from alibabacloud_kms20160120 import models as kms_models
    from alibabacloud_rds20140815 import models as rds_models

    aliases = _b_client(endpoint, "kms").list_aliases(kms_models.ListAliasesRequest())
    key_id = next(a.key_id for a in aliases.body.aliases.alias if a.alias_name == "alias/b-key")
    _b_client(endpoint, "rds").modify_dbinstance_config(
        rds_models.ModifyDBInstanceConfigRequest(
            dbinstance_id=B_INSTANCE,
            config_name="encryptionKey",
            config_value=key_id,
            switch_time_mode="Immediate",
        )
    )


def test_apply_progress_lines_carry_the_account(tmp_path: Path, endpoint: str) -> None:
    spec = _spec(tmp_path, two_accounts())
    applied = run(tmp_path, endpoint, "apply", "--auto-approve", "--allow-restart", spec)
    assert applied.exit_code == 0, applied.output
    progress = [line for line in applied.output.splitlines() if "rds_encryption.pgm-" in line]
    assert any(f"beta/rds_encryption.{B_INSTANCE}: " in line for line in progress), progress
    assert [line for line in progress if UNPREFIXED.search(line)] == []


def test_a_stale_saved_plan_of_two_accounts_names_the_account(
    tmp_path: Path, endpoint: str
) -> None:
    spec = _spec(tmp_path, two_accounts())
    saved = str(tmp_path / "plan.json")
    assert run(tmp_path, endpoint, "plan", "-o", saved, spec).exit_code == 0
    _move_b_instance_to_its_key(endpoint)
    applied = run(
        tmp_path, endpoint, "apply", "--plan", saved, "--auto-approve", "--allow-restart", spec
    )
    assert applied.exit_code == 1, applied.output
    assert f"beta/rds_encryption.{B_INSTANCE}: " in applied.stderr, applied.stderr
    assert not UNPREFIXED.search(applied.stderr), applied.stderr
    assert "stale" in applied.stderr
