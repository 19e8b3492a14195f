"""One YAML file -> plain Python data plus the file:line:col of every node.

The document is built straight from PyYAML's event stream, which keeps the marks that the
constructor throws away, so the loader can point every problem at its line. The file is read
defensively: regular files only, a size cap, strict UTF-8, no aliases (so no alias bombs), a
nesting cap, one document. Duplicate keys, which PyYAML silently resolves to the last one, are
reported, and every earlier definition is kept as a view of its own so that its problems are
reported too. Nothing here raises for bad input: problems come back as Diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

from reconciler.errors import Diagnostic
from reconciler.spec import fast_build
from reconciler.spec.fast_build import MAX_DEPTH as MAX_DEPTH  # re-exported
from reconciler.spec.location import Location as Location  # re-exported
from reconciler.spec.reading import MAX_FILE_BYTES as MAX_FILE_BYTES  # re-exported
from reconciler.spec.reading import ReadProblem, read_text
from reconciler.spec.scalars import (
    SCALAR_TAGS,
    TAG_PREFIX,
    convert,
    describe,
    shown,
    shown_tag,
    unsupported_tag,
)

MAX_EARLIER = 100
"""Earlier definitions of duplicate keys validated per file; a file of 8 MB of duplicates would
otherwise cost a view and a validation each (seconds, hundreds of MB). The rest is said."""

Path_ = tuple[Any, ...]
"""A node's path from the document root: mapping keys and sequence indexes."""

_COLLECTION_TAGS = {f"{TAG_PREFIX}map", f"{TAG_PREFIX}seq"}
_NESTING_REFUSED = f"nesting deeper than {MAX_DEPTH} levels is refused"


@dataclass
class ParsedFile:
    """A file's document as plain data, with the location of every key and value by path.

    `plain_scalars` holds the source text of every unquoted scalar that YAML 1.1 read as
    something other than a string (a bool, a number, null): the loader uses it to explain
    `no` read as false, or `0777` read as 511, where a string was meant. `written` says how each
    text value was written (plain, quoted, block or tagged), so that a message never tells the
    author to remove quotes that are not there.
    """

    name: str
    data: Any = None
    keys: dict[Path_, Location] = field(default_factory=dict)
    values: dict[Path_, Location] = field(default_factory=dict)
    plain_scalars: dict[Path_, str] = field(default_factory=dict)
    written: dict[Path_, str] = field(default_factory=dict)
    reported: dict[Path_, bool] = field(default_factory=dict)
    """Values already reported as unreadable (`!!int abc`): later checks say nothing more."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    readable: bool = True
    """False when the file could not be parsed at all (syntax, encoding, size)."""
    earlier: list[ParsedFile] = field(default_factory=list)
    """One view per earlier definition of a duplicate key, to validate it too."""
    under: Path_ = ()
    """In such a view, where the definition was written; its `data` holds nothing else."""

    def at(self, path: Path_, *, key: bool = False) -> Location:
        """The location of the node at `path` (its key when `key`), else the nearest parent's."""
        table = self.keys if key else self.values
        while path:
            found = table.get(path) or self.values.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return self.values.get((), Location(self.name, 1, 1))

    def error(self, location: Location, message: str) -> None:
        self.diagnostics.append(Diagnostic(location.file, location.line, location.col, message))


class _Refused(yaml.YAMLError):
    """Input the loader will not compose (an alias, too deep), with the offending mark."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


try:  # libyaml: parsing and composing in C, several times faster, with the same marks
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


class _Frame:
    """An open mapping or list while events stream in.

    `spans` records, per key of a mapping, the slice of the walker's log written while its key
    and value were read: a duplicate key turns that slice into a view of the first definition.
    """

    __slots__ = ("container", "key", "path", "spans", "start")

    def __init__(self, container: dict[Any, Any] | list[Any], path: Path_) -> None:
        self.container = container
        self.path = path
        self.key: Any = _NO_KEY
        self.start = 0
        self.spans: dict[Any, tuple[int, int]] = {}


_NO_KEY = object()
_SKIP = object()


def _build(text: str, walker: _Walker) -> Any:
    """Build the document straight from libyaml's events: one pass, no node tree.

    Refuses aliases outright (rather than capping their expansion: the simplest complete
    defence against alias bombs; shared values belong in `defaults`) and nesting deeper than
    MAX_DEPTH. Returns _NO_KEY for an empty stream, or the root ScalarNode/"list" marker when
    the document is not a mapping.
    """
    stack: list[_Frame] = []
    root: Any = _NO_KEY
    documents = 0
    for event in yaml.parse(text, Loader=_Loader):
        kind = type(event)
        if kind is ScalarEvent:
            if not stack:
                return _scalar_node(event)
            frame = stack[-1]
            if frame.key is _NO_KEY and isinstance(frame.container, dict):
                frame.start = len(walker.log)
                frame.key = walker.key(frame, event)
                continue
            path = _child_path(frame)
            walker.record(walker.parsed.values, path, walker.location(event))
            _deliver(frame, walker.scalar(event, path), walker)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if len(stack) >= MAX_DEPTH:
                raise _Refused(event.start_mark, _NESTING_REFUSED)
            where = walker.location(event)
            if event.tag not in (None, "!", *_COLLECTION_TAGS):
                walker.parsed.error(where, unsupported_tag(event.tag))
            if not stack:
                if kind is SequenceStartEvent:
                    return "list"
                path: Path_ = ()
            elif stack[-1].key is _NO_KEY and isinstance(stack[-1].container, dict):
                walker.parsed.error(where, "a mapping key must be a plain name, not a collection")
                stack[-1].key = _SKIP
                path = (*stack[-1].path, "?")
            else:
                path = _child_path(stack[-1])
            walker.record(walker.parsed.values, path, where)
            stack.append(_Frame({} if kind is MappingStartEvent else [], path))
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            done = stack.pop()
            if not stack:
                root = done.container
            elif stack[-1].key is _SKIP and done.path[-1:] == ("?",):
                pass  # a complex key: reported, dropped, its value will be dropped too
            else:
                _deliver(stack[-1], done.container, walker)
        elif kind is AliasEvent:
            raise _Refused(
                event.start_mark,
                f"YAML aliases (*{event.anchor}) are not supported: write the value out "
                "(shared settings belong in `defaults`)",
            )
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Refused(
                    event.start_mark,
                    "only one YAML document per file: split the documents into separate files",
                )
    return root


def _child_path(frame: _Frame) -> Path_:
    if isinstance(frame.container, list):
        return (*frame.path, len(frame.container))
    return (*frame.path, frame.key if frame.key is not _SKIP else "?")


def _deliver(frame: _Frame, value: Any, walker: _Walker) -> None:
    if isinstance(frame.container, list):
        frame.container.append(value)
        return
    if frame.key is not _SKIP:
        frame.container[frame.key] = value
        frame.spans[frame.key] = (frame.start, len(walker.log))
    frame.key = _NO_KEY


_RESOLVER = Resolver()


def _scalar_node(event: ScalarEvent) -> ScalarNode:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit)
    return ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)


def read_file(path: Path, name: str) -> ParsedFile:
    """Read, decode and compose one file; never raises for bad content."""
    parsed = ParsedFile(name)
    text = read_text(path)
    if isinstance(text, ReadProblem):
        parsed.readable = False
        parsed.error(Location(name, text.line, text.col), text.message)
        return parsed
    try:  # the common case, a file with nothing to report, in one tight loop
        tables = fast_build.build(text, name)
    except fast_build.Unusual:
        return _read_slowly(parsed, text)
    parsed.data, parsed.keys, parsed.values, parsed.written, parsed.plain_scalars = tables
    return parsed


def _read_slowly(parsed: ParsedFile, text: str) -> ParsedFile:
    """Build the document with every check, reporting each problem where it was written."""
    name = parsed.name
    start = Location(name, 1, 1)
    walker = _Walker(parsed)
    try:
        data = _build(text, walker)
    except _Refused as refused:
        parsed.readable = False
        parsed.error(_mark_location(name, refused.mark), refused.message)
        return parsed
    except yaml.MarkedYAMLError as error:
        parsed.readable = False
        parsed.error(_mark_location(name, error.problem_mark), _syntax_message(error, text))
        return parsed
    except yaml.YAMLError as error:  # e.g. a reader error on a control character
        parsed.readable = False
        parsed.error(start, f"YAML error: {error}")
        return parsed
    if data is _NO_KEY:
        parsed.readable = False
        parsed.diagnostics.clear()
        parsed.error(start, "the file is empty: it needs a mapping with `version: 1`")
        return parsed
    if not isinstance(data, dict):
        parsed.readable = False
        parsed.diagnostics.clear()
        what = "a list" if data == "list" else _kind(data)
        parsed.error(
            start if data == "list" else _mark_location(name, data.start_mark),
            f"the document must be a mapping (version, defaults, ram, kms_keys, instances), "
            f"not {what}",
        )
        return parsed
    parsed.data = data
    return parsed


class _Walker:
    """Checks keys and converts scalars for the builder, recording locations on the way.

    Every write to the ParsedFile's tables is also appended to `log`, so that the entries of
    one definition can be found again when a later duplicate key shadows it.
    """

    def __init__(self, parsed: ParsedFile) -> None:
        self.parsed = parsed
        self.name = parsed.name
        self.log: list[tuple[dict[Path_, Any], Path_, Any]] = []
        self.duplicates = 0

    def record(self, table: dict[Path_, Any], path: Path_, value: Any) -> None:
        table[path] = value
        self.log.append((table, path, value))

    def location(self, event: yaml.Event) -> Location:
        return _mark_location(self.name, event.start_mark)

    def key(self, frame: _Frame, event: ScalarEvent) -> Any:
        """Check one mapping key (text, not a duplicate) and record where it is."""
        assert isinstance(frame.container, dict)
        where = self.location(event)
        key = self.scalar(event, None)
        if not isinstance(key, str):
            self.parsed.error(
                where,
                f"key `{shown(event.value)}` is read by YAML 1.1 as {describe(key)}: "
                f'quote it ("{shown(event.value)}")',
            )
            key = event.value
        if key in frame.container:
            first = self.parsed.keys[(*frame.path, key)]
            self._keep_earlier(frame, key, where)
            self.parsed.error(
                where, f"duplicate key `{shown(key)}` (first set at line {first.line}); keep one"
            )
        self.record(self.parsed.keys, (*frame.path, key), where)
        return key

    def _keep_earlier(self, frame: _Frame, key: str, where: Location) -> None:
        """Move the earlier definition of `key` out of the tables into a view of its own."""
        path = (*frame.path, key)
        begin, end = frame.spans[key]
        self.duplicates += 1
        if self.duplicates == MAX_EARLIER + 1:
            self.parsed.error(
                where,
                f"more than {MAX_EARLIER} duplicate keys: the earlier definitions of this one and "
                "the next are not checked; fix the duplicates first",
            )
        view = ParsedFile(self.name, under=path) if self.duplicates <= MAX_EARLIER else None
        tables = (
            {}
            if view is None
            else {
                id(self.parsed.keys): view.keys,
                id(self.parsed.values): view.values,
                id(self.parsed.plain_scalars): view.plain_scalars,
                id(self.parsed.written): view.written,
                id(self.parsed.reported): view.reported,
            }
        )
        for table, at, value in self.log[begin:end]:
            if view is not None:
                tables[id(table)][at] = value
            if table.get(at) is value:
                del table[at]
        if view is not None and all(isinstance(part, str) for part in path):
            data: Any = frame.container[key]  # nothing in a list is a spec field: no view there
            for part in reversed(path):
                data = {part: data}
            view.data = data
            self.parsed.earlier.append(view)

    def scalar(self, event: ScalarEvent, path: Path_ | None) -> Any:
        """The value of a scalar; at a value's `path`, also how it was written."""
        node = _scalar_node(event)
        if node.tag not in SCALAR_TAGS:
            self.parsed.error(self.location(event), unsupported_tag(node.tag))
            value = node.value
        else:
            converted = convert(node, path)
            value = converted.value
            if converted.problem is not None:
                self.parsed.error(self.location(event), converted.problem)
                if path is not None:
                    self.record(self.parsed.reported, path, True)
        if event.tag not in (None, "!"):
            how = f"tagged {shown_tag(event.tag)}"
        else:
            how = _STYLES.get(event.style or "", "block")
        if path is not None:
            if isinstance(value, str):
                self.record(self.parsed.written, path, how)
            elif how == "plain":
                self.record(self.parsed.plain_scalars, path, node.value)
        return value


_STYLES = {"": "plain", "'": "quoted", '"': "quoted"}


def _kind(node: ScalarNode) -> str:
    return f"the scalar `{shown(node.value)}`" if node.value else "an empty value"


def _mark_location(name: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(name, 1, 1)
    return Location(name, mark.line + 1, mark.column + 1)


def _syntax_message(error: yaml.MarkedYAMLError, text: str) -> str:
    problem = error.problem or "invalid YAML"
    if "nesting depth" in problem:  # libyaml >= 0.2.5 refuses deep nesting before we see it
        return _NESTING_REFUSED
    if "expected a single document" in (error.context or ""):
        return "only one YAML document per file: split the documents into separate files"
    mark = error.problem_mark
    if mark is not None and text[mark.index : mark.index + 1] == "\t":
        return "YAML syntax error: a tab character; YAML indents with spaces only"
    context = ""
    if error.context:
        context = f" ({error.context.removeprefix('while ')}"
        if error.context_mark is not None and mark is not None:
            context += f" that starts at line {error.context_mark.line + 1}"
        context += ")"
    return f"YAML syntax error: {problem}{context}"
