"""Stateful property: one world lives through a random sequence of spec edits, out-of-band
changes, injected faults, clock moves and applies. After every step: no instance is locked,
no key in use is disabled or scheduled for deletion; every apply changes each instance at most
once (the task center counts changes); an apply whose plan is refused writes nothing; and
`converge` (faults cleared, apply, plan) always ends with no changes or a refusal.

Bounded and deterministic: MACHINES (40) histories of at most STEPS (10) steps,
derandomized; about 5 s.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reconciler import cancellation
from reconciler.apply.executor import apply_plan
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.errors import ApplyError, ReconcilerError
from reconciler.spec.models import Spec
from tests.apply.conftest import FakeTime, options
from tests.e2e import world
from tests.properties.test_apply_converges import HZ, clients_for, plan_of, user_keys

MACHINES = int(os.environ.get("RECONCILER_STATEFUL_EXAMPLES", "40"))
STEPS = 10
DEDICATED = [f"pgm-bp1stat{n:09d}" for n in range(2)]
GENERAL = "pgm-bp1statgp0000001"
INSTANCES = [*DEDICATED, GENERAL]
SEED = {
    "regions": [HZ],
    "kms_keys": [
        {"region": HZ, "aliases": ["alias/rds-k1"], "tags": {"acs:rds:instance-encryption": "true"}}
    ],
    "rds_instances": [
        *(
            {"id": i, "region": HZ, "class": "pg.x4.large.2c", "encryption": "service"}
            for i in DEDICATED
        ),
        {"id": GENERAL, "region": HZ, "class": "pg.n2.2c.1m", "encryption": "off"},
    ],
}
FAULTS = st.one_of(
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(
                [
                    "ModifyDBInstanceConfig",
                    "CreateKey",
                    "CreateAlias",
                    "DescribeDBInstances",
                    "DescribeKey",
                    "CreateRole",
                    "AttachPolicyToRole",
                ]
            ),
            "code": st.sampled_from(["Throttling.User", "ServiceUnavailable", "Forbidden.RAM"]),
            "status": st.sampled_from([400, 403, 503]),
            "times": st.integers(1, 2),
        }
    ),
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(["ModifyDBInstanceConfig", "CreateKey", "CreateAlias"]),
            "drop_answer": st.just(True),
            "times": st.just(1),
        }
    ),
)


class ApplyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        cancellation.reset()
        self.folder = tempfile.TemporaryDirectory()
        seed = os.path.join(self.folder.name, "seed.yaml")
        with open(seed, "w") as handle:
            yaml.safe_dump(SEED, handle)
        self.emu = Emulator(":memory:", settings=Settings(restart_seconds=2), seed=seed)
        self.emu.start()
        self.clients = clients_for(self.emu)
        self.time = FakeTime(self.emu)
        self.wanted: dict[str, Any] = {}
        self.k2_state = "enabled"
        self.plans = 0

    def stamp(self) -> str:
        """A new created_at for each plan, as the CLI stamps each plan with the clock."""
        self.plans += 1
        return f"2030-01-01T00:{self.plans // 60:02d}:{self.plans % 60:02d}Z"

    def teardown(self) -> None:
        self.emu.stop()
        self.folder.cleanup()

    def spec(self) -> Spec:
        keys: dict[str, Any] = {"k1": {"alias": "alias/rds-k1"}}
        if "k2" in self.wanted.values() or self.k2_state != "enabled":
            keys["k2"] = {"alias": "alias/rds-k2", "state": self.k2_state}
        return Spec.model_validate(
            {
                "version": 1,
                "defaults": {"region": HZ, "restart": "immediate"},
                "kms_keys": keys,
                "instances": {
                    i: {"encryption": v if v == "disabled" else {"key": v}}
                    for i, v in self.wanted.items()
                },
            }
        )

    @rule(
        instance=st.sampled_from(INSTANCES),
        value=st.sampled_from(["service", "disabled", "k1", "k2", None]),
    )
    def edit_spec(self, instance: str, value: str | None) -> None:
        if value is None:
            self.wanted.pop(instance, None)
        else:
            self.wanted[instance] = value

    @rule(state=st.sampled_from(["enabled", "disabled"]))
    def edit_k2_state(self, state: str) -> None:
        self.k2_state = state

    @rule(instance=st.sampled_from(INSTANCES), value=st.sampled_from(["ServiceKey", "disabled"]))
    def out_of_band(self, instance: str, value: str) -> None:
        from alibabacloud_rds20140815 import models

        with contextlib.suppress(Exception):  # busy or locked: the console would refuse it too
            world.rds(self.emu.endpoint).modify_dbinstance_config(
                models.ModifyDBInstanceConfigRequest(
                    dbinstance_id=instance, config_name="encryptionKey", config_value=value
                )
            )

    @rule(body=FAULTS)
    def inject_fault(self, body: dict[str, Any]) -> None:
        world.admin(self.emu.endpoint, "POST", "faults", body)

    @rule(seconds=st.sampled_from([1, 5, 60]))
    def advance_clock(self, seconds: int) -> None:
        world.admin(self.emu.endpoint, "POST", "clock", {"advance_seconds": seconds})

    @rule()
    def apply(self) -> None:
        self._apply()

    @precondition(lambda self: bool(self.wanted))
    @rule()
    def converge(self) -> None:
        world.admin(self.emu.endpoint, "DELETE", "faults")
        self.advance_clock(60)  # any change in flight has finished
        plan = self._apply()
        if plan is None or plan.refusals:
            return
        self.advance_clock(60)
        again = plan_of(self.spec(), self.clients, self.stamp())
        assert again.changes == [] or again.refusals, again.changes

    def _apply(self):  # type: ignore[no-untyped-def]
        try:
            plan = plan_of(self.spec(), self.clients, self.stamp())
        except ReconcilerError:
            return None  # a fault stopped the plan: exit 1, nothing written
        before = {t["task_id"] for t in world.admin(self.emu.endpoint, "GET", "tasks")["tasks"]}
        world.reset_calls(self.emu.endpoint)
        try:
            apply_plan(
                plan, self.clients, options(self.time, allow_restart=True, allow_irreversible=True)
            )
        except ApplyError:
            assert plan.refusals, "refused without a refusal"
            assert not [a for a in world.calls(self.emu.endpoint) if "Modify" in a or "Create" in a]
            return plan
        new = [
            t["instance_id"]
            for t in world.admin(self.emu.endpoint, "GET", "tasks")["tasks"]
            if t["task_id"] not in before
        ]
        assert len(new) == len(set(new)), f"an instance was changed twice in one apply: {new}"
        assert set(new) <= {c.target_id for c in plan.changes}, "an instance not in the plan"
        return plan

    @invariant()
    def nothing_locked_and_no_key_in_use_disabled(self) -> None:
        """Read past the injected faults: they are set aside for the check, then put back."""
        faults = world.admin(self.emu.endpoint, "GET", "faults")["faults"]
        world.admin(self.emu.endpoint, "DELETE", "faults")
        try:
            self._check_world()
        finally:
            for fault in faults:
                if not fault.get("times"):
                    continue  # used up
                body = {k: v for k, v in fault.items() if v is not None and k != "rate"}
                world.admin(self.emu.endpoint, "POST", "faults", body)

    def _check_world(self) -> None:
        from alibabacloud_rds20140815 import models

        items = (
            world.rds(self.emu.endpoint)
            .describe_dbinstance_attribute(
                models.DescribeDBInstanceAttributeRequest(dbinstance_id=",".join(INSTANCES))
            )
            .body.to_map()["Items"]["DBInstanceAttribute"]
        )
        for item in items:
            assert item.get("LockMode") in (None, "", "Unlock"), item
        for state, users in user_keys(self.emu):
            assert not (users and state != "Enabled"), (state, users)


ApplyMachine.TestCase.settings = settings(
    max_examples=MACHINES,
    stateful_step_count=STEPS,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_random_histories_never_lock_repeat_or_diverge = ApplyMachine.TestCase
