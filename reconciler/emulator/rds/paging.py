"""The two paging styles of DescribeDBInstances: PageNumber/PageSize and NextToken/MaxResults.

Page sizes are 1..100 (default 30), like the cloud. A NextToken is opaque: a checksum and an
offset, so a made-up token is 400 InvalidParameter rather than a silent first page (the cloud's
code for a bad token is undocumented; chosen).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.dispatch import RequestContext
from reconciler.emulator.rds.rules import invalid

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 30


def encode_token(offset: int) -> str:
    body = f"{offset:08x}"
    return hashlib.sha256(body.encode()).hexdigest()[:16] + body


def decode_token(token: str) -> int:
    check, body = token[:16], token[16:]
    if len(token) != 24 or hashlib.sha256(body.encode()).hexdigest()[:16] != check:
        raise invalid("The specified NextToken is not valid.", "InvalidParameter.NextToken")
    return int(body, 16)


@dataclass(frozen=True)
class PageRequest:
    offset: int
    size: int
    token_style: bool  # NextToken/MaxResults rather than PageNumber/PageSize
    number: int


def request(ctx: RequestContext) -> PageRequest:
    """The page asked for; NextToken style when NextToken or MaxResults is given."""
    if ctx.str_param("NextToken") is not None or ctx.str_param("MaxResults") is not None:
        size = ctx.int_param("MaxResults", DEFAULT_PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE) or 1
        token = ctx.str_param("NextToken")
        return PageRequest(decode_token(token) if token else 0, size, True, 0)
    number = ctx.int_param("PageNumber", 1, lo=1) or 1
    size = ctx.int_param("PageSize", DEFAULT_PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE) or 1
    return PageRequest((number - 1) * size, size, False, number)


def answer(page: PageRequest, body: dict[str, Any], count: int, total: int) -> dict[str, Any]:
    """``body`` (the wrapped items of the page) plus the paging fields of the style used.

    Token style, as the SDK documents it: ``PageNumber`` is always 1, ``TotalRecordCount`` is
    this page's count, and ``NextToken`` is sent only when another page follows (absent on the
    last page, so a ``while token is not None`` loop ends)."""
    if not page.token_style:
        return {
            **body,
            "PageNumber": page.number,
            "PageRecordCount": count,
            "TotalRecordCount": total,
        }
    fields: dict[str, Any] = {"PageNumber": 1, "PageRecordCount": count, "TotalRecordCount": count}
    following = page.offset + page.size
    if following < total:
        fields["NextToken"] = encode_token(following)
    return {**body, **fields}
