"""Exit 0 when a merged sharded plan equals the unsharded one, else 1 naming what differs.

    demo-fleet-compare.py WHOLE.json MERGED.json

Compared: the changes (in order, each with its operations; ClientTokens left out, as they derive
from each plan's own id), the refusals, the warnings, the summary and the spec digest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FIELDS = ("changes", "refusals", "warnings", "summary", "spec_digest")


def comparable(plan: dict[str, Any]) -> dict[str, Any]:
    for change in plan["changes"]:
        for operation in change["operations"]:
            operation["params"].pop("ClientToken", None)
    return {field: plan[field] for field in FIELDS}


def main(whole_path: str, merged_path: str) -> int:
    whole, merged = (comparable(json.loads(Path(p).read_text())) for p in (whole_path, merged_path))
    differ = [field for field in FIELDS if whole[field] != merged[field]]
    if differ:
        print(f"the merged shards differ from the unsharded plan in: {', '.join(differ)}")
        return 1
    print(
        f"the 4 shards merged equal the unsharded plan: {len(whole['changes'])} change(s), "
        f"{len(whole['refusals'])} refusal(s), {len(whole['warnings'])} warning(s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
