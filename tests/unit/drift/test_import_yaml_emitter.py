"""Import writes its entries with libyaml's emitter when PyYAML has it (drift/importer.py,
`_dump`: ten times faster than the pure-Python one). The files must not depend on which one a
machine has: both write the same text for letters, digits, punctuation and spaces; for any
text, what import writes reads back as the same value (they escape control characters and
those beyond U+FFFF differently)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.drift import importer

pytestmark = pytest.mark.skipif(
    not getattr(yaml, "__with_libyaml__", False), reason="PyYAML built without libyaml"
)

PRINTABLE = st.characters(
    max_codepoint=0xFFFF, categories=("Lu", "Ll", "Lo", "Nd", "Pc", "Pd", "Po", "Sm", "Zs")
)
"""Letters, digits, punctuation and spaces of the BMP: what names, tags and descriptions hold."""
KEYS = st.from_regex(r"[a-z][a-z0-9_./-]{0,30}", fullmatch=True)
"""Import's keys: field names, instance ids, key names, tag keys (never empty)."""
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(PRINTABLE, max_size=120),
    st.sampled_from(["yes", "no", "on", "0123", "1e3", "null", "~", "a: b", "# x", "- y", ""]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


def _pure(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_libyaml_writes_what_the_pure_python_emitter_writes(data: dict[str, Any]) -> None:
    assert importer._dump(data) == _pure(data)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(KEYS, st.text(st.characters(exclude_categories=("Cs",)), max_size=40)))
def test_any_text_reads_back_as_itself(data: dict[str, Any]) -> None:
    """Any text import writes reads back as the same value (libyaml escapes what it must; the
    pure-Python emitter folds a NEL, U+0085, into a space: libyaml is the safer of the two)."""
    assert yaml.safe_load(importer._dump(data)) == data


def test_an_imported_entry_is_the_same_text_with_either_emitter() -> None:
    entry = {
        "pgm-bp1ded0000000001": {
            "region": "cn-hangzhou",
            "encryption": {"key": "alias/rds-prod"},
            "tde": {"enabled": True, "key": "service"},
            "restart": "maintenance_window",
            "description": "说明: a long description that goes on and on past eighty columns, "
            "with # and : in it",
        }
    }
    assert importer._dump(entry) == _pure(entry)
