"""Regions come from one list kept in the product (reconciler/spec/regions.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reconciler.emulator.regions import REGIONS as EMULATOR_REGIONS
from reconciler.spec.regions import REGIONS, region_problem
from reconciler.spec.schema import spec_json_schema
from tests.unit.spec.conftest import WriteFile, errors_of, load

REPO = Path(__file__).parents[3]


def test_a_misspelt_region_is_an_error_at_its_line_with_a_did_you_mean(write: WriteFile) -> None:
    text = """\
    version: 1
    defaults: {region: cn-hangzho}
    kms_keys:
      k: {alias: alias/k, region: ap-southeast-9}
    instances:
      pgm-bp1aaaa0000001:
        region: cn-shangai
        encryption: {key: service}
    """
    assert errors_of(write("a.yaml", text)) == [
        "a.yaml:2:20: `defaults.region`: `cn-hangzho` is not an Alibaba Cloud region: "
        "did you mean `cn-hangzhou`?",
        "a.yaml:4:31: `kms_keys.k.region`: `ap-southeast-9` is not an Alibaba Cloud region: "
        "did you mean `ap-southeast-7`?",
        "a.yaml:7:13: `instances.pgm-bp1aaaa0000001.region`: `cn-shangai` is not an Alibaba "
        "Cloud region: did you mean `cn-shanghai`?",
    ]


def test_a_well_formed_region_nothing_like_a_known_one_says_what_is_known() -> None:
    assert region_problem("xx-nowhere-1") == (
        "`xx-nowhere-1` is not an Alibaba Cloud region: e.g. cn-hangzhou or ap-southeast-1"
    )


@pytest.mark.parametrize("region", REGIONS)
def test_every_listed_region_is_accepted(write: WriteFile, region: str) -> None:
    loaded = load(write("a.yaml", f"version: 1\ndefaults: {{region: {region}}}\n"))
    assert loaded.spec.defaults.region == region


def test_the_list_has_no_duplicates_and_covers_the_emulators_regions() -> None:
    assert len(set(REGIONS)) == len(REGIONS) == 31
    assert set(EMULATOR_REGIONS) <= set(REGIONS)


def test_the_emulator_does_not_import_the_product_list() -> None:
    tree = ast.parse((REPO / "reconciler" / "emulator" / "regions.py").read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert imports == []


def test_the_json_schema_lists_the_regions_for_editors() -> None:
    region = spec_json_schema()["$defs"]["Defaults"]["properties"]["region"]
    assert region["enum"] == list(REGIONS)


@pytest.mark.parametrize(
    "region", ['""', "cn-hangzhou/../x", '"CN HANGZHOU"', "cn--hangzhou", "-cn-hangzhou", "cn-"]
)
@pytest.mark.parametrize(
    "where",
    [
        "defaults: {{region: {r}}}",
        "kms_keys:\n  k: {{alias: alias/k, region: {r}}}",
        "instances:\n  pgm-bp1aaaa0000001: {{region: {r}, encryption: disabled}}",
    ],
)
def test_a_region_of_the_wrong_shape_in_a_file_is_an_error_at_its_place(
    write: WriteFile, region: str, where: str
) -> None:
    found = errors_of(write("a.yaml", "version: 1\n" + where.format(r=region) + "\n"))
    assert len(found) == 1, found
    line = 2 + where.count("\n")
    column = where.format(r="@").splitlines()[-1].index("@") + 1
    assert found[0].startswith(f"a.yaml:{line}:{column}: "), found
    assert "cn-hangzhou" in found[0]


@pytest.mark.parametrize("region", ["", "cn-hangzhou/../x", "CN HANGZHOU", "x" * 10_000])
def test_the_region_option_of_the_library_is_checked(write: WriteFile, region: str) -> None:
    from reconciler import workflow
    from reconciler.errors import SpecError

    path = write("a.yaml", "version: 1\n")
    with pytest.raises(SpecError) as caught:
        workflow.load([str(path)], region)
    [problem] = caught.value.diagnostics
    assert problem.file == "--region" and "is not a region id" in problem.message
