"""`import --as-fleet` as a pure function (kinds/rds_encryption/import_fleets.py): which tag
becomes a fleet, by the stated rule, and that the fleets plan as the ids did."""

from __future__ import annotations

from reconciler.core.facts import ObservedTde
from reconciler.drift.importer import import_files, import_state, plan_imported
from reconciler.spec.loader import load_spec
from tests.unit.drift.test_import_accounts import READY
from tests.unit.drift.test_importer import _entries, _instance, _key, _state

HZ = "cn-hangzhou"


def _world() -> tuple:  # type: ignore[type-arg]
    instances = [
        _instance("pgm-a0000001", HZ, "key-hz000001"),
        _instance("pgm-a0000002", HZ, "key-hz000001"),
        _instance("pgm-a0000003", HZ, "key-hz000001"),
        _instance("pgm-b0000001", HZ, None),
        _instance("pgm-b0000002", HZ, None),
        _instance("pgm-m0000001", HZ, None, engine="MySQL"),
    ]
    tags = {
        "pgm-a0000001": {"team": "pay", "tier": "gold", "acs:x": "1"},
        "pgm-a0000002": {"team": "pay", "tier": "gold", "acs:x": "1"},
        "pgm-a0000003": {"team": "pay"},
        "pgm-b0000001": {"team": "web", "app": "shop"},
        "pgm-b0000002": {"team": "web", "app": "shop"},
        "pgm-m0000001": {"app": "shop"},  # another engine, never imported
    }
    return _state(instances, [_key("key-hz000001", HZ, ["alias/prod"])], ram=READY), tags


def test_the_tag_explaining_most_instances_wins_and_a_tag_on_another_engine_is_not_used() -> None:
    observed, tags = _world()
    imported = import_state(observed, [HZ], tags=tags)
    fleets = _entries(imported, "fleets")
    # team=pay (3) beats tier=gold (2, and taken); app=shop is on the MySQL instance too, so
    # team=web; acs: tags are Alibaba's, never a selector
    assert list(fleets) == ["team-pay", "team-web"]
    assert fleets["team-pay"].data == {
        "select": {"regions": [HZ], "tags": {"team": "pay"}},
        "encryption": {"key": "prod"},
    }
    assert fleets["team-pay"].notes[0] == (
        "team=pay selects today: pgm-a0000001, pgm-a0000002, pgm-a0000003"
    )
    assert imported.block("instances").entries == []  # type: ignore[union-attr]


def test_a_tde_difference_splits_the_wants_so_the_tag_is_not_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    observed, tags = _world()
    tde = ObservedTde(enabled=True, mode="Aliyun_Generate_Key")
    first = observed.instances["pgm-b0000001"].model_copy(update={"tde": tde})
    observed = observed.model_copy(
        update={"instances": {**observed.instances, "pgm-b0000001": first}}
    )
    imported = import_state(observed, [HZ], tags=tags)
    assert list(_entries(imported, "fleets")) == ["team-pay"]
    assert sorted(_entries(imported, "instances")) == ["pgm-b0000001", "pgm-b0000002"]
    for name, text in import_files(observed, [HZ], tags=tags).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    plan = plan_imported(load_spec([str(tmp_path)]).spec, observed, tags)
    assert plan.changes == [] and plan.refusals == [] and plan.warnings == []
