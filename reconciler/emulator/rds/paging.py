"""The two paging styles of DescribeDBInstances: PageNumber/PageSize and NextToken/MaxResults.

Page sizes are 1..100 (default 30), like the cloud. A NextToken is opaque: a checksum and an
offset, so a made-up token is 400 InvalidParameter rather than a silent first page (the cloud's
code for a bad token is undocumented; chosen).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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


def page(
    ctx: RequestContext,
    items: list[dict[str, Any]],
    wrap: Callable[[list[dict[str, Any]]], dict[str, Any]],
) -> dict[str, Any]:
    """One page of ``items``; NextToken style when NextToken or MaxResults is given."""
    total = len(items)
    if ctx.str_param("NextToken") is not None or ctx.str_param("MaxResults") is not None:
        size = ctx.int_param("MaxResults", DEFAULT_PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE) or 1
        token = ctx.str_param("NextToken")
        offset = decode_token(token) if token else 0
        chosen = items[offset : offset + size]
        following = offset + size
        return {
            **wrap(chosen),
            "NextToken": encode_token(following) if following < total else "",
            "PageRecordCount": len(chosen),
            "TotalRecordCount": total,
        }
    number = ctx.int_param("PageNumber", 1, lo=1) or 1
    size = ctx.int_param("PageSize", DEFAULT_PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE) or 1
    chosen = items[(number - 1) * size : number * size]
    return {
        **wrap(chosen),
        "PageNumber": number,
        "PageRecordCount": len(chosen),
        "TotalRecordCount": total,
    }
