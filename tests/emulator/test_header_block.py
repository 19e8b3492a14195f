"""The header block taken in one read from the reader's buffer (http_input.read_headers) gives
exactly what reading it line by line gives: the same headers, the same refusals, and the
same bytes left for the body."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.emulator.http_input import HeaderError, read_headers

BODY = b"Action=X&Signature=y"


def _read(data: bytes, buffered: bool) -> tuple[object, bytes]:
    """(headers' values or the HeaderError's detail, the bytes left) through a buffered reader
    (one read of the block) or a plain one (line by line: BytesIO has no peek)."""
    reader = io.BufferedReader(io.BytesIO(data), 65536) if buffered else io.BytesIO(data)
    try:
        found: object = read_headers(reader).values
    except HeaderError as error:
        found = ("refused", error.detail)
    return found, reader.read()


def _same_both_ways(data: bytes) -> object:
    fast, slow = _read(data, buffered=True), _read(data, buffered=False)
    assert fast == slow
    return fast[0]


@pytest.mark.parametrize(
    "block",
    [
        b"Host: a\r\nX-Acs-Date: 1\r\n\r\n",
        b"\r\n",  # no header at all
        b"Host: a\r\nX-Folded: one\r\n  two\r\n\tthree\r\n\r\n",
        b"Host: a\r\nhost: b\r\nNoColon\r\n: empty name\r\n\r\n",
        b"Host: a\r\r\n\r\r\nX: y\r\n\r\n",  # stray CRs
        b"Host: a\nX: y\n\n",  # bare LF line ends: read line by line
        b"Host: a\r\nX: y\n\r\n",
        b"Host: a\r\n",  # the block never ends
        b"".join(b"H%d: v\r\n" % i for i in range(99)) + b"\r\n",  # 99 headers: the most
        b"".join(b"H%d: v\r\n" % i for i in range(100)) + b"\r\n",  # 100: refused
        b"Long: " + b"x" * 70000 + b"\r\n\r\n",
    ],
)
def test_a_header_block_reads_the_same_in_one_read_and_line_by_line(block: bytes) -> None:
    _same_both_ways(block + BODY)


def test_the_usual_block_is_parsed() -> None:
    values = _same_both_ways(b"Host: a\r\nX-Acs-Action: Describe\r\nhost: b\r\n\r\n" + BODY)
    assert values == {"host": ["a", "b"], "x-acs-action": ["Describe"]}


def test_one_header_too_many_is_refused() -> None:
    block = b"".join(b"H%d: v\r\n" % i for i in range(100)) + b"\r\n"
    assert _same_both_ways(block) == ("refused", "got more than 100 headers")


_LINE = st.one_of(
    st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from([b"Host: a", b" folded", b"\tfolded", b"x-acs-y: 1", b"\r", b":", b""]),
)
_END = st.sampled_from([b"\r\n", b"\n", b"\r\r\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_LINE, _END), max_size=12), st.binary(max_size=8))
def test_any_block_reads_the_same_both_ways(lines: list[tuple[bytes, bytes]], rest: bytes) -> None:
    _same_both_ways(b"".join(line + end for line, end in lines) + b"\r\n" + rest)
