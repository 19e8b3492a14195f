"""Conformance: every emulated action's raw JSON answer against the official SDK's response
model, recursively.

One scenario (test_response_shapes.py's, plus the states the findings added: Category with
InstanceLevel=1, a DryRun, a deleted key, a SQL Server instance, an InDebt account) drives every
action through the official SDK clients and keeps the JSON bodies the server sent. Then:

1. no unknown field and no wrong type (the model keeps every key with its value and type:
   ``shape_problems``);
2. every enum value is one the model's doc comments list ("Valid values: - **Enabled** ...");
   the RDS instance models of the Python SDK carry no doc comments, so their enums come from the
   documented sets in ``DOCUMENTED_ENUMS`` (the Go SDK's doc comments and Alibaba's help pages,
   docs/real-cloud.md, Sources);
3. every field of the model the emulator never sends is listed, with a reason, in ONE file,
   ``conformance_allowlist.txt``; the test fails on an omission not listed AND on a listed one
   that is now sent, so the list only shrinks. Enum values the emulator chooses where the
   documents have none are listed there too (``enum`` lines).
"""

from __future__ import annotations

import importlib
import json
import re
import typing
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from darabonba.model import DaraModel

from reconciler.emulator.runtime import Settings
from reconciler.emulator.server import Emulator
from tests.emulator.conftest import AdminClient
from tests.emulator.test_response_shapes import (
    CMK,
    MODELS,
    REGION,
    Recorded,
    Sdk,
    _kms,
    _ram,
    _rds,
    all_actions,
    shape_problems,
    sts_scenario,
)

ALLOWLIST = Path(__file__).with_name("conformance_allowlist.txt")

# Documented value sets for fields whose Python SDK model has no doc comment (the RDS instance
# models): the Go SDK's doc comments and help pages (docs/real-cloud.md, Sources).
# DBInstanceStatus also carries CONFIG_ENCRYPTING (inferred from Terraform: allow-listed).
_CATEGORIES = [
    "Basic",
    "HighAvailability",
    "cluster",
    "AlwaysOn",
    "Finance",
    "serverless_basic",
    "serverless_standard",
    "serverless_ha",
]
_INSTANCE_ENUMS = {
    "LockMode": [
        "Unlock",
        "ManualLock",
        "LockByExpiration",
        "LockByRestoration",
        "LockByDiskQuota",
        "LockReadInstanceByDiskQuota",
    ],
    "PayType": ["Postpaid", "Prepaid", "SERVERLESS"],
    "Category": _CATEGORIES,
    "DBInstanceClassType": ["s", "x", "d", "h"],
    "DBInstanceStorageType": [
        "local_ssd",
        "general_essd",
        "cloud_essd",
        "cloud_essd2",
        "cloud_essd3",
        "cloud_ssd",
    ],
    "DBInstanceType": ["Primary", "Readonly", "Guard", "Temp"],
    "InstanceNetworkType": ["VPC", "Classic"],
    "ConnectionMode": ["Standard", "Safe"],
    "Engine": ["MySQL", "SQLServer", "PostgreSQL", "MariaDB"],
    "DBInstanceStatus": [
        "Creating",
        "Running",
        "Deleting",
        "Rebooting",
        "Stopping",
        "Stopped",
        "DBInstanceClassChanging",
        "TRANSING",
        "EngineVersionUpgrading",
        "TransingToOthers",
        "GuardDBInstanceCreating",
        "Restoring",
        "Importing",
        "ImportingFromOthers",
        "DBInstanceNetTypeChanging",
        "GuardSwitching",
        "INS_CLONING",
        "Released",
    ],
}
DOCUMENTED_ENUMS: dict[tuple[str, str], list[str]] = {
    **{("DescribeDBInstanceAttribute", k): v for k, v in _INSTANCE_ENUMS.items()},
    **{("DescribeDBInstances", k): v for k, v in _INSTANCE_ENUMS.items()},
    # The SDK's comments of CallerSource and CallerUid are swapped (CallerUid's reads "The
    # request source. Valid values: System, User"): the set belongs to CallerSource.
    ("DescribeHistoryTasks", "CallerSource"): ["System", "User"],
}
NOT_ENUMS = {
    ("DescribeHistoryTasks", "CallerUid"),  # a user id (see above)
    # a JSON document of steps; its comment lists the operations a step may name
    ("DescribeHistoryTasks", "ActionInfo"),
}


# --- reading the SDK models ---------------------------------------------------------------------


def _hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls.__init__)
    hints.pop("return", None)
    return hints


def _is_model(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, DaraModel)


def _populated(cls: type) -> DaraModel:
    """An instance with every field set, so ``to_map`` shows every wire name."""
    values: dict[str, Any] = {}
    for attr, hint in _hints(cls).items():
        inner = typing.get_args(hint)[0] if typing.get_origin(hint) is list else None
        if inner is not None:
            values[attr] = [_populated(inner) if _is_model(inner) else _sample(inner)]
        elif _is_model(hint):
            values[attr] = _populated(hint)
        else:
            values[attr] = _sample(hint)
    return cls(**values)


def _sample(hint: Any) -> Any:
    return {str: "x", int: 1, float: 1.0, bool: True}.get(hint, {"k": "v"})


def leaf_paths(value: Any, path: str = "") -> set[str]:
    """Paths of the leaves (scalars, empty objects and lists) of a JSON value; list items as
    ``[]``. An empty list is a leaf: its items' fields are not exercised, not omitted."""
    if isinstance(value, dict) and value:
        return set().union(*(leaf_paths(v, f"{path}.{k}" if path else k) for k, v in value.items()))
    if isinstance(value, list) and value:
        return set().union(*(leaf_paths(v, f"{path}[]") for v in value))
    return {path}


@cache
def model_paths(service: str, action: str) -> frozenset[str]:
    module = importlib.import_module(MODELS[service])
    body = getattr(module, f"{action}ResponseBody")
    return frozenset(leaf_paths(_populated(body).to_map()))


_ITEM = re.compile(r"^\s*[-*]\s+(?:\*\*([A-Za-z0-9_./-]+)\*\*|([A-Za-z0-9_./-]+):)")
_BARE_ITEM = re.compile(r"^\s*[-*]\s+([A-Za-z0-9_./-]+)\s*$")  # only after "Valid values"


@cache
def comment_enums(cls: type) -> dict[str, frozenset[str]]:
    """attribute -> the values its doc comment lists, for comments that list values
    ("- **Enabled**: ...", "* **Standard**", "- CMK: ...", and after "Valid values:" a bare
    "- Enabled"); at least two, so that a note or an example is not taken for a set."""
    import inspect

    source = inspect.getsource(cls.__init__).splitlines()
    found: dict[str, frozenset[str]] = {}
    block: list[str] = []
    for line in source:
        text = line.strip()
        if text.startswith("#"):
            block.append(text[1:])
            continue
        match = re.match(r"self\.(\w+) = \w+$", text)
        if match and block:
            values = [m.group(1) or m.group(2) for b in block if (m := _ITEM.match(b))]
            if any("valid value" in b.lower() for b in block):
                values += [m.group(1) for b in block if (m := _BARE_ITEM.match(b))]
            if len(values) >= 2:
                found[match.group(1)] = frozenset(values)
        block = []
    return found


def _wire_names(model: DaraModel) -> dict[str, str]:
    return _wire_names_of(type(model))


@cache
def _wire_names_of(cls: type) -> dict[str, str]:
    """attribute -> wire name, from a populated instance's to_map."""
    populated = _populated(cls)
    mapped = populated.to_map()
    names: dict[str, str] = {}
    for attr in _hints(cls):
        single = type(populated)(**{attr: getattr(populated, attr)}).to_map()
        names[attr] = next(iter(set(single) & set(mapped)), attr)
    return names


def enum_values(action: str, model: DaraModel, path: str = "") -> list[tuple[str, str, set]]:
    """(path, value, allowed) for every string field with a documented value set."""
    out: list[tuple[str, str, set]] = []
    documented = comment_enums(type(model))
    names = _wire_names(model)
    for attr, value in vars(model).items():
        if attr.startswith("_") or value is None:
            continue
        wire = names.get(attr, attr)
        where = f"{path}.{wire}" if path else wire
        items = value if isinstance(value, list) else [value]
        for item in items:
            at = f"{where}[]" if isinstance(value, list) else where
            if isinstance(item, DaraModel):
                out.extend(enum_values(action, item, at))
            elif isinstance(item, str):
                if (action, wire) in NOT_ENUMS:
                    continue
                allowed = DOCUMENTED_ENUMS.get((action, wire)) or documented.get(attr)
                if allowed is not None:
                    out.append((at, item, set(allowed)))
    return out


# --- the allow-list -----------------------------------------------------------------------------


def read_allowlist() -> tuple[dict[str, str], dict[str, str]]:
    """(omitted fields, chosen enum values): ``service:Action path -- reason`` and
    ``enum service:Action path=value -- reason``; ``#`` lines are comments."""
    omitted: dict[str, str] = {}
    enums: dict[str, str] = {}
    for raw in ALLOWLIST.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition(" -- ")
        target = enums if entry.startswith("enum ") else omitted
        key = entry.removeprefix("enum ").strip()
        assert key not in target, f"listed twice: {key}"
        target[key] = reason.strip()
    return omitted, enums


# --- the scenario -------------------------------------------------------------------------------


def _extras(sdk: Sdk, admin: AdminClient, key_id: str) -> None:
    """States the findings added to what the shapes scenario reaches."""
    rds = lambda action, **f: sdk.call("rds", action, **f)  # noqa: E731
    kms = lambda action, **f: sdk.call("kms", action, **f)  # noqa: E731
    rds("DescribeDBInstances", region_id=REGION, instance_level=1, page_size=100)
    create = {
        "region_id": REGION,
        "engine_version": "16.0",
        "dbinstance_storage": 100,
        "dbinstance_net_type": "Intranet",
        "pay_type": "Postpaid",
        "security_iplist": "10.0.0.0/8",
    }
    rds(
        "CreateDBInstance",
        engine="PostgreSQL",
        dbinstance_class="pg.x4.large.2c",
        dry_run=True,
        **create,
    )
    mssql = rds(
        "CreateDBInstance",
        engine="SQLServer",
        dbinstance_class="mssql.x4.medium.s2",
        vpcid="vpc-bp1conform",
        v_switch_id="vsw-bp1conform",
        **create,
    ).dbinstance_id
    admin.post("clock", {"advance_seconds": 600})
    rds("DescribeDBInstanceAttribute", dbinstance_id=mssql)
    # the CMK instance's key deleted: RDS still describes it
    legacy_key = rds("DescribeDBInstanceEncryptionKey", dbinstance_id=CMK, region_id=REGION)
    kms("ScheduleKeyDeletion", key_id=legacy_key.encryption_key, pending_window_in_days=7)
    admin.post("clock", {"advance_seconds": 8 * 86400})
    rds("DescribeDBInstanceEncryptionKey", dbinstance_id=CMK, region_id=REGION)
    rds("DescribeDBInstanceAttribute", dbinstance_id=CMK)  # locked
    for value in ("InDebt", "NotEnabled"):
        admin.post("kms", {"status": value})
        kms("DescribeAccountKmsStatus")
    admin.post("kms", {"status": "Enabled"})


@pytest.fixture(scope="module")
def recorded() -> Iterator[list[Recorded]]:
    with Emulator(seed="demo", settings=Settings(restart_seconds=600.0)) as emulator:
        sdk, admin = Sdk(emulator.endpoint), AdminClient(emulator.base_url)
        key_id = _kms(sdk, admin)
        _ram(sdk)
        _rds(sdk, admin, key_id)
        _extras(sdk, admin, key_id)
        sts_scenario(sdk, admin, emulator.endpoint)
        yield sdk.calls


def _answers(recorded: list[Recorded], service: str, action: str) -> list[Recorded]:
    found = [r for r in recorded if (r.service, r.action) == (service, action)]
    assert found, f"{service}:{action} was not called"
    return found


# --- the tests ----------------------------------------------------------------------------------

ACTIONS = all_actions()


@pytest.mark.parametrize(("service", "action"), ACTIONS, ids=lambda v: v)
def test_no_unknown_field_and_no_wrong_type(
    recorded: list[Recorded], service: str, action: str
) -> None:
    for answer in _answers(recorded, service, action):
        assert shape_problems(answer.response, answer.sent) == [], answer.sent


@pytest.mark.parametrize(("service", "action"), ACTIONS, ids=lambda v: v)
def test_every_enum_value_is_documented(
    recorded: list[Recorded], service: str, action: str
) -> None:
    _, chosen = read_allowlist()
    problems = set()
    for answer in _answers(recorded, service, action):
        for path, value, allowed in enum_values(action, answer.response.body):
            if value not in allowed and f"{service}:{action} {path}={value}" not in chosen:
                problems.add(f"{path}={value!r} not in {sorted(allowed)}")
    assert sorted(problems) == []


def omitted_fields(recorded: list[Recorded]) -> set[str]:
    out: set[str] = set()
    for service, action in ACTIONS:
        sent = set().union(*(leaf_paths(r.sent) for r in _answers(recorded, service, action)))
        for path in model_paths(service, action):
            if path in sent or _inside_empty_list(path, sent):
                continue
            out.add(f"{service}:{action} {path}")
    return out


def _inside_empty_list(path: str, sent: set[str]) -> bool:
    """An item field of a list that was only ever sent empty: not exercised, not omitted."""
    head = path
    while "[]" in head:
        head = head.rsplit("[]", 1)[0]
        if head in sent and not any(p.startswith(head + "[]") for p in sent):
            return True
    return False


def test_omitted_fields_are_exactly_the_allowlist(recorded: list[Recorded]) -> None:
    """A field the model has and the emulator never sends is listed with a reason; a listed
    field that is now sent must leave the list (it only shrinks)."""
    listed, _ = read_allowlist()
    omitted = omitted_fields(recorded)
    assert sorted(omitted - set(listed)) == [], "omitted but not listed"
    assert sorted(set(listed) - omitted) == [], "listed but sent now: remove from the list"
    assert [k for k, reason in listed.items() if not reason] == [], "every entry needs a reason"


def test_chosen_enum_values_are_still_used(recorded: list[Recorded]) -> None:
    _, chosen = read_allowlist()
    used = {
        f"{r.service}:{r.action} {path}={value}"
        for r in recorded
        for path, value, allowed in enum_values(r.action, r.response.body)
        if value not in allowed
    }
    assert sorted(set(chosen) - used) == [], "listed enum guesses no longer answered"
    assert all(chosen.values()), "every enum guess needs a reason"


def test_the_enum_reader_finds_documented_sets() -> None:
    from alibabacloud_kms20160120 import models as km
    from alibabacloud_rds20140815 import models as rm

    assert comment_enums(km.DescribeAccountKmsStatusResponseBody)["account_status"] == {
        "Enabled",
        "NotEnabled",
        "InDebt",
        "Suspended",
    }
    entry = rm.DescribeDBInstanceEncryptionKeyResponseBodyEncryptionKeyList
    assert comment_enums(entry)["key_type"] == {"CMK", "ServiceKey"}
    assert comment_enums(entry)["used_by"] == {"TDE", "DiskEncryption"}


def test_the_checker_fails_an_undocumented_value() -> None:
    from alibabacloud_kms20160120 import models as km

    body = km.DescribeAccountKmsStatusResponseBody(account_status="Disabled", request_id="r")
    [(path, value, allowed)] = enum_values("DescribeAccountKmsStatus", body)
    assert (path, value) == ("AccountStatus", "Disabled") and value not in allowed


def allowlist_counts() -> dict[str, int]:
    listed, chosen = read_allowlist()
    counts: dict[str, int] = {"omitted": len(listed), "enum guesses": len(chosen)}
    for name, prefix in (
        ("DBInstance list item", "rds:DescribeDBInstances Items.DBInstance[]."),
        ("DBInstanceAttribute", "rds:DescribeDBInstanceAttribute Items.DBInstanceAttribute[]."),
    ):
        tops = {
            k[len(prefix) :].split(".")[0].split("[")[0] for k in listed if k.startswith(prefix)
        }
        counts[name] = len(tops)
    return counts


if __name__ == "__main__":  # print the allow-list's counts
    print(json.dumps(allowlist_counts(), indent=2))
