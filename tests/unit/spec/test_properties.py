"""Properties over generated input.

1. Any text, bytes or nested structure either loads or raises SpecError: never another
   exception, never a hang (each example has a deadline).
2. Whatever pydantic accepts, the published JSON Schema accepts too, so an editor never flags a
   spec the tool takes. The generator mixes valid and invalid values so both sides get exercised.
3. Every file in specs/ and specs/examples/* loads, and passes the JSON Schema.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.errors import SpecError
from reconciler.spec import load_spec
from reconciler.spec.models import Spec
from reconciler.spec.schema import spec_json_schema

REPO = Path(__file__).parents[3]
VALIDATOR = jsonschema.Draft202012Validator(spec_json_schema())
FAST = settings(deadline=2000, max_examples=150, suppress_health_check=[HealthCheck.too_slow])

YAMLISH = st.text(
    alphabet=" :-\n{}[],&*!|>?#'\"%@`\t~.0123456789abcdeklnoprsuyAZ_/\\é", max_size=300
)


def _load_text(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spec.yaml"
        path.write_bytes(data)
        try:
            load_spec([path])
        except SpecError as error:
            assert error.diagnostics, "a SpecError must carry at least one diagnostic"
            for diagnostic in error.diagnostics:
                assert diagnostic.file == str(path) and diagnostic.message


@FAST
@given(st.one_of(st.text(max_size=300), YAMLISH))
def test_any_text_loads_or_raises_spec_error(text: str) -> None:
    _load_text(text.encode("utf-8"))


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_load_or_raise_spec_error(data: bytes) -> None:
    _load_text(data)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 1000),
    st.text(max_size=12),
    st.sampled_from(["service", "disabled", "immediate", "alias/k", "cn-hangzhou", "no", "0777"]),
)
NESTED = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "version",
                        "defaults",
                        "instances",
                        "kms_keys",
                        "key",
                        "encryption",
                        "pgm-bp1aaaa0001",
                        "alias",
                        "region",
                    ]
                ),
                st.text(max_size=8),
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=25,
)


@FAST
@given(NESTED)
def test_any_nested_structure_loads_or_raises_spec_error(value: Any) -> None:
    _load_text(yaml.safe_dump(value, allow_unicode=True).encode("utf-8"))


def _maybe(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, good, bad)


REGION = _maybe(
    st.sampled_from(["cn-hangzhou", "cn-shanghai", "ap-southeast-1"]),
    st.sampled_from(["Hangzhou", "", "cn-hangzhou\n", 5]),
)
KEY_NAME = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
KEY = st.fixed_dictionaries(
    {
        "alias": _maybe(
            st.from_regex(r"alias/[a-z][a-z0-9_/-]{0,20}", fullmatch=True),
            st.sampled_from(["alias/acs/rds", "rds", "alias/ bad"]),
        )
    },
    optional={
        "region": REGION,
        "description": _maybe(st.text(max_size=20), st.integers()),
        "rotation": st.fixed_dictionaries(
            {},
            optional={
                "enabled": _maybe(st.booleans(), st.sampled_from(["yes", 1])),
                "interval_days": _maybe(
                    st.integers(7, 730), st.sampled_from([6, 731, "365", 365.0])
                ),
            },
        ),
        "deletion_protection": _maybe(st.booleans(), st.just("true")),
        "state": _maybe(
            st.sampled_from(["enabled", "disabled", "pending-deletion"]), st.just("deleted")
        ),
        "tags": st.dictionaries(
            st.text(min_size=1, max_size=10),
            _maybe(st.text(max_size=10), st.booleans()),
            max_size=3,
        ),
    },
)
INSTANCE = st.fixed_dictionaries(
    {
        "encryption": _maybe(
            st.one_of(st.just("disabled"), st.fixed_dictionaries({"key": KEY_NAME})),
            st.sampled_from(["enabled", None, {"key": ""}]),
        )
    },
    optional={
        "region": REGION,
        "restart": _maybe(st.sampled_from(["immediate", "maintenance-window"]), st.just("now")),
    },
)
SPEC = st.fixed_dictionaries(
    {},
    optional={
        "version": _maybe(st.just(1), st.sampled_from([2, True, "1"])),
        "defaults": st.fixed_dictionaries(
            {},
            optional={
                "region": REGION,
                "account": _maybe(st.from_regex(r"[0-9]{16}", fullmatch=True), st.integers()),
                "restart": st.sampled_from(["immediate", "maintenance-window"]),
            },
        ),
        "ram": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    "manage": _maybe(st.booleans(), st.just("no")),
                    "role": st.text(max_size=70),
                    "policy": st.text(max_size=70),
                },
            ),
        ),
        "kms_keys": st.dictionaries(_maybe(KEY_NAME, st.just("bad name")), KEY, max_size=3),
        "instances": st.dictionaries(
            _maybe(st.from_regex(r"pgm-[a-z0-9]{4,20}", fullmatch=True), st.just("rm-abcd")),
            INSTANCE,
            max_size=4,
        ),
    },
)


@settings(max_examples=400, deadline=None)
@given(SPEC)
def test_what_pydantic_accepts_the_json_schema_accepts(data: dict[str, Any]) -> None:
    try:
        Spec.model_validate(data)
    except ValidationError:
        return
    errors = [e.message for e in VALIDATOR.iter_errors(json.loads(json.dumps(data)))]
    assert errors == []


def _spec_files() -> list[Path]:
    return sorted(p for p in (REPO / "specs").rglob("*.y*ml"))


def test_the_fleet_and_every_example_validate() -> None:
    folders = [REPO / "specs", *sorted(p for p in (REPO / "specs" / "examples").iterdir())]
    assert len(folders) >= 6
    for folder in folders:
        loaded = load_spec([folder])
        assert loaded.files, folder


@pytest.mark.parametrize("path", _spec_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_spec_file_passes_the_schema_and_names_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    schema_ref = text.splitlines()[0].split("$schema=", 1)[1].strip()
    assert (path.parent / schema_ref).resolve() == REPO / "specs" / "spec.schema.json"
    assert list(VALIDATOR.iter_errors(yaml.safe_load(text))) == []


def test_the_fleet_matches_the_demo_world() -> None:
    spec = load_spec([REPO / "specs"]).spec
    assert spec.defaults.account == "1234567890123456"
    assert set(spec.kms_keys) == {"rds-prod", "rds-prod-sh", "rds-legacy"}
    assert spec.key_region("rds-prod-sh") == "cn-shanghai"
    assert "pgm-bp1gp00000000003" not in spec.instances  # unmanaged on purpose
    assert spec.instance_region("pgm-uf6ded0000000001") == "cn-shanghai"
    assert len(spec.instances) == 6
