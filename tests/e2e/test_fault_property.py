"""Property: under one persistent fault on any read action, the plan is the fault-free plan
or a clear error (ReconcilerError), never anything else.

Worlds: the demo world with specs that touch every read (the repo's fleet, a maintenance-window
rollout, a spec that disables a key, RAM verified only). Faults: any read action, answered
with any code and status from a pool of real and odd answers, on every call (rate 1.0).

One exclusion, by definition: an answer documented to state that the resource asked for does
not exist (DescribeKey's Forbidden.KeyNotFound/AliasNotFound, GetRole's EntityNotExist.Role,
GetPolicy's EntityNotExist.Policy, the by-id lookup's InvalidDBInstanceId.NotFound) and KMS's
"not activated" are facts, so the plan rightly follows them. The same codes on any OTHER
action are in the pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cloud.clients import CloudClients, CloudSettings, StaticCredentials
from reconciler.cloud.ratelimit import RateLimiter
from reconciler.cloud.retry import RetryPolicy
from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from reconciler.errors import ReconcilerError
from reconciler.plan.model import Plan
from reconciler.plan.planner import build_plan
from reconciler.spec.loader import load_spec
from reconciler.state.observe import observe
from tests.e2e import world

READ_ACTIONS = [
    "rds:DescribeDBInstances",
    "rds:DescribeDBInstanceEncryptionKey",
    "rds:DescribeDBInstanceAttribute",
    "rds:DescribeKmsAssociateResources",
    "rds:DescribeHistoryTasks",
    "kms:DescribeKey",
    "kms:ListResourceTags",
    "kms:ListAliasesByKeyId",
    "kms:DescribeAccountKmsStatus",
    "ram:GetPolicy",
    "ram:GetRole",
    "ram:ListPoliciesForRole",
]
ANSWERS = [
    (400, "InvalidParameter"),
    (400, "MissingParameter"),
    (403, "OperationDenied"),
    (403, "NoPermission"),
    (403, "Forbidden.RAM"),
    (404, "InvalidDBInstanceId.NotFound"),
    (404, "Forbidden.KeyNotFound"),
    (404, "Forbidden.AliasNotFound"),
    (404, "EntityNotExist.Role"),
    (404, "EntityNotExist.Policy"),
    (409, "Rejected.Disabled"),
    (400, "Throttling.User"),
    (500, "InternalError"),
    (503, "ServiceUnavailable"),
    (418, "SomethingNew"),
]
FACTS = {
    ("kms:DescribeKey", "Forbidden.KeyNotFound"),
    ("kms:DescribeKey", "Forbidden.AliasNotFound"),
    ("ram:GetRole", "EntityNotExist.Role"),
    ("ram:GetPolicy", "EntityNotExist.Policy"),
    ("rds:DescribeDBInstances", "InvalidDBInstanceId.NotFound"),
}

SPECS: dict[str, dict[str, Any]] = {
    "fleet": {},  # the repo's specs/, loaded from disk
    "maintenance-window": {
        "defaults": {"restart": "maintenance-window"},
        "kms_keys": {"prod": {"alias": "alias/rds-prod", "tags": {"team": "dba"}}},
        "instances": {
            "pgm-bp1ded0000000001": {"encryption": {"key": "prod"}},
            "pgm-bp1gp00000000001": {"encryption": {"key": "service"}},
            "pgm-bp1ded0000000003": {"encryption": "disabled"},
        },
    },
    "disable-a-key": {
        "kms_keys": {
            "legacy": {
                "alias": "alias/rds-legacy",
                "description": "legacy RDS key",
                "tags": {"team": "dba"},
                "state": "disabled",
            }
        },
        "instances": {"pgm-bp1ded0000000003": {"encryption": {"key": "service"}}},
    },
    "ram-verify-only": {
        "ram": {"manage": False},
        "kms_keys": {"prod": {"alias": "alias/rds-prod"}},
        "instances": {"pgm-bp1ded0000000002": {"encryption": {"key": "prod"}}},
    },
}


@dataclass
class World:
    emulator: Emulator
    clients: CloudClients
    paths: dict[str, str]
    fault_free: dict[str, Plan]


def _plan(clients: CloudClients, path: str) -> Plan:
    loaded = load_spec([path])
    observed = observe(loaded.spec, clients, parallelism=4)
    return build_plan(loaded.spec, observed, created_at="2024-01-01T00:00:00Z")


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("specs")
    paths = {"fleet": "specs"}
    for name, doc in SPECS.items():
        if doc:
            (folder / f"{name}.yaml").write_text(yaml.safe_dump({"version": 1, **doc}))
            paths[name] = str(folder / f"{name}.yaml")
    with Emulator(":memory:", settings=Settings(restart_seconds=0), seed="demo") as emulator:
        clients = CloudClients(
            CloudSettings(
                endpoint=emulator.endpoint,
                credentials=StaticCredentials("emulator", "emulator-secret"),
            ),
            # Transient answers are retried, quickly: a persistent fault must still end.
            retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002),
            limiter=RateLimiter({}),  # no quota here: plans need not wait for KMS's 1/s status
        )
        fault_free = {name: _plan(clients, path) for name, path in paths.items()}
        yield World(emulator, clients, paths, fault_free)


def _comparable(plan: Plan) -> Plan:
    return plan.model_copy(update={"created_at": None})


faults = st.tuples(
    st.sampled_from(sorted(SPECS)), st.sampled_from(READ_ACTIONS), st.sampled_from(ANSWERS)
).filter(lambda f: (f[1], f[2][1]) not in FACTS)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(faults)
def test_one_persistent_fault_gives_the_fault_free_plan_or_an_error(
    demo_world: World, fault: tuple[str, str, tuple[int, str]]
) -> None:
    spec_name, action, (status, code) = fault
    endpoint = demo_world.emulator.endpoint
    world.admin(
        endpoint,
        "POST",
        "faults",
        {"action": action, "code": code, "status": status, "rate": 1.0},
    )
    try:
        plan = _plan(demo_world.clients, demo_world.paths[spec_name])
    except ReconcilerError as error:
        assert str(error), "an error says what failed"
        return
    finally:
        world.admin(endpoint, "DELETE", "faults")
    expected = demo_world.fault_free[spec_name]
    assert _comparable(plan) == _comparable(expected), (
        f"{action} answering {status} {code} changed the {spec_name} plan"
    )


def test_the_fault_free_plans_are_worth_checking(demo_world: World) -> None:
    """The worlds plan real changes (or refusals), so a fault that changed them would show."""
    for name, plan in demo_world.fault_free.items():
        assert plan.changes or plan.refusals, name
