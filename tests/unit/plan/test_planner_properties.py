"""Properties of build_plan over arbitrary valid specs and arbitrary observed states: it never
raises, it is deterministic, and its output is well-formed (order respects depends_on, a refused
address has no change, the summary adds up, the plan file round-trips)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.plan.model import load_plan
from reconciler.plan.planner import build_plan
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
)
from reconciler.render.json import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.spec.models import Spec
from reconciler.state.models import ObservedState

ACCOUNT = "1234567890123456"
REGIONS = ["cn-hangzhou", "cn-shanghai"]
KEY_NAMES = ["k1", "k2", "k3"]
KEY_IDS = ["key-aaaa00001", "key-bbbb00002", "key-cccc00003", "key-svchz0001"]
INSTANCE_IDS = ["pgm-aaaa0001", "pgm-bbbb0002", "pgm-cccc0003", "pgm-dddd0004"]

regions = st.sampled_from(REGIONS)
small_text = st.sampled_from(["", "prod", "legacy RDS key"])
tags = st.dictionaries(
    st.sampled_from(["team", "env", "acs:rds:instance-encryption", "acs:sys:x"]),
    st.sampled_from(["dba", "true", "x"]),
    max_size=3,
)


@st.composite
def spec_documents(draw: st.DrawFn) -> dict[str, Any]:
    keys = {}
    for name in draw(st.lists(st.sampled_from(KEY_NAMES), unique=True, max_size=3)):
        keys[name] = {
            "alias": f"alias/{name}",
            "region": draw(st.none() | regions),
            "description": draw(small_text),
            "rotation": draw(
                st.none()
                | st.fixed_dictionaries(
                    {"enabled": st.booleans(), "interval_days": st.integers(7, 730)}
                )
            ),
            "deletion_protection": draw(st.booleans()),
            "state": draw(st.sampled_from(["enabled", "disabled", "pending-deletion"])),
            "tags": draw(
                st.dictionaries(
                    st.sampled_from(["team", "env"]), st.sampled_from(["dba", "x"]), max_size=2
                )
            ),
        }
    refs = st.sampled_from(["service", *KEY_NAMES, *KEY_IDS])
    instances = {}
    for iid in draw(st.lists(st.sampled_from(INSTANCE_IDS), unique=True, max_size=4)):
        instances[iid] = {
            "region": draw(st.none() | regions),
            "encryption": draw(st.just("disabled") | st.fixed_dictionaries({"key": refs})),
            "restart": draw(st.none() | st.sampled_from(["immediate", "maintenance-window"])),
        }
    return {
        "version": 1,
        "defaults": {
            "region": draw(regions),
            "account": draw(st.none() | st.just(ACCOUNT)),
            "restart": draw(st.sampled_from(["immediate", "maintenance-window"])),
        },
        "ram": draw(st.none() | st.fixed_dictionaries({"manage": st.booleans()})),
        "kms_keys": keys,
        "instances": instances,
    }


@st.composite
def observed_keys(draw: st.DrawFn, key_id: str) -> dict[str, Any]:
    region = draw(regions)
    return {
        "key_id": key_id,
        "arn": f"acs:kms:{region}:{ACCOUNT}:key/{key_id}",
        "region": region,
        "state": draw(st.sampled_from(["Enabled", "Disabled", "PendingDeletion", "PendingImport"])),
        "description": draw(small_text),
        "deletion_protection": draw(st.booleans()),
        "rotation_enabled": draw(st.booleans()),
        "rotation_interval_days": draw(st.none() | st.integers(7, 730)),
        "tags": draw(tags),
        "aliases": draw(
            st.lists(st.sampled_from([f"alias/{n}" for n in KEY_NAMES]), unique=True, max_size=2)
        ),
    }


@st.composite
def observed_instances(draw: st.DrawFn, iid: str) -> dict[str, Any]:
    enc = draw(
        st.none()
        | st.fixed_dictionaries(
            {
                "enabled": st.booleans(),
                "key_id": st.none() | st.sampled_from(KEY_IDS),
                "key_type": st.none() | st.sampled_from(["ServiceKey", "CMK"]),
            }
        )
    )
    return {
        "instance_id": iid,
        "region": draw(regions),
        "engine": draw(st.sampled_from(["PostgreSQL", "MySQL"])),
        "category": draw(
            st.sampled_from(
                ["Basic", "HighAvailability", "cluster", "AlwaysOn", "serverless_basic"]
            )
        ),
        "class_code": draw(st.sampled_from(["pg.x4.large.2c", "pg.n2.2c.1m", "weird"])),
        "class_type": draw(st.none() | st.sampled_from(["x", "d"])),
        "storage_type": draw(st.sampled_from(["cloud_essd", "cloud_ssd", "general_essd"])),
        "status": "Running",
        "lock_mode": draw(st.sampled_from(["Unlock", "Unlock", "LockByDiskEncryption"])),
        "maintain_time": draw(st.none() | st.just("18:00Z-22:00Z")),
        "managed": draw(st.booleans()),
        "encryption": enc,
    }


documents = st.sampled_from(
    [
        RDS_ENCRYPTION_POLICY_DOCUMENT,
        RDS_ENCRYPTION_TRUST_DOCUMENT,
        {"Version": "1"},
        {},
    ]
)


@st.composite
def observed_documents(draw: st.DrawFn) -> dict[str, Any]:
    key_ids = draw(st.lists(st.sampled_from(KEY_IDS), unique=True, max_size=4))
    keys_by_id = {k: draw(st.none() | observed_keys(k)) for k in key_ids}
    keys = {
        n: draw(st.none() | observed_keys(draw(st.sampled_from(KEY_IDS))))
        for n in draw(st.lists(st.sampled_from(KEY_NAMES), unique=True, max_size=3))
    }
    instance_ids = draw(st.lists(st.sampled_from(INSTANCE_IDS), unique=True, max_size=4))
    ram = draw(
        st.none()
        | st.fixed_dictionaries(
            {
                "role": st.none()
                | st.fixed_dictionaries(
                    {
                        "name": st.just("AliyunRDSInstanceEncryptionDefaultRole"),
                        "arn": st.just("a"),
                        "trust_document": documents,
                    }
                ),
                "policy": st.none()
                | st.fixed_dictionaries(
                    {
                        "name": st.just("AliyunRDSInstanceEncryptionRolePolicy"),
                        "default_version": st.just("v1"),
                        "document": documents,
                    }
                ),
                "attached_policies": st.lists(
                    st.just("AliyunRDSInstanceEncryptionRolePolicy"), max_size=1
                ),
            }
        )
    )
    return {
        "account_id": draw(st.none() | st.sampled_from([ACCOUNT, "9999999999999999"])),
        "kms_activated": draw(st.booleans()),
        "ram": ram,
        "keys": keys,
        "keys_by_id": keys_by_id,
        "service_keys": draw(st.sampled_from([{}, {"cn-hangzhou": "key-svchz0001"}])),
        "instances": {i: draw(observed_instances(i)) for i in instance_ids},
        "regions_listed": REGIONS,
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_documents(), observed_documents())
def test_build_plan_never_raises_and_is_deterministic(spec_doc: dict, observed_doc: dict) -> None:
    spec = Spec.model_validate(spec_doc)
    observed = ObservedState.model_validate(observed_doc)
    plan = build_plan(spec, observed, created_at="2024-01-01T00:00:00Z")

    assert build_plan(spec, observed, created_at="2024-01-01T00:00:00Z") == plan
    assert load_plan(render_json(plan)) == plan
    assert render_text(plan) == render_text(plan)
    assert len(render_markdown(plan)) <= 65_000
    assert plan.fingerprint == observed.fingerprint()

    seen: set[str] = set()
    for change in plan.changes:
        assert set(change.depends_on) <= seen, f"{change.address} runs before its dependencies"
        seen.add(change.address)
        if change.address.startswith("rds_encryption."):
            assert change.restart
    assert len(seen) == len(plan.changes), "one change per address"
    assert not seen & {r.address for r in plan.refusals}, "a refused address has no change"
    for change in plan.changes:  # never disable or delete a key an instance stays on
        if {"kms:DisableKey", "kms:ScheduleKeyDeletion"} & set(change.operations):
            for instance in observed.instances.values():
                enc = instance.encryption
                if enc and enc.enabled and change.target_id and enc.key_id == change.target_id:
                    moving = plan.change(f"rds_encryption.{instance.instance_id}")
                    assert moving is not None, f"{change.address} disables a key in use"
                    assert moving.address in change.depends_on
    s = plan.summary
    assert s.create + s.update + s.delete == len(plan.changes)
    assert s.refused == len(plan.refusals)
