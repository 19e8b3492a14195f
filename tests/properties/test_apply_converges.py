"""Property: random worlds, random valid specs and random fault schedules. Plan, then apply
under the faults: it converges (a fault-free apply of what is left, then a plan with no
changes) or stops with a clear refusal; and these never break:

- the plan made under the faults is the fault-free plan, or the plan fails (exit 1);
- no key in use is disabled or scheduled for deletion, no instance is locked by us;
- no instance is restarted without --allow-restart (no encryption change without it);
- no write is repeated after a lost answer or a failed run: one encryption change per
  instance at most (the task center counts them), one key per spec key.

Bounded and deterministic: EXAMPLES (40) examples, derandomized (the same examples on every run),
each an in-memory emulator of its own; about 5 s on this machine.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reconciler import cancellation
from reconciler.apply.executor import apply_plan
from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.ratelimit import RateLimiter
from reconciler.cloud.retry import RetryPolicy
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.errors import ApplyError, ReconcilerError
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.spec.models import Spec
from reconciler.state.observe import observe
from tests.apply.conftest import FakeTime, options
from tests.e2e import world

EXAMPLES = int(os.environ.get("RECONCILER_PROPERTY_EXAMPLES", "40"))
HZ = "cn-hangzhou"
CLASSES = {"dedicated": "pg.x4.large.2c", "general": "pg.n2.2c.1m"}
KEYS = ("k1", "k2")  # k1 exists in some worlds (alias/rds-k1); k2 never does at first
WRITES = ("ModifyDBInstanceConfig", "CreateKey", "CreateAlias", "TagResource", "CreatePolicy",
          "CreateRole", "AttachPolicyToRole")  # fmt: skip
READS = ("DescribeDBInstances", "DescribeDBInstanceEncryptionKey", "DescribeKey",
         "ListResourceTags", "GetRole", "DescribeDBInstanceAttribute")  # fmt: skip


@dataclass(frozen=True)
class Case:
    instances: dict[str, tuple[str, str]]  # id -> (class kind, encryption now)
    k1_exists: bool
    k1_tagged: bool
    wanted: dict[str, str]  # managed id -> "disabled" | "service" | a key name
    key_states: dict[str, str]  # spec key name -> enabled | disabled
    allow_restart: bool
    faults: list[dict[str, Any]] = field(default_factory=list)
    busy: dict[str, int] = field(default_factory=dict)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    ids = [f"pgm-bp1prop{n:09d}" for n in range(draw(st.integers(1, 3)))]
    k1_exists = draw(st.booleans())
    instances = {}
    for i in ids:
        kind = draw(st.sampled_from(sorted(CLASSES)))
        cmk = ["alias/rds-k1"] if k1_exists and kind == "dedicated" else []
        instances[i] = (kind, draw(st.sampled_from(["off", "service", *cmk])))
    managed = draw(st.lists(st.sampled_from(ids), unique=True))
    wanted = {i: draw(st.sampled_from(["disabled", "service", *KEYS])) for i in managed}
    declared = sorted({v for v in wanted.values() if v in KEYS} | ({"k1"} if k1_exists else set()))
    key_states = {k: draw(st.sampled_from(["enabled", "enabled", "disabled"])) for k in declared}
    fault = st.one_of(
        st.fixed_dictionaries(
            {
                "action": st.sampled_from(WRITES + READS),
                "code": st.sampled_from(["Throttling.User", "ServiceUnavailable"]),
                "status": st.just(503),
                "times": st.integers(1, 3),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.sampled_from(WRITES),
                "drop_answer": st.sampled_from(["drop", "truncate"]),
                "times": st.just(1),
            }
        ),
        st.fixed_dictionaries(  # a permanent refusal: this run fails, the next converges
            {
                "action": st.sampled_from(WRITES),
                "code": st.just("Forbidden.RAM"),
                "status": st.just(403),
                "times": st.just(1),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("ModifyDBInstanceConfig"),
                "code": st.just("ByokNotAuthorizedToRds"),
                "status": st.just(403),
                "times": st.integers(1, 2),
            }
        ),
    )
    return Case(
        instances=instances,
        k1_exists=k1_exists,
        k1_tagged=draw(st.booleans()),
        wanted=wanted,
        key_states=key_states,
        allow_restart=draw(st.sampled_from([True, True, True, False])),
        faults=draw(st.lists(fault, max_size=3)),
        busy={
            i: draw(st.integers(1, 4)) for i in draw(st.lists(st.sampled_from(ids), unique=True))
        },
    )


def seed_of(case: Case) -> dict[str, Any]:
    tags = {"acs:rds:instance-encryption": "true"} if case.k1_tagged else {}
    return {
        "regions": [HZ],
        "kms_keys": [{"region": HZ, "aliases": ["alias/rds-k1"], "tags": tags}]
        if case.k1_exists
        else [],
        "rds_instances": [
            {"id": i, "region": HZ, "class": CLASSES[kind], "encryption": enc}
            for i, (kind, enc) in case.instances.items()
        ],
    }


def spec_of(case: Case) -> Spec:
    keys = {
        name: {"alias": f"alias/rds-{name}", "state": state}
        for name, state in case.key_states.items()
    }
    instances = {
        i: {"encryption": value if value == "disabled" else {"key": value}}
        for i, value in case.wanted.items()
    }
    return Spec.model_validate(
        {
            "version": 1,
            "defaults": {"region": HZ, "restart": "immediate"},
            "kms_keys": keys,
            "instances": instances,
        }
    )


def clients_for(emu: Emulator) -> CloudClients:
    return CloudClients(
        CloudSettings(
            endpoint=emu.endpoint, credentials=StaticCredentials("emulator", "emulator-secret")
        ),
        retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002),
        # The emulator here has no quota: without client limits (KMS status is 1/s by
        # default), each example's several plans need not wait a second for each other.
        limiter=RateLimiter({}),
    )


def plan_of(spec: Spec, clients: CloudClients, stamp: str = "2030-01-01T00:00:00Z") -> Plan:
    """The plan as the CLI makes it, stamped `stamp` (its ClientTokens derive from it)."""
    return build_plan(spec, observe(spec, clients, parallelism=4), created_at=stamp)


def check_invariants(emu: Emulator, case: Case) -> None:
    from alibabacloud_rds20140815 import models

    rds = world.rds(emu.endpoint)
    attrs = rds.describe_dbinstance_attribute(
        models.DescribeDBInstanceAttributeRequest(dbinstance_id=",".join(case.instances))
    ).body.to_map()["Items"]["DBInstanceAttribute"]
    for item in attrs:  # no instance locked by us (the worlds start with every key enabled)
        assert item.get("LockMode") in (None, "", "Unlock"), item
    tasks = world.admin(emu.endpoint, "GET", "tasks")["tasks"]
    per_instance = [t["instance_id"] for t in tasks]
    assert len(per_instance) == len(set(per_instance)), f"an instance changed twice: {tasks}"
    if not case.allow_restart:
        assert tasks == [], "an instance was restarted without --allow-restart"
    for region_key in user_keys(emu):  # a key in use is never disabled or deleted
        state, users = region_key
        assert not (users and state != "Enabled"), region_key


def user_keys(emu: Emulator) -> list[tuple[str, int]]:
    from alibabacloud_kms20160120 import models as kms_models
    from alibabacloud_rds20140815 import models

    kms = world.kms(emu.endpoint)
    rds = world.rds(emu.endpoint)
    listed = kms.list_keys(
        kms_models.ListKeysRequest(
            page_size=100, filters='[{"Key":"CreatorType","Values":["User"]}]'
        )
    ).body.keys.key
    found = []
    for key in listed:
        state = kms.describe_key(kms_models.DescribeKeyRequest(key_id=key.key_id))
        users = rds.describe_kms_associate_resources(
            models.DescribeKmsAssociateResourcesRequest(
                region_id=HZ,
                kms_resource_id=key.key_id,
                kms_resource_region_id=HZ,
                kms_resource_type="key",
                kms_resource_user=world.ACCOUNT,
            )
        ).body.associate_dbinstances
        found.append((state.body.key_metadata.key_state, len(users or [])))
    return found


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_apply_under_faults_converges_or_refuses_and_breaks_no_invariant(case: Case) -> None:
    cancellation.reset()
    with tempfile.TemporaryDirectory() as folder:
        seed = os.path.join(folder, "seed.yaml")
        with open(seed, "w") as handle:
            yaml.safe_dump(seed_of(case), handle)
        with Emulator(":memory:", settings=Settings(restart_seconds=2), seed=seed) as emu:
            run_case(emu, case)


def run_case(emu: Emulator, case: Case) -> None:
    spec = spec_of(case)
    clients = clients_for(emu)
    fault_free = plan_of(spec, clients)
    keys_before = len(user_keys(emu))
    for body in case.faults:
        world.admin(emu.endpoint, "POST", "faults", body)
    # 1. A plan made under the faults is the fault-free plan, or it fails.
    try:
        under = plan_of(spec, clients)
    except ReconcilerError:
        under = None
        event("the plan under the faults failed (exit 1)")
    if under is not None:
        assert under == fault_free, "a fault changed the plan"
    # A busy instance is a state of the world, not a fault of the wire: held after the plan.
    for instance_id, reads in case.busy.items():
        world.admin(emu.endpoint, "POST", "busy", {"instance_id": instance_id, "reads": reads})
    # 2. Apply under the faults.
    time = FakeTime(emu)
    world.reset_calls(emu.endpoint)
    try:
        result = apply_plan(fault_free, clients, options(time, allow_restart=case.allow_restart))
    except ApplyError:  # refused before any write: refusals, or restarts not allowed
        restarting = any(c.restart for c in fault_free.changes)
        assert fault_free.refusals or (restarting and not case.allow_restart)
        event("refused before any write" if fault_free.refusals else "restart not allowed")
        assert not [a for a in world.calls(emu.endpoint) if a.split(":")[1] in WRITES]
        check_invariants(emu, case)
        return
    world.admin(emu.endpoint, "DELETE", "faults")
    check_invariants(emu, case)
    # 3. What is left, fault-free: converges (a failed first run made no duplicate).
    event("applied" if result.ok else "apply failed under the faults, then converged")
    if not result.ok:
        again = plan_of(spec, clients)
        assert not again.refusals, again.refusals
        assert apply_plan(
            again, clients, options(time, allow_restart=True, allow_irreversible=True)
        ).ok
        check_invariants(emu, case)
    assert plan_of(spec, clients).changes == [], "apply did not converge"
    created = sum(1 for c in fault_free.changes if "kms:CreateKey" in c.op_names)
    assert len(user_keys(emu)) == keys_before + created, "a key was created twice"
