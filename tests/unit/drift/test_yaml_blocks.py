"""drift/yaml_blocks.py: a kind's block refers to another kind's resources, and the reference is
resolved to the name that kind gave it (or left as its ident); a reference to a kind that wrote
no block is a bug that stops the import."""

from __future__ import annotations

import pytest

from reconciler.core.facts import ObservedState
from reconciler.drift.yaml_blocks import (
    ImportContext,
    Placement,
    Ref,
    YamlBlock,
    YamlEntry,
    resolved,
)


def _block(*entries: YamlEntry, names: dict[str, str] | None = None) -> YamlBlock:
    return YamlBlock("things", Placement.OWN_FILE, list(entries), names=names or {})


def test_references_are_each_once_in_the_order_first_written() -> None:
    context = ImportContext(ObservedState(), ["cn-hangzhou"])
    context.blocks["a"] = _block(
        YamlEntry("x", {"key": Ref("k", "id-2")}),
        YamlEntry("y", {"keys": [Ref("k", "id-1"), Ref("other", "id-9"), Ref("k", "id-2")]}),
    )
    assert context.references("k") == ["id-2", "id-1"]
    assert context.references("none") == []


def test_a_reference_becomes_the_name_its_kind_gave_else_its_ident() -> None:
    blocks = {"k": _block(names={"id-1": "prod"})}
    data = {"a": Ref("k", "id-1"), "b": [Ref("k", "id-2"), "plain"], "c": 3}
    assert resolved(data, blocks) == {"a": "prod", "b": ["id-2", "plain"], "c": 3}


def test_a_reference_to_a_kind_that_wrote_no_block_stops() -> None:
    with pytest.raises(KeyError):
        resolved({"key": Ref("missing", "id-1")}, {})
