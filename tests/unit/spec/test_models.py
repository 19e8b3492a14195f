"""The spec models on their own: defaults, bounds, reserved names and the derived helpers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reconciler.spec.models import (
    DEFAULT_POLICY,
    DEFAULT_ROLE,
    Defaults,
    KeyRef,
    KeyState,
    KmsKeySpec,
    RamSpec,
    RestartPolicy,
    Rotation,
    Spec,
    is_key_id,
)


def _spec(**instances: dict) -> Spec:
    return Spec.model_validate(
        {
            "defaults": {"region": "cn-hangzhou"},
            "kms_keys": {"k": {"alias": "alias/k", "region": "cn-shanghai"}},
            "instances": instances,
        }
    )


def test_defaults_of_an_empty_spec() -> None:
    spec = Spec()
    assert spec.version == 1
    assert spec.defaults == Defaults(region="cn-hangzhou", restart=RestartPolicy.MAINTENANCE_WINDOW)
    assert spec.ram is None and spec.effective_ram() is None
    assert spec.regions() == ["cn-hangzhou"]


def test_models_are_frozen_and_forbid_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        Spec().defaults.region = "cn-shanghai"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        KmsKeySpec.model_validate({"alias": "alias/k", "colour": "blue"})


@pytest.mark.parametrize("days", [7, 365, 730])
def test_rotation_interval_within_kms_bounds(days: int) -> None:
    assert Rotation(interval_days=days).interval_days == days


@pytest.mark.parametrize("days", [6, 731, 0, -1])
def test_rotation_interval_outside_kms_bounds_is_refused(days: int) -> None:
    with pytest.raises(ValidationError):
        Rotation(interval_days=days)


@pytest.mark.parametrize("value", ["365", 365.0, True])
def test_rotation_interval_must_be_an_integer(value: object) -> None:
    with pytest.raises(ValidationError):
        Rotation.model_validate({"interval_days": value})


@pytest.mark.parametrize(
    "alias", ["alias/acs/rds", "alias/ACS/mine", "rds-prod", "alias/", "alias/a b"]
)
def test_bad_aliases_are_refused(alias: str) -> None:
    with pytest.raises(ValidationError):
        KmsKeySpec(alias=alias)


def test_desired_tags_always_carry_the_rds_tag() -> None:
    key = KmsKeySpec(alias="alias/k", tags={"team": "dba"})
    assert key.desired_tags() == {"team": "dba", "acs:rds:instance-encryption": "true"}
    assert key.state is KeyState.ENABLED and key.rotation is None


@pytest.mark.parametrize(
    "instance_id, ok",
    [
        ("pgm-bp1ded0000000001", True),
        ("pgm-uf6abc", True),
        ("rm-bp1abc", False),
        ("pgm-BP1ABC", False),
        ("pgm-", False),
        ("pgm-bp1_abc", False),
    ],
)
def test_instance_id_shape(instance_id: str, ok: bool) -> None:
    data = {"instances": {instance_id: {"encryption": {"key": "service"}}}}
    if ok:
        assert instance_id in Spec.model_validate(data).instances
    else:
        with pytest.raises(ValidationError):
            Spec.model_validate(data)


@pytest.mark.parametrize(
    "region, ok",
    [
        ("cn-hangzhou", True),
        ("ap-southeast-1", True),
        ("us-east-1", True),
        ("Hangzhou", False),
        ("cn", False),
    ],
)
def test_region_id_shape(region: str, ok: bool) -> None:
    if ok:
        assert Defaults(region=region).region == region
    else:
        with pytest.raises(ValidationError):
            Defaults(region=region)


def test_version_must_be_exactly_one() -> None:
    for bad in (2, True, "1"):
        with pytest.raises(ValidationError):
            Spec.model_validate({"version": bad})


def test_encryption_is_a_reference_or_disabled() -> None:
    spec = _spec(
        **{
            "pgm-bp1aaaa0000001": {"encryption": {"key": "k"}},
            "pgm-bp1aaaa0000002": {"encryption": "disabled"},
        }
    )
    assert spec.instances["pgm-bp1aaaa0000001"].encryption == KeyRef(key="k")
    assert spec.instances["pgm-bp1aaaa0000002"].encryption == "disabled"
    with pytest.raises(ValidationError):
        _spec(**{"pgm-bp1aaaa0000003": {"encryption": "enabled"}})


def test_helpers_resolve_regions_restart_and_ram() -> None:
    spec = _spec(
        **{
            "pgm-uf6aaaa0000001": {
                "encryption": {"key": "k"},
                "region": "cn-shanghai",
                "restart": "immediate",
            },
            "pgm-bp1aaaa0000001": {"encryption": {"key": "service"}},
        }
    )
    assert spec.key_region("k") == "cn-shanghai"
    assert spec.instance_region("pgm-bp1aaaa0000001") == "cn-hangzhou"
    assert spec.restart_policy("pgm-uf6aaaa0000001") is RestartPolicy.IMMEDIATE
    assert spec.restart_policy("pgm-bp1aaaa0000001") is RestartPolicy.MAINTENANCE_WINDOW
    assert spec.uses_cmk()
    assert spec.effective_ram() == RamSpec(manage=True, role=DEFAULT_ROLE, policy=DEFAULT_POLICY)
    assert spec.regions() == ["cn-hangzhou", "cn-shanghai"]


def test_service_key_only_leaves_ram_alone() -> None:
    spec = _spec(**{"pgm-bp1aaaa0000001": {"encryption": {"key": "service"}}})
    assert not spec.uses_cmk() and spec.effective_ram() is None


def test_key_id_recognition() -> None:
    assert is_key_id("0b9a7c5e-1d2f-4a3b-8c9d-0e1f2a3b4c5d")
    assert is_key_id("key-hzz65f0d4b1c2d3e4f5a6")
    assert not is_key_id("rds-prod") and not is_key_id("service")


def test_every_field_has_a_description() -> None:
    schema = Spec.model_json_schema()
    models = [schema, *schema["$defs"].values()]
    missing = [
        f"{model.get('title')}.{name}"
        for model in models
        for name, prop in model.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []
