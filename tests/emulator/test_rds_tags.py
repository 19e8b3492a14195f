"""RDS instance tags through the real SDK: TagResources, UntagResources, ListTagResources (with
NextToken paging), DescribeDBInstances' Tags filter, the limits and bad inputs, RAM checks per
instance, and tags in seeds (the demo world's selector tags). docs/emulator.md, "RDS: tags"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_rds20140815 import models as m

from reconciler.emulator.seeds import SeedError, apply_seed
from reconciler.emulator.server import Emulator
from reconciler.emulator.store import Store
from tests.emulator.conftest import AdminClient, sdk_client
from tests.emulator.rds_fixtures import (  # noqa: F401  (fixtures)
    ACCOUNT,
    REGION,
    create_instance,
    emulator,
    signature,
)

INSTANCE = "INSTANCE"
Tags = dict[str, str]


def tag(rds: Any, ids: list[str], tags: Tags, region: str = REGION) -> Any:
    items = [m.TagResourcesRequestTag(key=k, value=v) for k, v in tags.items()]
    request = m.TagResourcesRequest(
        region_id=region, resource_type=INSTANCE, resource_id=ids, tag=items
    )
    return rds.tag_resources(request)


def untag(rds: Any, ids: list[str], keys: list[str] | None = None, **extra: Any) -> Any:
    request = m.UntagResourcesRequest(
        region_id=REGION, resource_type=INSTANCE, resource_id=ids, tag_key=keys, **extra
    )
    return rds.untag_resources(request)


def list_page(
    rds: Any,
    ids: list[str] | None = None,
    tags: list[tuple[str, str | None]] | None = None,
    token: str | None = None,
) -> Any:
    filters = [m.ListTagResourcesRequestTag(key=k, value=v) for k, v in tags or []]
    request = m.ListTagResourcesRequest(
        region_id=REGION,
        resource_type=INSTANCE,
        resource_id=ids,
        tag=filters or None,
        next_token=token,
    )
    return rds.list_tag_resources(request).body


def tags_by_instance(rds: Any, **query: Any) -> dict[str, Tags]:
    """Every page of ListTagResources, as instance -> its tags."""
    found: dict[str, Tags] = {}
    token = None
    while True:
        body = list_page(rds, token=token, **query)
        for row in body.tag_resources.tag_resource:
            assert row.resource_type == "ALIYUN::RDS::INSTANCE"
            found.setdefault(row.resource_id, {})[row.tag_key] = row.tag_value
        token = body.next_token
        if token is None:
            return found


def listed_ids(rds: Any, **filters: Any) -> list[str]:
    request = m.DescribeDBInstancesRequest(region_id=REGION, page_size=100, **filters)
    return [i.dbinstance_id for i in rds.describe_dbinstances(request).body.items.dbinstance]


# --- tagging and untagging -----------------------------------------------------------------


def test_tags_are_added_overwritten_and_listed_per_instance(rds: Any) -> None:
    a, b = create_instance(rds), create_instance(rds)
    assert tags_by_instance(rds, ids=[a, b]) == {}  # a new instance carries no tag
    tag(rds, [a, b], {"env": "prod", "team": "payments"})
    tag(rds, [b], {"env": "staging", "empty": ""})  # same key overwrites; a value may be empty
    assert tags_by_instance(rds, ids=[a, b]) == {
        a: {"env": "prod", "team": "payments"},
        b: {"env": "staging", "team": "payments", "empty": ""},
    }


def test_untag_removes_the_keys_given_or_every_tag_with_all(rds: Any) -> None:
    a, b = create_instance(rds), create_instance(rds)
    tag(rds, [a, b], {"env": "prod", "team": "payments", "cost": "42"})
    untag(rds, [a], ["team", "no-such-key"])  # a key the instance lacks is no error
    untag(rds, [b], all=True)
    assert tags_by_instance(rds, ids=[a, b]) == {a: {"env": "prod", "cost": "42"}}
    untag(rds, [a], ["env"], all=True)  # All applies only without TagKey.N (SDK)
    assert tags_by_instance(rds, ids=[a]) == {a: {"cost": "42"}}


def test_twenty_tags_fit_the_twenty_first_is_refused_and_nothing_changes(
    rds: Any, api_error: Callable[..., Any]
) -> None:
    a, b = create_instance(rds), create_instance(rds)
    tag(rds, [b], {f"k{i}": "v" for i in range(20)})
    error = api_error(lambda: tag(rds, [a, b], {"env": "prod"}))
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    assert b in error.data["Message"]
    assert tags_by_instance(rds, ids=[a]) == {}  # a was before b in the call: not tagged either
    tag(rds, [b], {"k0": "overwritten"})  # an existing key does not count twice
    assert tags_by_instance(rds, ids=[b])[b]["k0"] == "overwritten"


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ({"": "v"}, "empty key"),
        ({"k" * 65: "v"}, "key over 64 characters"),
        ({"k": "v" * 129}, "value over 128 characters"),
        ({"aliyun-env": "v"}, "aliyun key prefix"),
        ({"Aliyun:env": "v"}, "aliyun prefix ignoring case"),
        ({"acs:rds:owner": "v"}, "acs: key prefix"),
        ({"env": "aliyun-prod"}, "aliyun value prefix"),
    ],
)
def test_a_bad_tag_is_refused(
    rds: Any, api_error: Callable[..., Any], tags: Tags, why: str
) -> None:
    instance = create_instance(rds)
    error = api_error(lambda: tag(rds, [instance], tags))
    assert (error.status_code, error.code) == (400, "InvalidParameter"), why
    assert tags_by_instance(rds, ids=[instance]) == {}


def test_the_longest_key_and_value_are_accepted(rds: Any) -> None:
    instance = create_instance(rds)
    tag(rds, [instance], {"k" * 64: "v" * 128, "acs-team": "x"})  # "acs-" is not "acs:"
    assert tags_by_instance(rds, ids=[instance]) == {
        instance: {"k" * 64: "v" * 128, "acs-team": "x"}
    }


def test_bad_requests_of_the_writes(rds: Any, api_error: Callable[..., Any]) -> None:
    instance = create_instance(rds)
    gone = "InvalidDBInstanceId.NotFound"
    cases: list[tuple[Callable[[], Any], int, str]] = [
        (lambda: tag(rds, [], {"env": "prod"}), 400, "MissingParameter"),
        (lambda: tag(rds, [instance], {}), 400, "MissingParameter"),
        (lambda: tag(rds, [instance] * 51, {"env": "prod"}), 400, "InvalidParameter"),
        (lambda: tag(rds, ["pgm-bp1nosuchinstance"], {"env": "p"}), 404, gone),
        (lambda: tag(rds, [instance], {"env": "p"}, "cn-shanghai"), 404, gone),
        (lambda: untag(rds, [instance]), 400, "InvalidParameter"),  # neither TagKey nor All
        (lambda: untag(rds, [instance], all=False), 400, "InvalidParameter"),
        (lambda: untag(rds, [instance], [f"k{i}" for i in range(21)]), 400, "InvalidParameter"),
        (lambda: untag(rds, [], ["env"]), 400, "MissingParameter"),
    ]  # fmt: skip
    for call, status, code in cases:
        error = api_error(call)
        assert (error.status_code, error.code) == (status, code), error.data["Message"]


def test_other_resource_types_are_refused(rds: Any, api_error: Callable[..., Any]) -> None:
    instance = create_instance(rds)
    request = m.TagResourcesRequest(
        region_id=REGION,
        resource_type="CUSTOM",
        resource_id=[instance],
        tag=[m.TagResourcesRequestTag(key="env", value="prod")],
    )
    error = api_error(lambda: rds.tag_resources(request))
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    missing = m.ListTagResourcesRequest(region_id=REGION, resource_id=[instance])
    error = api_error(lambda: rds.list_tag_resources(missing))
    assert (error.status_code, error.code) == (400, "MissingParameter")


# --- listing -------------------------------------------------------------------------------


def test_list_by_tags_needs_every_tag_and_a_value_left_out_matches_any(rds: Any) -> None:
    a, b, c = (create_instance(rds) for _ in range(3))
    tag(rds, [a], {"env": "prod", "team": "payments"})
    tag(rds, [b], {"env": "prod", "team": "orders"})
    tag(rds, [c], {"env": "staging", "team": "payments"})
    both = tags_by_instance(rds, tags=[("env", "prod"), ("team", "payments")])
    assert both == {a: {"env": "prod", "team": "payments"}}  # every tag of a matching instance
    assert set(tags_by_instance(rds, tags=[("env", None)])) == {a, b, c}
    assert set(tags_by_instance(rds, tags=[("env", "PROD")])) == set()  # values are exact
    assert set(tags_by_instance(rds, ids=[a, c], tags=[("team", "payments")])) == {a, c}
    assert set(tags_by_instance(rds, ids=[b], tags=[("team", "payments")])) == set()


def test_list_needs_ids_or_tags_and_an_unknown_id_lists_nothing(
    rds: Any, api_error: Callable[..., Any]
) -> None:
    error = api_error(lambda: list_page(rds))
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    assert tags_by_instance(rds, ids=["pgm-bp1nosuchinstance"]) == {}
    error = api_error(lambda: list_page(rds, tags=[("", "v")]))
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    error = api_error(lambda: list_page(rds, ids=[f"pgm-{i}" for i in range(51)]))
    assert (error.status_code, error.code) == (400, "InvalidParameter")


def test_list_pages_with_next_token_until_it_is_left_out(
    rds: Any, api_error: Callable[..., Any]
) -> None:
    ids = [create_instance(rds) for _ in range(3)]
    for instance in ids:
        tag(rds, [instance], {f"k{i:02}": instance for i in range(20)})
    first = list_page(rds, ids=ids)
    assert len(first.tag_resources.tag_resource) == 50 and first.next_token
    second = list_page(rds, ids=ids, token=first.next_token)
    assert len(second.tag_resources.tag_resource) == 10 and second.next_token is None
    rows = first.tag_resources.tag_resource + second.tag_resources.tag_resource
    assert len({(r.resource_id, r.tag_key) for r in rows}) == 60  # no row twice, none lost
    error = api_error(lambda: list_page(rds, ids=ids, token="made-up"))
    assert (error.status_code, error.code) == (400, "InvalidParameter.NextToken")


# --- DescribeDBInstances' Tags filter ------------------------------------------------------


def test_describe_instances_by_tags_matches_any_given_tag(rds: Any) -> None:
    a, b, c, untagged = (create_instance(rds) for _ in range(4))
    tag(rds, [a], {"env": "prod", "team": "payments"})
    tag(rds, [b], {"env": "staging", "team": "payments"})
    tag(rds, [c], {"env": "prod", "team": "orders"})
    assert listed_ids(rds, tags=json.dumps({"env": "prod"})) == [a, c]
    # "If an instance matches any of the specified tags, the instance information is returned"
    # (the SDK model): two tags select a union, not an intersection
    assert listed_ids(rds, tags=json.dumps({"env": "prod", "team": "payments"})) == [a, b, c]
    assert listed_ids(rds, tags=json.dumps({"env": "Prod"})) == []
    assert untagged in listed_ids(rds)
    request = m.DescribeDBInstancesRequest(
        region_id=REGION, tags=json.dumps({"env": "prod"}), page_size=1, page_number=2
    )
    page = rds.describe_dbinstances(request).body
    assert [i.dbinstance_id for i in page.items.dbinstance] == [c]
    assert page.total_record_count == 2


def test_describe_instances_refuses_a_tags_filter_of_another_shape(
    rds: Any, api_error: Callable[..., Any]
) -> None:
    for text in (
        json.dumps([{"Key": "env", "Value": "prod"}]),
        json.dumps({}),
        json.dumps({f"k{i}": "v" for i in range(6)}),
        json.dumps({"env": None}),
        "env=prod",
    ):
        error = api_error(lambda text=text: listed_ids(rds, tags=text))
        assert (error.status_code, error.code) == (400, "InvalidParameter"), text


def test_the_v1_signature_carries_the_flattened_lists(emulator: Emulator) -> None:  # noqa: F811
    rds = sdk_client("rds", emulator.endpoint, "v1")
    instance = create_instance(rds)
    tag(rds, [instance], {"env": "prod", "team": "a b&c=d"})
    assert tags_by_instance(rds, ids=[instance]) == {instance: {"env": "prod", "team": "a b&c=d"}}


# --- RAM -----------------------------------------------------------------------------------

USER_KEY = {"id": "tagger-key", "secret": "tagger-secret-value"}


def test_ram_checks_every_instance_a_tag_action_names(
    emulator: Emulator,  # noqa: F811
    admin: AdminClient,
    rds: Any,
    api_error: Callable[..., Any],
) -> None:
    mine, other = create_instance(rds), create_instance(rds)
    arn = f"acs:rds:{REGION}:{ACCOUNT}:dbinstance/{mine}"
    actions = ["rds:TagResources", "rds:UntagResources", "rds:ListTagResources"]
    document = {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": arn}],
    }
    admin.post("users", {"name": "tagger", "access_keys": [USER_KEY], "documents": [document]})
    user = sdk_client(
        "rds",
        emulator.endpoint,
        access_key_id=USER_KEY["id"],
        access_key_secret=USER_KEY["secret"],
    )
    tag(user, [mine], {"env": "prod"})
    assert tags_by_instance(user, ids=[mine]) == {mine: {"env": "prod"}}
    for call in (
        lambda: tag(user, [mine, other], {"env": "prod"}),
        lambda: untag(user, [other], ["env"]),
        lambda: list_page(user, tags=[("env", "prod")]),  # by tag only: dbinstance/*
    ):
        error = api_error(call)
        assert (error.status_code, error.code) == (403, "Forbidden.RAM")
    assert tags_by_instance(rds, ids=[other]) == {}


# --- seeds ---------------------------------------------------------------------------------


def test_the_demo_world_carries_selector_tags() -> None:
    with Emulator(seed="demo") as demo:
        rds = sdk_client("rds", demo.endpoint)
        prod = tags_by_instance(rds, tags=[("env", "prod")])
        assert set(prod) == {
            "pgm-bp1ded0000000001",
            "pgm-bp1ded0000000002",
            "pgm-bp1ded0000000003",
            "pgm-bp1sls0000000001",
        }
        assert prod["pgm-bp1ded0000000001"] == {"env": "prod", "team": "payments"}
        staging = listed_ids(rds, tags=json.dumps({"env": "staging"}))
        assert staging == ["pgm-bp1gp00000000001", "pgm-bp1gp00000000002", "pgm-bp1ssd0000000001"]
        untagged = ["pgm-bp1gp00000000003", "pgm-bp1ro00000000001"]
        assert tags_by_instance(rds, ids=untagged) == {}
        shanghai = sdk_client("rds", demo.endpoint, region="cn-shanghai")
        request = m.ListTagResourcesRequest(
            region_id="cn-shanghai",
            resource_type=INSTANCE,
            tag=[m.ListTagResourcesRequestTag(key="env", value="prod")],
        )
        rows = shanghai.list_tag_resources(request).body.tag_resources.tag_resource
        assert {r.resource_id for r in rows} == {"pgm-uf6ded0000000001"}


_SEED_INSTANCE = {"id": "pgm-bp1seed00000001", "region": "cn-hangzhou", "class": "pg.x4.large.2c"}


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (
            {"aliyun-env": "prod"},
            r"rds_instances\[0\]\.tags: TagResources failed: InvalidParameter",
        ),
        ({f"k{i}": "v" for i in range(21)}, "at most 20"),
        (["env"], r"rds_instances\[0\]\.tags: must be a mapping"),
    ],
)
def test_bad_seed_tags_fail_the_whole_seed(tmp_path: Path, tags: Any, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps({"rds_instances": [{**_SEED_INSTANCE, "tags": tags}]}))
    store = Store()
    with pytest.raises(SeedError, match=message):
        apply_seed(store, str(path))
    with store.transaction() as tx:
        assert tx.count("rds_instance") == 0


def test_seed_tag_values_keep_their_yaml_text(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    entry = "{id: pgm-bp1seed00000001, region: cn-hangzhou, class: pg.x4.large.2c"
    path.write_text(f"rds_instances:\n  - {entry}, tags: {{flag: true, n: 7, none: null}}}}\n")
    with Emulator(state_path=":memory:") as world:
        apply_seed(world, str(path))
        rds = sdk_client("rds", world.endpoint)
        found = tags_by_instance(rds, ids=["pgm-bp1seed00000001"])
    assert found == {"pgm-bp1seed00000001": {"flag": "true", "n": "7", "none": ""}}
