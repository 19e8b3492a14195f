"""Properties of build_plan over arbitrary valid specs and arbitrary observed states: it never
raises, it is deterministic, and its output is well-formed (order respects depends_on, a refused
address has no change, the summary adds up, the plan file round-trips)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.facts import ObservedInstance, ObservedKey, ObservedState
from reconciler.plan.actions import (
    ENCRYPTION_DISABLED,
    KNOWN_AFTER_APPLY,
    SERVICE_KEY_CONFIG_VALUE,
    Action,
    WarningCode,
)
from reconciler.plan.model import Change, Plan, load_plan
from reconciler.plan.planner import build_plan
from reconciler.plan.ram_documents import (
    RDS_ENCRYPTION_POLICY_DOCUMENT,
    RDS_ENCRYPTION_TRUST_DOCUMENT,
    same_policy_document,
)
from reconciler.plan.ram_eval import (
    KEY_USE_ACTIONS,
    Verdict,
    evaluate,
    key_use_request,
    trust_lets_service_assume,
)
from reconciler.render.json import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.spec.models import RestartPolicy, Spec

ACCOUNT = "1234567890123456"
REGIONS = ["cn-hangzhou", "cn-shanghai"]
KEY_NAMES = ["k1", "k2", "k3"]
CMK_IDS = ["key-aaaa00001", "key-bbbb00002", "key-cccc00003"]
SERVICE_KEY_ID = "key-svchz0001"
KEY_IDS = [*CMK_IDS, SERVICE_KEY_ID]
INSTANCE_IDS = ["pgm-aaaa0001", "pgm-bbbb0002", "pgm-cccc0003", "pgm-dddd0004"]

regions = st.sampled_from([REGIONS[0]] * 9 + REGIONS[1:])
"""Mostly one region, so that keys, instances and the spec meet."""


def mostly(usual: Any, *others: Any) -> st.SearchStrategy[Any]:
    """`usual` four times in five; otherwise one of `others`."""
    return st.sampled_from([usual] * 4 * len(others) + list(others))


def some_of(names: list[str]) -> st.SearchStrategy[list[str]]:
    """A subset of `names`, each one more likely in than out."""
    return st.lists(
        st.sampled_from([True, True, False]), min_size=len(names), max_size=len(names)
    ).map(lambda keep: [n for n, k in zip(names, keep, strict=True) if k])


small_text = st.sampled_from(["", "prod", "legacy RDS key"])
tags = st.dictionaries(
    st.sampled_from(["team", "env", "acs:rds:instance-encryption", "acs:sys:x"]),
    st.sampled_from(["dba", "true", "True", "x"]),
    max_size=3,
)


@st.composite
def spec_documents(draw: st.DrawFn) -> dict[str, Any]:
    keys = {}
    for name in draw(some_of(KEY_NAMES)):
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
            "deletion_protection": draw(mostly(False, True)),
            "state": draw(st.sampled_from(["enabled", "disabled", "pending-deletion"])),
            "tags": draw(
                st.dictionaries(
                    st.sampled_from(["team", "env"]), st.sampled_from(["dba", "x"]), max_size=2
                )
            ),
        }
    refs = st.sampled_from(["service", *KEY_NAMES, *KEY_IDS])
    instances = {}
    for iid in draw(some_of(INSTANCE_IDS)):
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
        "ram": draw(
            st.none()
            | st.fixed_dictionaries(
                {"manage": st.booleans(), "policy_type": st.sampled_from(["custom", "system"])}
            )
        ),
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
        # Weighted towards instances that can take a change, so the safety properties bite.
        "engine": draw(st.sampled_from(["PostgreSQL"] * 3 + ["MySQL"])),
        "category": draw(
            st.sampled_from(
                ["Basic", "HighAvailability", "cluster"] * 2 + ["AlwaysOn", "serverless_basic"]
            )
        ),
        "class_code": draw(st.sampled_from(["pg.x4.large.2c"] * 2 + ["pg.n2.2c.1m", "weird"])),
        "class_type": draw(st.none() | st.sampled_from(["x", "s", "d", "d", "h"])),
        "storage_type": draw(st.sampled_from(["cloud_essd", "general_essd", "cloud_ssd"])),
        "status": "Running",
        "lock_mode": draw(mostly("Unlock", "LockByDiskEncryption")),
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


_DENY_DECRYPT = {
    "Version": "1",
    "Statement": [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}],
}
_KMS_FULL_ACCESS = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
}
_LIST_KEYS = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": "kms:List*", "Resource": "*"}],
}
EXTRA_POLICY_NAMES = [("NoDecrypt", "custom"), ("AliyunKMSFullAccess", "system"),
                      ("ListKeys", "custom")]  # fmt: skip
"""Policies other than the spec's that may be attached to the role, as (name, spec type)."""


def _record(name: str, policy_type: str, document: dict) -> dict[str, Any]:
    return {"name": name, "policy_type": policy_type, "default_version": "v1", "document": document}


_POLICY_RECORDS = [
    _record("AliyunRDSInstanceEncryptionRolePolicy", t, d)
    for t in ("Custom", "System")
    for d in (RDS_ENCRYPTION_POLICY_DOCUMENT, {"Version": "1"})
] + [
    _record("NoDecrypt", "Custom", _DENY_DECRYPT),
    _record("AliyunKMSFullAccess", "System", _KMS_FULL_ACCESS),
    _record("ListKeys", "Custom", _LIST_KEYS),
]


def _record_key(record: dict) -> tuple[str, str]:
    return record["name"], record["policy_type"]


@st.composite
def observed_documents(draw: st.DrawFn) -> dict[str, Any]:
    # One fact per key id, shared by `keys` and `keys_by_id` as observe would read it; two spec
    # names may find the same key (one KMS key can carry several aliases).
    facts = {k: draw(observed_keys(k)) for k in KEY_IDS}
    key_ids = draw(st.lists(st.sampled_from(KEY_IDS), unique=True, max_size=4))
    keys_by_id = {k: draw(st.none() | st.just(facts[k])) for k in key_ids}
    keys = {  # found by alias: never the service key (alias/acs/ is reserved)
        n: draw(st.none() | st.sampled_from(CMK_IDS).map(facts.__getitem__))
        for n in draw(some_of(KEY_NAMES))
    }
    instance_ids = draw(some_of(INSTANCE_IDS))
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
                "policy": st.none() | st.sampled_from(_POLICY_RECORDS[:4]),
                "attached_policies": st.lists(
                    st.sampled_from(_POLICY_RECORDS), max_size=4, unique_by=_record_key
                ),
            }
        )
    )
    return {
        "account_id": draw(mostly(ACCOUNT, None, "9999999999999999")),
        "kms_activated": draw(mostly(True, False)),
        "ram": ram,
        "keys": keys,
        "keys_by_id": keys_by_id,
        "service_keys": draw(st.sampled_from([{}, {"cn-hangzhou": SERVICE_KEY_ID}])),
        "instances": {i: draw(observed_instances(i)) for i in instance_ids},
        "regions_listed": REGIONS,
        # A key's census may be missing (not read), and may name instances of other engines
        # or not in the observed list; tasks may switch an instance to any key.
        "key_users": {
            k: [{"instance_id": i} for i in draw(some_of([*INSTANCE_IDS, "rm-mysql0001"]))]
            for k in draw(some_of(KEY_IDS))
        },
        "tasks": [
            {
                "task_id": f"t-{n}",
                "instance_id": i,
                "status": draw(st.sampled_from(["Scheduled", "Running", "Waiting"])),
                "encryption_target": draw(
                    st.none() | st.sampled_from([*KEY_IDS, "ServiceKey", "disabled"])
                ),
            }
            for n, i in enumerate(draw(some_of(INSTANCE_IDS)))
        ],
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
        if {"kms:DisableKey", "kms:ScheduleKeyDeletion"} & set(change.op_names):
            for instance in observed.instances.values():
                enc = instance.encryption
                if enc and enc.enabled and change.target_id and enc.key_id == change.target_id:
                    moving = plan.change(f"rds_encryption.{instance.instance_id}")
                    assert moving is not None, f"{change.address} disables a key in use"
                    assert moving.address in change.depends_on
    s = plan.summary
    assert s.create + s.update + s.delete == len(plan.changes)
    assert s.refused == len(plan.refusals)


# --- safety: what a plan may never do, whatever the spec and the cloud look like ---------------

DISABLING = {"kms:DisableKey", "kms:ScheduleKeyDeletion"}
STATE_AFTER_OP = {
    "kms:CancelKeyDeletion": "Disabled",
    "kms:EnableKey": "Enabled",
    "kms:DisableKey": "Disabled",
    "kms:ScheduleKeyDeletion": "PendingDeletion",
}


def _ancestors(plan: Plan) -> dict[str, set[str]]:
    """Every change that must complete before each change (depends_on, transitively)."""
    found: dict[str, set[str]] = {}
    for change in plan.changes:  # in plan order, so dependencies are already in `found`
        found[change.address] = set(change.depends_on).union(*(found[d] for d in change.depends_on))
    return found


def _observed_key(observed: ObservedState, key_id: str) -> ObservedKey | None:
    known = [*observed.keys.values(), *observed.keys_by_id.values()]
    return next((k for k in known if k is not None and k.key_id == key_id), None)


def _key_changes(plan: Plan, key_id: str) -> list[Change]:
    return [c for c in plan.changes if c.address.startswith("kms_key.") and c.target_id == key_id]


def _key_after_plan(plan: Plan, observed: ObservedState, key_id: str) -> tuple[str, dict]:
    """(KeyState, tags) of an existing key once every change of the plan has run."""
    key = _observed_key(observed, key_id)
    assert key is not None
    state, tags = key.state, dict(key.tags)
    for change in _key_changes(plan, key_id):
        for op in change.op_names:
            state = STATE_AFTER_OP.get(op, state)
        if "kms:TagResource" in change.op_names:
            tags.update(change.after["tags"])
    return state, tags


def _uses(instance: ObservedInstance, key_id: str | None) -> bool:
    enc = instance.encryption
    return enc is not None and enc.enabled and key_id is not None and enc.key_id == key_id


def _ram_ready(spec: Spec, observed: ObservedState) -> bool:
    """RAM needs no change: managed, everything the spec names is in place; verify only, the
    role trusts RDS and its attached policies let it use a tagged key (no Deny)."""
    ram, seen = spec.effective_ram(), observed.ram
    if ram is None or seen is None or seen.role is None:
        return False
    if not ram.manage:
        documents = [(p.name, p.document) for p in seen.attached_policies]
        arn = "acs:kms:cn-hangzhou:1:key/k"
        tags = {"acs:rds:instance-encryption": "true"}
        return trust_lets_service_assume(
            seen.role.trust_document
        ).verdict is Verdict.ALLOWED and all(
            evaluate(documents, key_use_request(a, arn, tags)).verdict is Verdict.ALLOWED
            for a in KEY_USE_ACTIONS
        )
    policy_type = "System" if ram.policy_type.value == "system" else "Custom"
    return (
        same_policy_document(seen.role.trust_document, RDS_ENCRYPTION_TRUST_DOCUMENT)
        and seen.policy is not None
        and (
            policy_type == "System"
            or same_policy_document(seen.policy.document, RDS_ENCRYPTION_POLICY_DOCUMENT)
        )
        and seen.attached(ram.policy, policy_type)
    )


def assert_no_key_in_use_is_disabled(plan: Plan, observed: ObservedState) -> None:
    ancestors = _ancestors(plan)
    for change in plan.changes:
        if not DISABLING & set(change.op_names) or change.target_id is None:
            continue  # a key created disabled has no users yet
        census = observed.key_users.get(change.target_id)
        assert census is not None, f"{change.address} disables a key whose users were not counted"
        switching = {
            t.instance_id for t in observed.tasks if t.encryption_target == change.target_id
        }
        for user in {u.instance_id for u in census} | switching:
            move = plan.change(f"rds_encryption.{user}")
            assert user not in switching, f"{change.address}: {user} is switching to it"
            assert move is not None, f"{change.address}: {user} (census) stays on it"
            assert not move.scheduled and move.address in ancestors[change.address]
        for instance in observed.instances.values():
            move = plan.change(f"rds_encryption.{instance.instance_id}")
            target = move.after["config_value"] if move else None
            assert target != change.target_id, f"{change.address} disables a key being adopted"
            if _uses(instance, change.target_id):
                assert move is not None, f"{change.address}: {instance.instance_id} stays on it"
                assert not move.scheduled, f"{change.address}: the move off runs later"
                assert move.address in ancestors[change.address], "disabled before the move"


def assert_switches_only_to_usable_keys(spec: Spec, plan: Plan, observed: ObservedState) -> None:
    ancestors = _ancestors(plan)
    for change in plan.changes:
        if not change.address.startswith("rds_encryption."):
            continue
        value = change.after["config_value"]
        if value in (ENCRYPTION_DISABLED, SERVICE_KEY_CONFIG_VALUE):
            continue
        instance = observed.instances[change.target_id]
        assert instance.class_type == "d", "a CMK on a class that is not dedicated"
        if value == KNOWN_AFTER_APPLY:
            created = plan.change(change.after["key_address"])
            assert created is not None and created.action is Action.CREATE
            assert created.address in ancestors[change.address]
            assert created.region == instance.region
            assert created.after["state"] == "enabled"
        else:
            key = _observed_key(observed, value)
            assert key is not None and key.region == instance.region
            state, tags = _key_after_plan(plan, observed, value)
            assert state == "Enabled", f"{change.address} moves to a {state} key"
            assert tags.get("acs:rds:instance-encryption", "").lower() == "true", "untagged"
            for key_change in _key_changes(plan, value):
                assert key_change.address in ancestors[change.address]
        if not plan.refusals:  # RAM lets the role reach the key by the time the change runs
            ram_changes = {c.address for c in plan.changes if c.address.startswith("ram_")}
            assert ram_changes <= ancestors[change.address]
            assert ram_changes or _ram_ready(spec, observed)


def assert_only_managed_instances_change_with_marks(
    spec: Spec, plan: Plan, observed: ObservedState
) -> None:
    ancestors = _ancestors(plan)
    restarts = {w.address for w in plan.warnings if w.code is WarningCode.RESTART_REQUIRED}
    for change in plan.changes:
        if not change.address.startswith("rds_encryption."):
            continue
        instance_id = change.target_id
        assert instance_id in spec.instances, "an unmanaged instance is changed"
        instance = observed.instances[instance_id]
        assert instance.region == spec.instance_region(instance_id)
        assert change.restart and change.address in restarts
        scheduled = spec.restart_policy(instance_id) is RestartPolicy.MAINTENANCE_WINDOW
        assert change.scheduled == scheduled
        assert change.after["switch_time_mode"] == ("MaintainTime" if scheduled else "Immediate")
        assert change.after["maintenance_window"] == (instance.maintain_time if scheduled else None)
        if instance.lock_mode.lower() != "unlock":  # only once the plan re-enables its key
            current = instance.encryption.key_id if instance.encryption else None
            assert any(
                "kms:EnableKey" in c.op_names and c.address in ancestors[change.address]
                for c in _key_changes(plan, current)
            ), f"{change.address} changes a locked instance"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_documents(), observed_documents())
def test_build_plan_is_safe(spec_doc: dict, observed_doc: dict) -> None:
    spec = Spec.model_validate(spec_doc)
    observed = ObservedState.model_validate(observed_doc)
    plan = build_plan(spec, observed)
    assert_no_key_in_use_is_disabled(plan, observed)
    assert_switches_only_to_usable_keys(spec, plan, observed)
    assert_only_managed_instances_change_with_marks(spec, plan, observed)
