"""The JSON Schema of the spec language, as `reconciler schema` prints it.

Editors use it through a first line `# yaml-language-server: $schema=<path or URL>` in each
spec file (the yaml-language-server of VS Code and others): completion, hover text from the field
descriptions, and errors while typing. specs/spec.schema.json is this output, committed.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.spec.models import Spec

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:rds-encryption-reconciler:spec:1"


def spec_json_schema() -> dict[str, Any]:
    """The spec's JSON Schema (draft 2020-12), generated from the pydantic models."""
    schema = Spec.model_json_schema()
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        **schema,
        "title": "RDS disk encryption reconciler spec, version 1",
    }


def spec_json_schema_text() -> str:
    """The schema as stable, indented JSON with a final newline."""
    return json.dumps(spec_json_schema(), indent=2, sort_keys=False) + "\n"
