"""Every refusal code of the README's table ("Refusals"), produced through the emulator with
the real SDK.

Each world is built with the SDK (or the demo seed); the plan is run through the CLI and must
exit 1 with the code in its refusals."""

from __future__ import annotations

import pytest

from tests.e2e import world
from tests.e2e.conftest import plan_json

HZ = "cn-hangzhou"


def refused(endpoint: str, folder: str) -> set[str]:
    run = plan_json(endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    for refusal in run.plan["refusals"]:
        assert refusal["message"], "every refusal says what to do"
    return run.codes()


def _legacy_key(state: str) -> dict[str, object]:
    """The demo world's alias/rds-legacy as the spec declares it, in the given state."""
    return {
        "alias": "alias/rds-legacy",
        "description": "legacy RDS key",
        "tags": {"team": "dba"},
        "state": state,
    }


def test_serverless_storage_and_general_purpose_cmk(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec(
        {
            "kms_keys": {"prod": {"alias": "alias/rds-prod"}},
            "instances": {
                "pgm-bp1sls0000000001": {"encryption": {"key": "service"}},
                "pgm-bp1ssd0000000001": {"encryption": {"key": "service"}},
                "pgm-bp1gp00000000001": {"encryption": {"key": "prod"}},
            },
        }
    )
    assert refused(demo.endpoint, folder) == {
        "EncryptionUnsupportedServerless",
        "EncryptionUnsupportedStorage",
        "CmkRequiresDedicatedInstance",
    }


def test_unsupported_edition(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    instance = world.create_instance(emulator.endpoint, category="Finance")
    folder = write_spec({"instances": {instance: {"encryption": {"key": "service"}}}})
    assert "EncryptionUnsupportedEdition" in refused(emulator.endpoint, folder)


def test_unsupported_engine(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    instance = world.create_instance(
        emulator.endpoint, engine="MySQL", engine_version="8.0", class_code="mysql.x4.large.2c"
    )
    folder = write_spec({"instances": {instance: {"encryption": {"key": "service"}}}})
    assert refused(emulator.endpoint, folder) == {"EncryptionUnsupportedEngine"}


def test_instance_not_found(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec({"instances": {"pgm-bp1nothere000001": {"encryption": "disabled"}}})
    assert refused(emulator.endpoint, folder) == {"InstanceNotFound"}


def test_kms_not_activated(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    """A world where KMS is not activated (the emulator's switch): DescribeAccountKmsStatus is
    not Enabled and every key read answers 403 Forbidden.KmsServiceNotEnabled. The plan is
    not an observe error: it refuses the key and every encryption, service key or CMK."""
    on_service = world.create_instance(emulator.endpoint)
    on_cmk = world.create_instance(emulator.endpoint)
    world.admin(emulator.endpoint, "POST", "kms", {"activated": False})
    folder = write_spec(
        {
            "kms_keys": {"prod": {"alias": "alias/rds-prod"}},
            "instances": {
                on_service: {"encryption": {"key": "service"}},
                on_cmk: {"encryption": {"key": "prod"}},
            },
        }
    )
    run = plan_json(emulator.endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    refusals = {r["address"]: r["code"] for r in run.plan["refusals"]}
    for address in ("kms_key.prod", f"rds_encryption.{on_service}", f"rds_encryption.{on_cmk}"):
        assert refusals.get(address) == "KmsNotActivated", refusals
    # RAM changes may remain (RAM is not KMS); no key or encryption change does.
    changed = [c["address"] for c in run.plan["changes"]]
    assert not [a for a in changed if a.startswith(("kms_key.", "rds_encryption."))], changed


def test_kms_not_activated_from_a_seed_with_account_set(emulator, tmp_path, write_spec) -> None:  # type: ignore[no-untyped-def]
    """Seeded `kms: {activated: false}`; the account id (read from alias/acs/rds's ARN) cannot
    be read either, so defaults.account also refuses, saying why the account is unknown."""
    from reconciler.emulator.seeds import apply_seed

    instance = world.create_instance(emulator.endpoint)
    seed = tmp_path / "no-kms.yaml"
    seed.write_text("kms: {activated: false}\n")
    apply_seed(emulator.state, str(seed))
    folder = write_spec(
        {
            "defaults": {"account": "1234567890123456"},
            "instances": {instance: {"encryption": {"key": "service"}}},
        }
    )
    run = plan_json(emulator.endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.codes() == {"KmsNotActivated", "AccountMismatch"}
    mismatch = next(r for r in run.plan["refusals"] if r["code"] == "AccountMismatch")
    assert "KMS is not activated" in mismatch["message"]


def test_kms_not_enabled_on_a_key_read_alone(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    """Fault variant, for what the switch cannot show: the status call says Enabled but the key
    reads answer Forbidden.KmsServiceNotEnabled. That answer alone means KMS not activated."""
    instance = world.create_instance(emulator.endpoint)
    world.admin(
        emulator.endpoint,
        "POST",
        "faults",
        {"action": "kms:DescribeKey", "code": "Forbidden.KmsServiceNotEnabled", "status": 403,
         "rate": 1.0},
    )  # fmt: skip
    folder = write_spec(
        {
            "kms_keys": {"prod": {"alias": "alias/rds-prod"}},
            "instances": {instance: {"encryption": {"key": "service"}}},
        }
    )
    assert "KmsNotActivated" in refused(emulator.endpoint, folder)


def test_key_in_use_by_an_unmanaged_instance(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    """pgm-bp1ded0000000003 uses alias/rds-legacy but is not in this spec: still in use."""
    folder = write_spec({"kms_keys": {"legacy": _legacy_key("disabled")}})
    assert "KeyInUse" in refused(demo.endpoint, folder)


def test_key_in_use_by_an_instance_of_another_engine(demo, tmp_path, write_spec) -> None:  # type: ignore[no-untyped-def]
    """A MySQL instance created on the key uses it too: disabling the key would lock it."""
    from reconciler.emulator.seeds import apply_seed

    extra = tmp_path / "mysql.yaml"
    extra.write_text(
        "rds_instances:\n"
        "  - {id: rm-bp1mysql000000001, region: cn-hangzhou, engine: MySQL,\n"
        "     engine_version: '8.0', class: mysql.x4.large.2c, category: HighAvailability,\n"
        "     storage_type: cloud_essd, encryption: alias/rds-legacy}\n"
    )
    apply_seed(demo.state, str(extra))
    folder = write_spec(
        {
            "kms_keys": {"legacy": _legacy_key("disabled")},
            # the PostgreSQL user of the key moves off it, so only the MySQL one remains
            "instances": {"pgm-bp1ded0000000003": {"encryption": {"key": "service"}}},
        }
    )
    run = plan_json(demo.endpoint, folder)
    assert run.exit_code == 1, run.stdout + run.stderr
    in_use = [r for r in run.plan["refusals"] if r["code"] == "KeyInUse"]
    assert len(in_use) == 1 and "rm-bp1mysql000000001" in in_use[0]["message"]


def test_key_in_use_pending_deletion(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec({"kms_keys": {"legacy": _legacy_key("pending-deletion")}})
    assert "KeyInUse" in refused(demo.endpoint, folder)


def test_key_not_usable(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    key_id = world.create_key(emulator.endpoint, tags={"acs:rds:instance-encryption": "true"})
    world.disable_key(emulator.endpoint, key_id)
    instance = world.create_instance(emulator.endpoint)
    folder = write_spec({"instances": {instance: {"encryption": {"key": key_id}}}})
    assert "KeyNotUsable" in refused(emulator.endpoint, folder)


def test_key_region_mismatch(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    instance = world.create_instance(emulator.endpoint, region=HZ)
    folder = write_spec(
        {
            "kms_keys": {"sh": {"alias": "alias/rds-sh", "region": "cn-shanghai"}},
            "instances": {instance: {"region": HZ, "encryption": {"key": "sh"}}},
        }
    )
    assert "KeyRegionMismatch" in refused(emulator.endpoint, folder)


def test_ram_not_ready_when_verify_only(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    instance = world.create_instance(emulator.endpoint)
    folder = write_spec(
        {
            "ram": {"manage": False},
            "kms_keys": {"prod": {"alias": "alias/rds-prod"}},
            "instances": {instance: {"encryption": {"key": "prod"}}},
        }
    )
    assert "RamNotReady" in refused(emulator.endpoint, folder)


def test_account_mismatch(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    instance = world.create_instance(emulator.endpoint)
    folder = write_spec(
        {
            "defaults": {"account": "9999999999999999"},
            "instances": {instance: {"encryption": {"key": "service"}}},
        }
    )
    assert "AccountMismatch" in refused(emulator.endpoint, folder)


def test_instance_locked_by_a_disabled_key(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    """Disabling the key pgm-bp1ded0000000003 uses locks it (the emulator's LockMode); a plan
    that does not re-enable the key refuses to touch the instance."""
    from alibabacloud_kms20160120 import models

    client = world.kms(demo.endpoint)
    key_id = client.describe_key(
        models.DescribeKeyRequest(key_id="alias/rds-legacy")
    ).body.key_metadata.key_id
    world.disable_key(demo.endpoint, key_id)
    folder = write_spec({"instances": {"pgm-bp1ded0000000003": {"encryption": {"key": "service"}}}})
    assert "InstanceLocked" in refused(demo.endpoint, folder)


@pytest.mark.parametrize(
    "code",
    [
        "EncryptionUnsupportedServerless",
        "EncryptionUnsupportedStorage",
        "EncryptionUnsupportedEdition",
        "EncryptionUnsupportedEngine",
        "CmkRequiresDedicatedInstance",
        "KmsNotActivated",
        "KeyInUse",
        "KeyNotUsable",
        "InstanceNotFound",
        "KeyRegionMismatch",
        "RamNotReady",
        "AccountMismatch",
        "InstanceLocked",
    ],
)
def test_every_design_refusal_code_is_covered_here(code: str) -> None:
    """Guard: the list of the first refusal codes matches the planner's enum and this file."""
    from pathlib import Path

    from reconciler.plan.actions import RefusalCode

    assert code in {c.value for c in RefusalCode}
    assert Path(__file__).read_text().count(f'"{code}"') >= 2
