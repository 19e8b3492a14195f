"""KMS instances and default keys end to end (issue 18, build item 1): the CLI against the
emulator with the real SDK. Keys with `kms_instance` are created in that instance (CreateKey's
DKMSInstanceId, DescribeKey shows it); what CreateKey would refuse is refused by the plan
(KmsInstanceNotFound, KmsInstanceNotReady, KmsInstanceKeyQuota, DefaultKeyLimit,
DefaultKeyRotationNotPurchased); an instance near or past its EndDate is warned about and is a
drift item; import writes `kms_instance` and plans empty. docs/real-cloud.md, "KMS instances
and default keys"."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator.clock import iso, parse_iso
from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import plan_json, run_cli

HZ = world.KMS_INSTANCES["cn-hangzhou"]


def _describe(endpoint: str, alias: str) -> Any:
    from alibabacloud_kms20160120 import models

    request = models.DescribeKeyRequest(key_id=alias)
    return world.kms(endpoint).describe_key(request).body.key_metadata


def _refusals(run: Any) -> dict[str, str]:
    return {r["address"]: r["code"] for r in run.plan["refusals"]}


def _new_instance(endpoint: str, **body: Any) -> str:
    now = parse_iso(world.admin(endpoint, "GET", "clock")["now"])
    body.setdefault("end_date", iso(now + timedelta(days=365)))
    found = world.admin(endpoint, "POST", "kms/instances", {"region": "cn-hangzhou", **body})
    return str(found["KmsInstanceId"])


def test_two_keys_in_one_region_are_created_in_the_kms_instance(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    instance = world.create_instance(endpoint)
    folder = write_spec(
        {
            "defaults": {"kms_instance": HZ, "restart": "immediate"},
            "kms_keys": {
                "prod": {"alias": "alias/rds-prod", "rotation": {"enabled": True}},
                "reports": {"alias": "alias/rds-reports"},
            },
            "instances": {instance: {"encryption": {"key": "prod"}}},
        }
    )
    run = plan_json(endpoint, folder)
    assert run.exit_code == 0 and not run.plan["refusals"], run.stdout + run.stderr
    create = next(c for c in run.plan["changes"] if c["address"] == "kms_key.prod")
    assert create["operations"][0]["params"]["DKMSInstanceId"] == HZ
    applied = run_cli(
        "--endpoint",
        endpoint,
        "apply",
        folder,
        "--auto-approve",
        "--allow-restart",
        "--allow-irreversible",
    )
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    for alias in ("alias/rds-prod", "alias/rds-reports"):
        assert _describe(endpoint, alias).dkmsinstance_id == HZ
    again = plan_json(endpoint, folder, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr


def test_an_unknown_instance_is_refused(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec(
        {"kms_keys": {"prod": {"alias": "alias/p", "kms_instance": "kst-nope0000"}}}
    )
    run = plan_json(emulator.endpoint, folder)
    assert run.exit_code == 1
    assert _refusals(run) == {"kms_key.prod": "KmsInstanceNotFound"}
    assert "kst-nope0000" in run.plan["refusals"][0]["message"]


def test_an_instance_not_connected_is_refused_and_apply_checks_it_again(  # type: ignore[no-untyped-def]
    emulator, write_spec
) -> None:
    endpoint = emulator.endpoint
    connecting = _new_instance(endpoint, key_num=10, status="Connecting")
    folder = write_spec({"kms_keys": {"prod": {"alias": "alias/p", "kms_instance": connecting}}})
    run = plan_json(endpoint, folder)
    assert _refusals(run) == {"kms_key.prod": "KmsInstanceNotReady"}
    assert "Connecting" in run.plan["refusals"][0]["message"]
    # Connected at plan time, Disconnected before apply: the guard at the write refuses.
    world.admin(
        endpoint,
        "POST",
        "kms/instances",
        {
            "region": "cn-hangzhou",
            "instance_id": connecting,
            "key_num": 10,
            "status": "Connected",
            "end_date": "2099-01-01T00:00:00Z",
        },
    )
    saved = Path(folder) / "plan.json"
    made = run_cli("--endpoint", endpoint, "plan", folder, "-o", str(saved))
    assert made.exit_code == 0, made.stdout + made.stderr
    world.admin(
        endpoint,
        "POST",
        "kms/instances",
        {
            "region": "cn-hangzhou",
            "instance_id": connecting,
            "key_num": 10,
            "status": "Disconnected",
            "end_date": "2099-01-01T00:00:00Z",
        },
    )
    world.admin(endpoint, "DELETE", "calls")
    applied = run_cli(
        "--endpoint", endpoint, "apply", "--plan", str(saved), folder, "--auto-approve"
    )  # fmt: skip
    assert applied.exit_code != 0
    assert "KmsInstanceNotReady" in applied.stdout + applied.stderr
    assert world.admin(endpoint, "GET", "calls")["by_action"].get("kms:CreateKey", 0) == 0


def test_no_room_in_the_instance_is_refused(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    small = _new_instance(emulator.endpoint, key_num=1)
    keys = {n: {"alias": f"alias/{n}", "kms_instance": small} for n in ("a-first", "b-second")}
    run = plan_json(emulator.endpoint, write_spec({"kms_keys": keys}))
    assert _refusals(run) == {"kms_key.b-second": "KmsInstanceKeyQuota"}
    assert [c["address"] for c in run.plan["changes"] if c["address"].startswith("kms_key")] == [
        "kms_key.a-first"
    ]


def test_a_second_default_key_in_a_region_is_refused(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    keys = {n: {"alias": f"alias/{n}", "kms_instance": None} for n in ("a-first", "b-second")}
    run = plan_json(endpoint, write_spec({"kms_keys": keys}))
    assert _refusals(run) == {"kms_key.b-second": "DefaultKeyLimit"}
    # Against a default key that exists (DescribeKey: no DKMSInstanceId), the first is refused too.
    world.create_key(endpoint, alias="alias/a-first", kms_instance=None)
    keys = {**keys, "c-third": {"alias": "alias/c", "kms_instance": None}}
    run = plan_json(endpoint, write_spec({"kms_keys": keys}))
    assert _refusals(run) == {
        "kms_key.b-second": "DefaultKeyLimit",
        "kms_key.c-third": "DefaultKeyLimit",
    }


def test_rotation_of_a_default_key_needs_the_purchase(emulator, write_spec) -> None:  # type: ignore[no-untyped-def]
    key = {"alias": "alias/p", "kms_instance": None, "rotation": {"enabled": True}}
    run = plan_json(emulator.endpoint, write_spec({"kms_keys": {"prod": key}}))
    assert _refusals(run) == {"kms_key.prod": "DefaultKeyRotationNotPurchased"}
    bought = {**key, "default_key_rotation_purchased": True}
    world.admin(
        emulator.endpoint,
        "POST",
        "kms/default_key_rotation",
        {"region": "cn-hangzhou", "purchased": True},
    )
    folder = write_spec({"kms_keys": {"prod": bought}})
    assert not plan_json(emulator.endpoint, folder).plan["refusals"]
    applied = run_cli("--endpoint", emulator.endpoint, "apply", folder, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert _describe(emulator.endpoint, "alias/p").dkmsinstance_id in ("", None)


def test_an_expiring_instance_is_warned_and_an_expired_one_is_critical_drift(  # type: ignore[no-untyped-def]
    emulator, write_spec
) -> None:
    endpoint = emulator.endpoint
    now = parse_iso(world.admin(endpoint, "GET", "clock")["now"])
    soon = _new_instance(endpoint, key_num=10, end_date=iso(now + timedelta(days=10)))
    gone = _new_instance(endpoint, key_num=10, end_date=iso(now - timedelta(days=5)))
    dw.make_ram(endpoint)
    world.create_key(
        endpoint,
        alias="alias/soon",
        tags={"acs:rds:instance-encryption": "true"},
        kms_instance=soon,
    )
    old = world.create_key(
        endpoint, alias="alias/old", tags={"acs:rds:instance-encryption": "true"}, kms_instance=gone
    )
    user = world.create_instance(endpoint, encryption_key=old)
    world.admin(endpoint, "POST", "clock", {"advance_seconds": 60})
    folder = write_spec(
        {
            "kms_keys": {
                "soon": {"alias": "alias/soon", "kms_instance": soon},
                "old": {"alias": "alias/old", "kms_instance": gone},
            },
            "instances": {user: {"encryption": {"key": "old"}}},
        }
    )
    run = plan_json(endpoint, folder)
    warnings = {
        w["address"]: w["message"]
        for w in run.plan["warnings"]
        if w["code"] == "KmsInstanceExpiring"
    }
    assert set(warnings) == {"kms_key.soon", "kms_key.old"}, run.stdout
    assert "expired" in warnings["kms_key.old"] and user in warnings["kms_key.old"]
    drift = run_cli("--endpoint", endpoint, "drift", folder, "--format", "json")
    assert drift.exit_code == 2, drift.stdout + drift.stderr
    items = {i["address"]: i for i in json.loads(drift.stdout)["items"]}
    assert (items["kms_key.old"]["kind"], items["kms_key.old"]["severity"]) == (
        "at-risk",
        "critical",
    )
    assert items["kms_key.soon"]["severity"] == "high"


def test_import_writes_kms_instance_and_plans_empty(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint = emulator.endpoint
    dw.make_ram(endpoint)
    key = world.create_key(
        endpoint, alias="alias/rds-prod", tags={"acs:rds:instance-encryption": "true"}
    )
    world.create_instance(endpoint, encryption_key=key)
    world.admin(endpoint, "POST", "clock", {"advance_seconds": 60})
    out = tmp_path / "imported"
    run = run_cli("--endpoint", endpoint, "import", "--region", "cn-hangzhou", "-o", str(out))
    assert run.exit_code == 0, run.stdout + run.stderr
    keys = yaml.safe_load((out / "keys.yaml").read_text())["kms_keys"]
    assert [k["kms_instance"] for k in keys.values()] == [HZ]
    again = run_cli(
        "--endpoint", endpoint, "plan", str(out), "--format", "json", "--detailed-exitcode"
    )
    assert again.exit_code == 0, again.stdout + again.stderr
