"""Fleets (issue 21, item 1): instances chosen by selectors instead of by id, through the CLI
against the emulator with the real SDK (README, "Fleets (selectors)").

The demo world's `env: prod` instances: pgm-bp1ded0000000001..3 (cn-hangzhou),
pgm-bp1sls0000000001 (serverless, cannot be encrypted) and pgm-uf6ded0000000001 (cn-shanghai)."""

from __future__ import annotations

from typing import Any

from tests.e2e import world
from tests.e2e.conftest import plan_json, run_cli
from tests.e2e.test_fail_closed import assert_stopped, persistent_fault

HZ, SH = "cn-hangzhou", "cn-shanghai"
PROD_HZ = ("pgm-bp1ded0000000001", "pgm-bp1ded0000000002", "pgm-bp1ded0000000003")


def fleet(tags: dict[str, str], *, regions: tuple[str, ...] = (HZ,), **more: Any) -> dict:
    return {
        "select": {"regions": list(regions), "tags": tags},
        "encryption": {"key": "service"},
        **more,
    }


def addresses(plan: dict[str, Any]) -> dict[str, str | None]:
    return {c["address"]: c.get("via") for c in plan["changes"]}


def tag(endpoint: str, instance_id: str, tags: dict[str, str], region: str = HZ) -> None:
    from alibabacloud_rds20140815 import models

    request = models.TagResourcesRequest(
        region_id=region,
        resource_type="INSTANCE",
        resource_id=[instance_id],
        tag=[models.TagResourcesRequestTag(key=k, value=v) for k, v in tags.items()],
    )
    world.rds(endpoint, region).tag_resources(request)


def test_a_fleet_plans_the_encryption_of_the_instances_its_tags_select(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec({"fleets": {"prod": fleet({"env": "prod"}, regions=(HZ, SH))}})
    run = plan_json(demo.endpoint, folder)
    assert run.exit_code == 0, run.stdout + run.stderr
    changed = addresses(run.plan)
    # off -> service key; ded2 is on the service key already; ded3 moves off rds-legacy
    assert changed == {
        "rds_encryption.pgm-bp1ded0000000001": "fleets.prod",
        "rds_encryption.pgm-bp1ded0000000003": "fleets.prod",
        "rds_encryption.pgm-uf6ded0000000001": "fleets.prod",
    }
    # the serverless one is not refused: one warning of the fleet names it
    warned = [w for w in run.plan["warnings"] if w["code"] == "FleetMembersUnencryptable"]
    assert [(w["address"], w["via"]) for w in warned] == [("fleets.prod", "fleets.prod")]
    assert "pgm-bp1sls0000000001" in warned[0]["message"]
    assert run.plan["refusals"] == []
    text = run_cli("--endpoint", demo.endpoint, "plan", folder)
    assert "via fleets.prod" in text.stdout, text.stdout


def test_an_explicit_instance_wins_over_a_fleet(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec(
        {
            "fleets": {"prod": fleet({"env": "prod"})},
            "instances": {"pgm-bp1ded0000000003": {"encryption": {"key": "rds-legacy"}}},
            "kms_keys": {"rds-legacy": {"alias": "alias/rds-legacy", "tags": {"team": "dba"}}},
        }
    )
    run = plan_json(demo.endpoint, folder)
    changed = addresses(run.plan)
    assert "rds_encryption.pgm-bp1ded0000000003" not in changed, run.stdout
    assert changed["rds_encryption.pgm-bp1ded0000000001"] == "fleets.prod"


def test_two_fleets_with_different_wants_are_refused_naming_both(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec(
        {
            "fleets": {
                "prod": fleet({"env": "prod"}),
                "payments": {**fleet({"team": "payments"}), "encryption": "disabled"},
            }
        }
    )
    run = plan_json(demo.endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    conflicts = {r["address"]: r["message"] for r in run.plan["refusals"]}
    for instance_id in ("pgm-bp1ded0000000001", "pgm-bp1ded0000000002"):
        message = conflicts[f"rds_encryption.{instance_id}"]
        assert "fleets.prod" in message and "fleets.payments" in message
    # ded3 is prod/orders: prod alone selects it, no conflict
    assert "rds_encryption.pgm-bp1ded0000000003" not in conflicts


def test_two_fleets_with_the_same_wants_are_fine(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec(
        {"fleets": {"prod": fleet({"env": "prod"}), "payments": fleet({"team": "payments"})}}
    )
    run = plan_json(demo.endpoint, folder)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "rds_encryption.pgm-bp1ded0000000001" in addresses(run.plan)


def test_a_strict_fleet_refuses_what_it_cannot_encrypt(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec({"fleets": {"prod": fleet({"env": "prod"}, strict=True)}})
    run = plan_json(demo.endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 1, run.stdout + run.stderr
    refused = {(r["address"], r["code"], r.get("via")) for r in run.plan["refusals"]}
    assert refused == {
        ("rds_encryption.pgm-bp1sls0000000001", "EncryptionUnsupportedServerless", "fleets.prod")
    }
    assert not [w for w in run.plan["warnings"] if w["code"] == "FleetMembersUnencryptable"]


def test_tags_select_with_and_semantics(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    """DescribeDBInstances' Tags filter matches ANY tag: prod/payments selects ded1 and ded2
    only, not ded3 (prod/orders) nor gp2 (staging/payments)."""
    folder = write_spec({"fleets": {"pp": fleet({"env": "prod", "team": "payments"})}})
    run = plan_json(demo.endpoint, folder)
    assert addresses(run.plan) == {"rds_encryption.pgm-bp1ded0000000001": "fleets.pp"}
    world.reset_calls(demo.endpoint)
    run = run_cli("--endpoint", demo.endpoint, "--stats", "plan", folder, "--format", "json")
    assert "rds:ListTagResources" in run.stderr, run.stderr


def test_a_new_matching_instance_is_in_the_next_plan(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec({"fleets": {"prod": fleet({"env": "prod"})}})
    first = plan_json(demo.endpoint, folder)
    created = world.create_instance(demo.endpoint)
    assert f"rds_encryption.{created}" not in addresses(first.plan)
    tag(demo.endpoint, created, {"env": "prod", "team": "new"})
    second = plan_json(demo.endpoint, folder)
    assert addresses(second.plan)[f"rds_encryption.{created}"] == "fleets.prod"
    assert second.plan["spec_digest"] == first.plan["spec_digest"]


def test_a_fleet_plan_applies_and_replans_empty(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec({"fleets": {"prod": fleet({"env": "prod"})}})
    applied = run_cli(
        "--endpoint", demo.endpoint, "apply", folder, "--auto-approve", "--allow-restart"
    )
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    again = plan_json(demo.endpoint, folder, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.plan["changes"] == []


def test_a_failing_list_tag_resources_stops_the_plan(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    folder = write_spec({"fleets": {"prod": fleet({"env": "prod"})}})
    persistent_fault(demo.endpoint, "rds:ListTagResources", "OperationDenied", 403)
    run = run_cli("--endpoint", demo.endpoint, "plan", folder, "--format", "json")
    assert_stopped(run, action="ListTagResources", code="OperationDenied", resource=HZ)


def test_spec_errors_of_a_fleet_are_at_their_line(write_spec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "version: 1\n"
        "fleets:\n"
        "  a:\n"
        "    select: {}\n"
        "    encryption: {key: service}\n"
        "  b:\n"
        "    select: {colour: red}\n"
        "    encryption: {key: service}\n"
        "  c:\n"
        "    select: {id_pattern: '(pgm'}\n"
        "    encryption: {key: nowhere}\n"
    )
    run = run_cli("validate", str(spec))
    assert run.exit_code != 0
    out = run.stdout + run.stderr
    for needle in (
        f"{spec}:4",
        "empty select",
        f"{spec}:7",
        "colour",
        f"{spec}:10",
        "not a regular expression",
        f"{spec}:11",
        "nowhere",
    ):
        assert needle in out, f"{needle!r} missing from {out}"


def test_drift_counts_a_fleet_s_members_as_managed_and_names_the_fleet(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    """Drift reads the fleets as plan does: a member that differs is drift `via` its fleet,
    not an unmanaged instance."""
    import json

    folder = write_spec({"fleets": {"prod": fleet({"env": "prod"})}})
    run = run_cli("--endpoint", demo.endpoint, "drift", folder, "--format", "json")
    assert run.exit_code == 2, run.stderr
    items = {i["address"]: i for i in json.loads(run.stdout)["items"]}
    member = items["rds_encryption.pgm-bp1ded0000000001"]  # off, the fleet wants the service key
    assert (member["kind"], member.get("via")) == ("changed", "fleets.prod")
    unmanaged = {a for a, i in items.items() if i["kind"] == "unmanaged"}
    assert not unmanaged & {f"rds_encryption.{i}" for i in PROD_HZ}
    text = run_cli("--endpoint", demo.endpoint, "drift", folder)
    assert "rds_encryption.pgm-bp1ded0000000001 (via fleets.prod)" in text.stdout


def test_drift_names_the_fleet_of_a_member_it_cannot_encrypt(demo, write_spec) -> None:  # type: ignore[no-untyped-def]
    """A member the fleet leaves alone (serverless) is still unmanaged, but drift says which
    fleet selected it and why it is left alone: "Add it under instances" would be refused."""
    import json

    folder = write_spec({"fleets": {"prod": fleet({"env": "prod"})}})
    run = run_cli("--endpoint", demo.endpoint, "drift", folder, "--format", "json")
    assert run.exit_code == 2, run.stderr
    items = {i["address"]: i for i in json.loads(run.stdout)["items"]}
    left = items["rds_encryption.pgm-bp1sls0000000001"]
    assert (left["kind"], left.get("via")) == ("unmanaged", "fleets.prod")
    assert "cannot be encrypted" in left["message"]
    assert "Add it under instances" not in left["message"]
    assert "strict" in left["message"]
