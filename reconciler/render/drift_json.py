"""DriftReport -> the drift JSON document (docs/drift-format.md). Pure and stable: keys in the
model's fixed order, two-space indent, trailing newline."""

from __future__ import annotations

import json

from reconciler.drift.model import DriftReport, drift_to_dict


def render_drift_json(report: DriftReport) -> str:
    return json.dumps(drift_to_dict(report), indent=2, ensure_ascii=False) + "\n"
