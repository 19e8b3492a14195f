"""Fuzzing the loader: structured YAML and byte-level mutations of the repo's own spec files.

Whatever the bytes, loading either succeeds or raises SpecError whose diagnostics name the file,
point at a line and column (or at the file as a whole), and fit on one line: never another
exception, never a hang (each example has a deadline). The number of examples is small so the
suite stays fast; SPEC_FUZZ_EXAMPLES=5000 runs a longer search.

Every input that once broke the loader is kept in corpus/ and replayed by
test_corpus_input_loads_or_reports: add the file there when a run here finds one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import SpecError
from reconciler.spec import load_spec

REPO = Path(__file__).parents[3]
CORPUS = Path(__file__).parent / "corpus"
EXAMPLES = int(os.environ.get("SPEC_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    deadline=3000,
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_loads_or_reports(data: bytes, name: str = "spec.yaml") -> None:
    """The property every input must have (see the module docstring)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            load_spec([path])
        except SpecError as error:
            assert error.diagnostics, "a SpecError must carry at least one diagnostic"
            for diagnostic in error.diagnostics:
                assert diagnostic.file == str(path), diagnostic
                assert diagnostic.line >= 1 and diagnostic.col >= 1, diagnostic
                assert diagnostic.message and diagnostic.message.isprintable(), diagnostic


# --- byte-level mutation of real spec files ----------------------------------------------------

SEEDS = sorted(
    [*(REPO / "specs").rglob("*.y*ml"), *(REPO / "tests" / "cases" / "spec_errors").glob("*.yaml")]
)
TOKENS = [
    b"!!int ",
    b"!!float ",
    b"!!bool ",
    b"!!null ",
    b"!!str ",
    b"!!binary ",
    b"!Ref ",
    b"!<tag:yaml.org,2002:int> ",
    b"&a ",
    b"*a",
    b"[",
    b"]",
    b"{",
    b"}",
    b": ",
    b"- ",
    b"? ",
    b"\t",
    b"'",
    b'"',
    b"|\n",
    b">-\n",
    b"#",
    b"---\n",
    b"...\n",
    b"\n",
    b"    ",
    b"<<: ",
    b"%YAML 1.1\n",
    b"~",
    b"9" * 120,
    b"0x" + b"f" * 40,
    b"1:59:59",
    b".nan",
    b"yes",
    b"0777",
    b"\xef\xbb\xbf",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\\u0000",
    "é".encode(),
]


@st.composite
def mutated(draw: Any) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)).read_bytes())
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["token", "delete", "byte", "line"]))
        if operation == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif operation == "byte":
            data[at : at + 1] = bytes([draw(st.integers(0, 255))])
        else:  # repeat a line: duplicate keys, shifted indentation
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            line = bytes(data[start : (end if end >= 0 else len(data))]) + b"\n"
            data[start:start] = draw(st.sampled_from([b"", b" ", b"  "])) + line
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_spec_files_load_or_report(data: bytes) -> None:
    check_loads_or_reports(data)


# --- structured YAML: every construct the language does not use, nested -----------------------

TAGS = ["", "", "", "!!int ", "!!float ", "!!bool ", "!!null ", "!!str ", "!!timestamp ", "!Ref "]
WORDS = [
    "version",
    "defaults",
    "region",
    "ram",
    "policy_type",
    "kms_keys",
    "instances",
    "encryption",
    "key",
    "alias",
    "rotation",
    "enabled",
    "interval_days",
    "tags",
    "state",
    "k",
    "pgm-bp1aaaa0000001",
]
VALUES = [
    "1",
    "true",
    "365",
    "immediate",
    "enabled",
    "pending-deletion",
    "rds-prod",
    "ap-southeast-1",
    "cn-shanghai",
    '"1234567890123456"',
    "0b9a7c5e-1d2f-4a3b-8c9d-0e1f2a3b4c5d",
    "0",
    "-1",
    "yes",
    "maybe",
    "~",
    "",
    "0777",
    "0x1F",
    "1:30",
    "1_000",
    ".nan",
    "-.inf",
    "1e999",
    "9" * 25,
    "cn-hangzhou",
    "cn-hangzho",
    "alias/k",
    "service",
    "disabled",
    "custom",
    "2024-01-01",
    '"365"',
    "'a\\nb'",
    '"\\x00"',
    "|\n  block",
]
SCALAR = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(TAGS),
        st.one_of(st.sampled_from(VALUES), st.sampled_from(WORDS)),
    ),
)
KEY = st.one_of(st.sampled_from(WORDS), SCALAR)


def _flow(node: Any) -> str:
    """A node as flow YAML: a str is a scalar, a tuple a sequence, a list of pairs a mapping."""
    if isinstance(node, str):
        return node.replace("\n", " ")
    if isinstance(node, tuple):
        return "[" + ", ".join(_flow(item) for item in node) + "]"
    return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in node) + "}"


def _block(node: Any, indent: int) -> str:
    pad = " " * indent
    if isinstance(node, str) or not node:
        return " " + _flow(node) + "\n"
    if isinstance(node, tuple):
        return "\n" + "".join(f"{pad}-{_block(item, indent + 2)}" for item in node)
    return "\n" + "".join(f"{pad}{_flow(k)}:{_block(v, indent + 2)}" for k, v in node)


NODE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(tuple),
        st.lists(st.tuples(KEY, inner), max_size=4),  # pairs: duplicate keys stay in
    ),
    max_leaves=20,
)


@FUZZ
@given(st.lists(st.tuples(KEY, NODE), max_size=5), st.booleans())
def test_structured_yaml_loads_or_reports(document: list[Any], flow: bool) -> None:
    body = _flow(document) if flow else _block(document, 0).lstrip("\n")
    check_loads_or_reports((body if flow else "version: 1\n" + body).encode())


# --- spec-shaped YAML: the language's own fields, any values, keys repeated now and then -------

LEAF = st.one_of(SCALAR, SCALAR, SCALAR, NODE)


def _fields(fields: dict[str, Any]) -> Any:
    """A mapping (list of pairs) of some of `fields`, in any order, a key possibly repeated."""
    names = st.lists(st.sampled_from(sorted(fields)), max_size=len(fields) + 1)
    return names.flatmap(
        lambda keys: st.tuples(*(fields[k] for k in keys)).map(
            lambda values: list(zip(keys, values, strict=True))
        )
    )


def _named(names: list[str], body: Any) -> Any:
    return st.lists(st.tuples(st.one_of(st.sampled_from(names), SCALAR), body), max_size=3)


ROTATION = _fields({"enabled": LEAF, "interval_days": LEAF})
KMS_KEY = _fields(
    {
        "alias": LEAF,
        "region": LEAF,
        "description": LEAF,
        "rotation": st.one_of(ROTATION, LEAF),
        "deletion_protection": LEAF,
        "state": LEAF,
        "tags": st.one_of(_named(["team", "acs:rds:instance-encryption"], LEAF), LEAF),
    }
)
INSTANCE = _fields(
    {"region": LEAF, "restart": LEAF, "encryption": st.one_of(_fields({"key": LEAF}), LEAF)}
)
SPEC = _fields(
    {
        "version": LEAF,
        "defaults": st.one_of(_fields({"region": LEAF, "account": LEAF, "restart": LEAF}), LEAF),
        "ram": st.one_of(
            _fields({"manage": LEAF, "role": LEAF, "policy": LEAF, "policy_type": LEAF}), LEAF
        ),
        "kms_keys": st.one_of(_named(["k", "rds-prod", "rds_prod.2"], KMS_KEY), LEAF),
        "instances": st.one_of(
            _named(["pgm-bp1aaaa0000001", "pgm-uf6aaaa0000001", "rm-x"], INSTANCE), LEAF
        ),
    }
)


@FUZZ
@given(SPEC, st.booleans())
def test_spec_shaped_yaml_loads_or_reports(document: list[Any], flow: bool) -> None:
    body = _flow(document) if flow else _block(document, 0).lstrip("\n")
    check_loads_or_reports(body.encode())


# --- regression corpus -------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CORPUS.glob("*.yaml")), ids=lambda p: p.stem)
def test_corpus_input_loads_or_reports(case: Path) -> None:
    check_loads_or_reports(case.read_bytes())
