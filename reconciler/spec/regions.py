"""The Alibaba Cloud regions the product knows: a spec naming another region is refused.

Public region ids (mainland China, Hong Kong, Asia Pacific, Europe, America, Middle East, and
the finance clouds). The emulator keeps its own, shorter list (reconciler/emulator/regions.py,
which must not import the product); a test checks that it is a subset of this one.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from reconciler.core.region_ids import LONGEST, REGION_SHAPE

if TYPE_CHECKING:  # pragma: no cover - types only (models imports this module)
    from reconciler.spec.models import Spec

REGIONS: tuple[str, ...] = (
    "cn-hangzhou",
    "cn-shanghai",
    "cn-beijing",
    "cn-shenzhen",
    "cn-qingdao",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-chengdu",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-hongkong",
    "cn-nanjing",
    "cn-fuzhou",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "us-west-1",
    "us-east-1",
    "eu-central-1",
    "eu-west-1",
    "me-east-1",
    "me-central-1",
    "cn-shanghai-finance-1",
    "cn-shenzhen-finance-1",
    "cn-beijing-finance-1",
)
_KNOWN = frozenset(REGIONS)


def region_problem(region: str) -> str | None:
    """None for a known region id, else a sentence saying so, with a did-you-mean."""
    if region in _KNOWN:
        return None
    if len(region) > LONGEST or not REGION_SHAPE.fullmatch(region):
        shown = f"`{region}`" if region.isprintable() and len(region) <= LONGEST else "that"
        return (
            f"{shown} is not a region id: one is lowercase letters and digits joined by single "
            "hyphens, e.g. cn-hangzhou or ap-southeast-1"
        )
    close = difflib.get_close_matches(region, REGIONS, n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`?" if close else "e.g. cn-hangzhou or ap-southeast-1"
    return f"`{region}` is not an Alibaba Cloud region: {hint}"


def implicit_region_warning(spec: Spec) -> str | None:
    """The warning for a spec that names no region anywhere (not in defaults, not on a key or
    an instance; no --region, no ALIBABA_CLOUD_REGION_ID) while it declares something: it
    silently means cn-hangzhou. None otherwise (an empty spec touches no region)."""
    if "region" in spec.defaults.model_fields_set or not (spec.instances or spec.kms_keys):
        return None
    named = [k.region for k in spec.kms_keys.values()] + [i.region for i in spec.instances.values()]
    if any(named):
        return None
    return (
        f"the spec names no region, so it means {spec.defaults.region}: set defaults.region "
        "in the spec (or --region, or ALIBABA_CLOUD_REGION_ID) to say so"
    )
