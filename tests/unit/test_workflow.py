"""reconciler/workflow.py without the cloud: loading with --region, reading a saved plan file,
and the stale-plan check, on the golden cases' spec and observed facts (tests/cases/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler import workflow
from reconciler.core.facts import ObservedState
from reconciler.errors import SpecError
from reconciler.render.json import render_json

CASES = Path(__file__).resolve().parents[1] / "cases"


def case(name: str) -> tuple[Any, ObservedState]:
    folder = CASES / name
    loaded = workflow.load([str(folder / "spec.yaml")])
    observed = ObservedState.model_validate_json((folder / "observed.json").read_text())
    return loaded, observed


def with_instance(observed: ObservedState, instance_id: str, **fields: Any) -> ObservedState:
    """The same facts, but one instance changed (as if someone changed it out of band)."""
    instance = observed.instances[instance_id]
    encryption = fields.pop("encryption", None)
    if encryption is not None:
        fields["encryption"] = instance.encryption.model_copy(update=encryption)
    moved = instance.model_copy(update=fields)
    return observed.model_copy(update={"instances": {**observed.instances, instance_id: moved}})


# --- load ----------------------------------------------------------------------------------


def test_load_fills_the_region_only_where_the_spec_sets_none(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(
        "version: 1\ninstances:\n  pgm-bp1aaaa0000000001: {encryption: {key: service}}\n"
    )
    loaded = workflow.load([str(tmp_path)], region="cn-shanghai")
    assert loaded.spec.defaults.region == "cn-shanghai"

    explicit, _ = case("key-switch")
    again = workflow.load([str(CASES / "key-switch" / "spec.yaml")], region="cn-shanghai")
    assert again.spec.defaults.region == explicit.spec.defaults.region == "cn-hangzhou"


def test_load_raises_every_problem(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text("version: 1\nbogus: 1\ninstances: 3\n")
    with pytest.raises(SpecError) as raised:
        workflow.load([str(tmp_path)])
    assert len(raised.value.diagnostics) >= 2


def test_make_plan_is_the_planner_with_a_timestamp() -> None:
    loaded, observed = case("key-switch")
    from datetime import UTC, datetime

    plan = workflow.make_plan(loaded, observed, now=datetime(2024, 1, 1, tzinfo=UTC))
    assert plan.created_at == "2024-01-01T00:00:00Z"
    assert [c.address for c in plan.changes] == [
        "rds_encryption.pgm-bp1ded0000000002",
        "rds_encryption.pgm-bp1ded0000000003",
    ]


# --- read_plan_file ------------------------------------------------------------------------


def test_a_saved_plan_reads_back_equal(tmp_path: Path) -> None:
    loaded, observed = case("key-switch")
    plan = workflow.make_plan(loaded, observed)
    path = tmp_path / "plan.json"
    path.write_text(render_json(plan))
    assert workflow.read_plan_file(path) == plan


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON (line 1"),
        ('["a list"]', "is not a plan document"),
        ('{"format_version": "2", "changes": []}', 'format_version "2"'),
        ('{"changes": []}', "format_version null"),
        ('{"format_version": "1", "changes": [{"address": 3}]}', "is not a valid plan:"),
        (b"\xff\xfe", "cannot read plan file"),
    ],
)
def test_a_malformed_plan_file_is_a_clear_error(
    tmp_path: Path, content: str | bytes | None, says: str
) -> None:
    path = tmp_path / "plan.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(workflow.PlanFileError) as raised:
        workflow.read_plan_file(path)
    assert says in str(raised.value)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    ("side", "edit", "says"),
    [
        ("after", lambda body: body.pop("switch_time_mode"), "switch_time_mode: Field required"),
        ("after", lambda body: body.update(config_value=None), "config_value: Input should be"),
        ("before", lambda body: body.update(encryption="off"), "encryption: Input should be"),
    ],
)
def test_a_change_body_edited_by_hand_is_a_clear_error(
    tmp_path: Path, side: str, edit: Any, says: str
) -> None:
    """Apply, drift and the views read a change's after and before through its kind's typed
    body (kinds/<kind>/body.py): a body the planner does not write stops the file's reading,
    naming the address and the field, before anything reads a key of it."""
    loaded, observed = case("key-switch")
    document = json.loads(render_json(workflow.make_plan(loaded, observed)))
    change = next(c for c in document["changes"] if c["address"].startswith("rds_encryption."))
    edit(change[side])
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(workflow.PlanFileError) as raised:
        workflow.read_plan_file(path)
    message = str(raised.value)
    assert f"plan file {path} is not a valid plan: {change['address']}: its {side}" in message
    assert says in message


def test_a_folder_is_not_a_plan_file(tmp_path: Path) -> None:
    with pytest.raises(workflow.PlanFileError, match="is a folder"):
        workflow.read_plan_file(tmp_path)


# --- check_saved_plan ----------------------------------------------------------------------


def test_a_fresh_plan_is_not_stale() -> None:
    loaded, observed = case("key-switch")
    saved = workflow.make_plan(loaded, observed)
    assert workflow.check_saved_plan(saved, loaded, observed) == []


def test_an_out_of_band_change_names_the_address_and_how_it_moved() -> None:
    loaded, observed = case("key-switch")
    saved = workflow.make_plan(loaded, observed)
    # Someone turned encryption off on one instance after the plan was made.
    moved = with_instance(
        observed,
        "pgm-bp1ded0000000002",
        encryption={"enabled": False, "key_id": None, "key_type": None},
    )
    findings = workflow.check_saved_plan(saved, loaded, moved)
    assert [f.address for f in findings] == ["rds_encryption.pgm-bp1ded0000000002"]
    assert findings[0].details == ('encryption.key: "ServiceKey" when planned, "disabled" now',)
    assert "rds_encryption.pgm-bp1ded0000000002" in str(findings[0])


def test_live_facts_that_moved_without_the_view_are_named() -> None:
    loaded, observed = case("key-switch")
    saved = workflow.make_plan(loaded, observed)
    moved = with_instance(observed, "pgm-bp1ded0000000003", status="Restarting")
    (finding,) = workflow.check_saved_plan(saved, loaded, moved)
    assert finding.address == "rds_encryption.pgm-bp1ded0000000003"
    assert finding.details == ("instance status is now Restarting, lock mode Unlock",)


def test_a_change_to_an_unrelated_resource_is_not_stale() -> None:
    loaded, observed = case("key-switch")
    saved = workflow.make_plan(loaded, observed)
    # A fact the plan does not act on moves: a key nobody in the plan changes gets a new
    # creator. (A moved fact that makes a fresh plan change a resource is refused instead:
    # tests/unit/test_saved_plan_commitment.py.)
    legacy = observed.keys["rds-legacy"]
    assert legacy is not None and saved.change("kms_key.rds-legacy") is None
    moved = observed.model_copy(
        update={
            "keys": {
                **observed.keys,
                "rds-legacy": legacy.model_copy(update={"creator": "someone else"}),
            }
        }
    )
    assert moved.fingerprint() != observed.fingerprint()
    assert workflow.check_saved_plan(saved, loaded, moved) == []


def test_a_resource_that_reached_the_spec_meanwhile_is_not_stale() -> None:
    """An interrupted apply of this plan made the change already: a rerun of the same plan
    finds nothing left to do there (the executor sees it done), rather than refusing."""
    loaded, observed = case("key-switch")
    saved = workflow.make_plan(loaded, observed)
    prod = observed.keys["rds-prod"]
    assert prod is not None
    done = with_instance(
        observed,
        "pgm-bp1ded0000000002",
        encryption={"enabled": True, "key_id": prod.key_id, "key_type": "CMK"},
    )
    assert workflow.check_saved_plan(saved, loaded, done) == []


def test_a_plan_of_other_spec_files_is_refused_as_a_whole(tmp_path: Path) -> None:
    loaded, observed = case("key-switch")
    saved = workflow.make_plan(loaded, observed)
    other_spec = (
        (CASES / "key-switch" / "spec.yaml")
        .read_text()
        .replace("description: legacy RDS key", "description: another text")
    )
    (tmp_path / "spec.yaml").write_text(other_spec)
    other = workflow.load([str(tmp_path / "spec.yaml")])
    (finding,) = workflow.check_saved_plan(saved, other, observed)
    assert finding.address is None
    assert "does not belong to the spec" in finding.message
    assert str(tmp_path / "spec.yaml") in finding.message


def test_comments_and_layout_of_the_spec_do_not_matter(tmp_path: Path) -> None:
    loaded, observed = case("key-switch")
    saved = workflow.make_plan(loaded, observed)
    text = (CASES / "key-switch" / "spec.yaml").read_text()
    (tmp_path / "spec.yaml").write_text("# reformatted\n" + text.replace(": {", ":    {"))
    again = workflow.load([str(tmp_path / "spec.yaml")])
    assert workflow.check_saved_plan(saved, again, observed) == []


def test_a_plan_made_on_an_empty_world_is_stale_once_the_resource_exists() -> None:
    """The first observation found no key: the plan creates it. Someone creates one with that
    alias by hand before apply, without the tag RDS needs: the creation is stale (its facts
    moved from nothing), and a fresh plan would tag the key instead."""
    loaded, observed = case("key-switch")
    empty = observed.model_copy(update={"keys": {**observed.keys, "rds-prod": None}})
    saved = workflow.make_plan(loaded, empty)
    assert saved.change("kms_key.rds-prod") is not None
    prod = observed.keys["rds-prod"]
    assert prod is not None
    by_hand = observed.model_copy(
        update={
            "keys": {
                **observed.keys,
                "rds-prod": prod.model_copy(update={"tags": {}}),
            }
        }
    )
    findings = workflow.check_saved_plan(saved, loaded, by_hand)
    addresses = [f.address for f in findings]
    assert "kms_key.rds-prod" in addresses
    key = next(f for f in findings if f.address == "kms_key.rds-prod")
    assert key.details[0] == f"did not exist when planned; exists now ({prod.key_id})"
    assert "kms:TagResource" in key.details[1]


def test_a_refused_or_unverifiable_saved_plan_is_stale() -> None:
    loaded, observed = case("key-switch")
    saved = workflow.make_plan(loaded, observed)
    first = saved.changes[0].model_copy(update={"facts_digest": None})
    unverifiable = saved.model_copy(update={"changes": [first, *saved.changes[1:]]})
    (finding,) = workflow.check_saved_plan(unverifiable, loaded, observed)
    assert finding.address == first.address and "no facts digest" in finding.message

    refused_case, refused_observed = case("unsupported-instances")
    refused = workflow.make_plan(refused_case, refused_observed)
    assert refused.refusals
    findings = workflow.check_saved_plan(refused, refused_case, refused_observed)
    assert any(f.address is None and "refused" in f.message for f in findings)


def test_findings_are_plain_data() -> None:
    finding = workflow.StaleFinding("kms_key.x", "moved", ("a: 1 when planned, 2 now",))
    assert str(finding) == "kms_key.x: moved\n    a: 1 when planned, 2 now"
    assert json.loads(json.dumps(finding.__dict__, default=list))["address"] == "kms_key.x"


# --- resume --------------------------------------------------------------------------------


def test_resume_of_an_untouched_plan_is_the_fresh_plan_with_the_same_tokens() -> None:
    loaded, observed = case("key-switch")
    saved = workflow.make_plan(loaded, observed)
    fresh = workflow.make_plan(loaded, observed, plan_id=saved.plan_id)
    resumed = workflow.resume(saved, loaded, observed, fresh)
    assert resumed.plan.changes == saved.changes and resumed.made == ()
    assert resumed.order == tuple(c.address for c in saved.changes)


def test_resume_leaves_out_what_an_earlier_run_made_and_resolves_its_references() -> None:
    """The saved plan creates kms_key.rds-prod and moves two instances to it; the first run
    was killed after the key was made. The rerun makes the instance changes with the key id
    now observed in place of the reference, and the same ClientTokens."""
    loaded, observed = case("key-switch")
    created = observed.keys["rds-prod"]
    assert created is not None
    before_key = observed.model_copy(update={"keys": {**observed.keys, "rds-prod": None}})
    saved = workflow.make_plan(loaded, before_key)
    assert saved.change("kms_key.rds-prod") is not None
    key_made = observed  # the key exists now, as the spec wants; the instances did not move
    fresh = workflow.make_plan(loaded, key_made, plan_id=saved.plan_id)
    assert workflow.check_saved_plan(saved, loaded, key_made, fresh) == []
    resumed = workflow.resume(saved, loaded, key_made, fresh)
    assert [c.address for c in resumed.made] == ["kms_key.rds-prod"]
    assert [c.address for c in resumed.plan.changes] == [
        "rds_encryption.pgm-bp1ded0000000002",
        "rds_encryption.pgm-bp1ded0000000003",
    ]
    for left in resumed.plan.changes:
        original = saved.change(left.address)
        assert original is not None and "kms_key.rds-prod" in original.depends_on
        assert "kms_key.rds-prod" not in left.depends_on
        (operation,) = left.operations
        assert operation.params["ConfigValue"] == created.key_id
        assert operation.params["ClientToken"] == original.operations[0].params["ClientToken"]
    assert resumed.plan.plan_id == saved.plan_id
    assert resumed.plan.summary.create == 0


def test_a_saved_change_needing_a_value_the_cloud_does_not_show_is_refused() -> None:
    loaded, observed = case("key-switch")
    before_key = observed.model_copy(update={"keys": {**observed.keys, "rds-prod": None}})
    saved = workflow.make_plan(loaded, before_key)
    # The key counts as made, but the observation holds no id for it: refuse, never guess.
    key = observed.keys["rds-prod"]
    assert key is not None
    no_id = observed.model_copy(
        update={"keys": {**observed.keys, "rds-prod": key.model_copy(update={"key_id": ""})}}
    )
    fresh = workflow.make_plan(loaded, no_id, plan_id=saved.plan_id)
    findings = workflow.check_saved_plan(saved, loaded, no_id, fresh)
    assert "kms_key.rds-prod" in {f.address for f in findings}
    assert "rds_encryption.pgm-bp1ded0000000002" in {f.address for f in findings}
