"""Tags' authority (`kms_keys.<name>.tags_mode: exact|merge`) and `lifecycle: {ignore: [...]}`,
through the CLI against the emulator: plan and drift follow both the same way (issue 20, no
surprises)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e import drift_world as dw
from tests.e2e import world
from tests.e2e.conftest import PlanRun, plan_json, run_cli

RDS_TAG = "acs:rds:instance-encryption"


@pytest.fixture
def cmk(emulator) -> dw.CmkWorld:  # type: ignore[no-untyped-def]
    return dw.build_cmk_world(emulator.endpoint)


def _kms(w: dw.CmkWorld) -> Any:
    return world.kms(w.endpoint)


def _tag(w: dw.CmkWorld, **tags: str) -> None:
    body = json.dumps([{"TagKey": k, "TagValue": v} for k, v in tags.items()])
    _kms(w).tag_resource(dw.kms_models().TagResourceRequest(key_id=w.key_id, tags=body))


def _untag(w: dw.CmkWorld, *keys: str) -> None:
    request = dw.kms_models().UntagResourceRequest(key_id=w.key_id, tag_keys=json.dumps(keys))
    _kms(w).untag_resource(request)


def _describe(w: dw.CmkWorld, text: str) -> None:
    request = dw.kms_models().UpdateKeyDescriptionRequest(key_id=w.key_id, description=text)
    _kms(w).update_key_description(request)


def _spec(w: dw.CmkWorld, **key: Any) -> dict[str, Any]:
    spec = w.spec()
    spec["kms_keys"]["prod"].update(key)
    return spec


def _ops(run: PlanRun) -> list[str]:
    return [o["op"] for c in run.plan["changes"] for o in c["operations"]]


def _drift(w: dw.CmkWorld, folder: str) -> PlanRun:
    return run_cli("--endpoint", w.endpoint, "drift", folder, "--format", "json")


def test_exact_tags_remove_another_tag_and_the_plan_says_so(cmk, write_spec) -> None:  # type: ignore[no-untyped-def]
    _tag(cmk, owner="someone")
    for spec in (_spec(cmk), _spec(cmk, tags_mode="exact", tags={"team": "dba"})):
        run = plan_json(cmk.endpoint, write_spec(spec))
        assert _ops(run) == ["kms:UntagResource"], run.stdout
        reason = run.plan["changes"][0]["reason"]
        assert "owner" in reason and "tags_mode: exact" in reason, reason
        text = run_cli("--endpoint", cmk.endpoint, "plan", write_spec(spec)).stdout
        assert "tags_mode: exact" in text


def test_merge_tags_only_add_and_update(cmk, write_spec) -> None:  # type: ignore[no-untyped-def]
    _tag(cmk, owner="someone")
    folder = write_spec(_spec(cmk, tags_mode="merge"))
    run = plan_json(cmk.endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout
    assert _drift(cmk, folder).exit_code == 0, "drift follows tags_mode"
    more = plan_json(cmk.endpoint, write_spec(_spec(cmk, tags_mode="merge", tags={"env": "p"})))
    assert _ops(more) == ["kms:TagResource"]
    assert more.plan["changes"][0]["after"]["tags"]["owner"] == "someone"


@pytest.mark.parametrize("mode", ["merge", "exact"])
def test_the_rds_tag_is_enforced_in_either_mode(cmk, write_spec, mode) -> None:  # type: ignore[no-untyped-def]
    _untag(cmk, RDS_TAG)
    run = plan_json(cmk.endpoint, write_spec(_spec(cmk, tags_mode=mode)))
    assert _ops(run) == ["kms:TagResource"]
    ignored = _spec(cmk, tags_mode=mode, lifecycle={"ignore": ["tags"]})
    assert _ops(plan_json(cmk.endpoint, write_spec(ignored))) == ["kms:TagResource"]


def test_an_ignored_field_is_neither_planned_nor_drift(cmk, write_spec) -> None:  # type: ignore[no-untyped-def]
    _describe(cmk, "changed by hand")
    _tag(cmk, owner="someone")
    plain = write_spec(_spec(cmk))
    assert plan_json(cmk.endpoint, plain).plan["changes"] != []
    assert _drift(cmk, plain).exit_code == 2
    folder = write_spec(_spec(cmk, lifecycle={"ignore": ["description", "tags"]}))
    run = plan_json(cmk.endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout
    ignored = [w for w in run.plan["warnings"] if w["code"] == "IgnoredByLifecycle"]
    assert [w["address"] for w in ignored] == ["kms_key.prod"]
    assert "description" in ignored[0]["message"] and "tags" in ignored[0]["message"]
    text = run_cli("--endpoint", cmk.endpoint, "plan", folder).stdout
    assert "IgnoredByLifecycle" in text
    assert _drift(cmk, folder).exit_code == 0


def test_defaults_ignore_is_honoured_by_plan_too(cmk, write_spec) -> None:  # type: ignore[no-untyped-def]
    _describe(cmk, "changed by hand")
    folder = write_spec(
        _spec(cmk, **{}) | {"defaults": {**cmk.spec()["defaults"], "ignore": ["kms_key.*"]}}
    )
    run = plan_json(cmk.endpoint, folder, "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout
    assert [w["code"] for w in run.plan["warnings"]] == ["IgnoredByLifecycle"]
    assert _drift(cmk, folder).exit_code == 0


@pytest.mark.parametrize(
    ("where", "field", "allowed"),
    [
        ("instance", "encryption", "nothing of an instance"),
        ("key", "alias", "tags, description, rotation"),
        ("key", "state", "tags, description, rotation"),
        ("ram", "policy", "nothing of ram"),
    ],
)
def test_a_guarded_field_cannot_be_ignored(cmk, write_spec, where, field, allowed) -> None:  # type: ignore[no-untyped-def]
    spec = cmk.spec()
    block = {"lifecycle": {"ignore": [field]}}
    if where == "instance":
        spec["instances"][cmk.cmk_instance].update(block)
    elif where == "key":
        spec["kms_keys"]["prod"].update(block)
    else:
        spec["ram"] = block
    run = run_cli("validate", write_spec(spec))
    assert run.exit_code != 0
    err = run.stdout + run.stderr
    assert "spec.yaml:" in err and f"`{field}` cannot be ignored" in err and allowed in err, err
