"""source.py's builder for the common case, in one tight loop: a file with nothing to report.

Every CI shard loads the whole spec, so a 10,000-instance file is read once per job; the
general builder (source._build) spends most of that in per-node calls that only matter when
something is wrong. read_file runs `build` first. Anything the general builder would have
something to say about, or any state it keeps for such a case, stops it (`Unusual`): a tag, an
alias, a key that is not text or is a duplicate or a collection, a scalar that does not convert,
nesting deeper than MAX_DEPTH, a second document, a root that is not a mapping, an empty file, a
YAML error. source._build then reads the file again with every check and diagnostic. For a clean
file both build the same data and the same location tables, in the same order
(tests/unit/spec/test_fast_build.py compares them), so only what the fast loop can vouch for
takes the short way.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from reconciler.spec.location import Location
from reconciler.spec.scalars import SCALAR_TAGS, TEXT_TAGS, convert

MAX_DEPTH = 32
"""Deepest nesting accepted; the language needs 5 levels (source.py refuses deeper)."""

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = Resolver()
_HOW = {"": "plain", "'": "quoted", '"': "quoted"}
"""How a text value was written, by event style (else "block"), as source._Walker words it."""
_CACHE_LIMIT = 4096
_plain_values: dict[str, Any] = {}
"""Plain scalars YAML 1.1 resolves (`true`, `7`, `null`) -> their value; it cannot change."""


class Unusual(Exception):
    """The file needs source._build: it has something to report, or a shape the loop skips."""


class Tables(NamedTuple):
    """What source._build fills a ParsedFile with, for a file that has nothing to report."""

    data: dict[str, Any]
    keys: dict[tuple[Any, ...], Location]
    values: dict[tuple[Any, ...], Location]
    written: dict[tuple[Any, ...], str]
    plain_scalars: dict[tuple[Any, ...], str]


def build(text: str, name: str) -> Tables:
    """The document and its tables, or Unusual (also for any YAML error)."""
    try:
        return _build(text, name)
    except yaml.YAMLError as error:
        raise Unusual from error


def _build(text: str, name: str) -> Tables:
    """One flat loop over the events: per-node calls are what the general builder spends."""
    keys: dict[tuple[Any, ...], Location] = {}
    values: dict[tuple[Any, ...], Location] = {}
    written: dict[tuple[Any, ...], str] = {}
    plain: dict[tuple[Any, ...], str] = {}
    resolved_first = _resolved_first()
    new = tuple.__new__
    no_key = _NO_KEY
    frames: list[list[Any]] = []  # [container, path, pending key] per open collection
    root: Any = None
    documents = 0
    for event in yaml.parse(text, Loader=_Loader):
        kind = event.__class__
        if kind is ScalarEvent:
            if event.tag is not None or not frames:
                raise Unusual
            raw = event.value
            if event.implicit[0] and (resolved_first is None or raw[:1] in resolved_first):
                value = _plain_value(raw)
            else:
                value = raw
            mark = event.start_mark
            where = new(Location, (name, mark.line + 1, mark.column + 1))
            frame = frames[-1]
            container = frame[0]
            if container.__class__ is dict:
                key = frame[2]
                if key is no_key:
                    if value.__class__ is not str or value in container:
                        raise Unusual
                    frame[2] = value
                    keys[(*frame[1], value)] = where
                    continue
                path = (*frame[1], key)
                container[key] = value
                frame[2] = no_key
            else:
                path = (*frame[1], len(container))
                container.append(value)
            values[path] = where
            if value.__class__ is str:
                written[path] = _HOW.get(event.style or "", "block")
            elif not event.style:
                plain[path] = raw
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.tag is not None or len(frames) >= MAX_DEPTH:
                raise Unusual
            if frames:
                frame = frames[-1]
                parent = frame[0]
                if parent.__class__ is dict:
                    if frame[2] is no_key:
                        raise Unusual  # a collection as a key
                    path = (*frame[1], frame[2])
                else:
                    path = (*frame[1], len(parent))
            elif kind is SequenceStartEvent:
                raise Unusual
            else:
                path = ()
            mark = event.start_mark
            values[path] = new(Location, (name, mark.line + 1, mark.column + 1))
            frames.append([{} if kind is MappingStartEvent else [], path, no_key])
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            done = frames.pop()[0]
            if not frames:
                root = done
                continue
            frame = frames[-1]
            parent = frame[0]
            if parent.__class__ is dict:
                parent[frame[2]] = done
                frame[2] = no_key
            else:
                parent.append(done)
        elif kind is AliasEvent:
            raise Unusual
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise Unusual
    if root is None:
        raise Unusual
    return Tables(root, keys, values, written, plain)


_NO_KEY = object()


def _resolved_first() -> frozenset[str] | None:
    """First characters of plain scalars that YAML 1.1 may resolve to something but text.

    None: any (a resolver for every first character). Read per file, from the table the
    general builder resolves with.
    """
    resolvers = Resolver.yaml_implicit_resolvers
    return None if None in resolvers else frozenset(resolvers)


def _plain_value(raw: str) -> Any:
    """The value of a plain scalar, as source._Walker.scalar converts it; Unusual on a problem."""
    found = _plain_values.get(raw, _NO_KEY)
    if found is not _NO_KEY:
        return found
    tag = _RESOLVER.resolve(ScalarNode, raw, (True, False))
    if tag in TEXT_TAGS:
        return raw
    if tag not in SCALAR_TAGS:
        raise Unusual
    converted = convert(ScalarNode(tag, raw), None)
    if converted.problem is not None:
        raise Unusual
    if len(_plain_values) < _CACHE_LIMIT:
        _plain_values[raw] = converted.value
    return converted.value
