"""YAML text to plain Python data, built from the parser's event stream with an explicit stack.

Why events and not ruamel's composer: the composer (C or Python) recurses once per nesting
level, so 30,000 ``[`` overflow the C stack and kill the process before any depth check could
run. The event parser is a state machine; this builder keeps its own stack and checks every
limit as each event arrives, so a hostile document costs at most what the limits allow.

A fresh parser per document: a reused ``YAML`` instance keeps per-document state (it grew by a
few hundred bytes per request).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from eidos_core.yaml.limits import LimitExceededError, Limits, YamlSyntaxError
from eidos_core.yaml.scalars import TAG, ScalarError, plain_value, tagged_value

CParser: Any
try:
    from ruamel.yaml.cyaml import CBaseLoader

    # libyaml's event parser: the C base class of ruamel.yaml's public CBaseLoader (cyaml.__all__).
    # Not CBaseLoader itself: its constructor and resolver point back at it, so each document would
    # leave a reference cycle for the garbage collector.
    CParser = next(base for base in CBaseLoader.__mro__ if base.__name__ == "CParser")
except ImportError:  # pragma: no cover - ruamel.yaml.clib is a dependency where wheels exist
    CParser = None

_COLLECTION_TAGS = frozenset({None, "!", TAG + "map", TAG + "seq"})
_MERGE = "<<"
_SURROGATE = re.compile("[\ud800-\udfff]")
_NO_KEY = object()


@dataclass(frozen=True, slots=True)
class Scalar:
    """A scalar read in raw mode: its YAML 1.2 value, its literal text and its 1-based line."""

    value: Any
    text: str
    line: int


@dataclass(slots=True)
class _Frame:
    """One open mapping or sequence."""

    container: dict[Any, Any] | list[Any]
    anchor: str | None
    nodes_before: int
    line: int
    column: int
    key: Any = _NO_KEY
    key_line: int = 0
    key_column: int = 0
    merging: bool = False
    merged: dict[Any, Any] = field(default_factory=dict)


class _Builder:
    def __init__(self, source: str, raw: bool, limits: Limits, *, pure: bool = False) -> None:
        # libyaml refuses surrogate escapes; the pure parser turns "\ud83d" into a lone
        # surrogate, text that cannot be written out as UTF-8 later.
        self.check_surrogates = pure
        self.source = source
        self.raw = raw
        self.limits = limits
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.nodes = 0
        self.alias_nodes = 0
        self.root: Any = None
        self.documents = 0

    def fail(self, event: Any, message: str, limit: str = "") -> YamlSyntaxError:
        mark = event.start_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        if limit:
            return LimitExceededError(self.source, limit, message, line, column)
        return YamlSyntaxError(self.source, message, line, column)

    def count(self, event: Any, n: int = 1) -> None:
        self.nodes += n
        if self.nodes > self.limits.max_nodes:
            raise self.fail(event, f"document has more than {self.limits.max_nodes} nodes", "max_nodes")

    def feed(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "ScalarEvent":
            self.scalar(event)
        elif kind in ("MappingStartEvent", "SequenceStartEvent"):
            self.start(event, {} if kind == "MappingStartEvent" else [])
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            self.end(event)
        elif kind == "AliasEvent":
            self.alias(event)
        elif kind == "DocumentStartEvent":
            self.documents += 1
            if self.documents > 1:
                raise self.fail(event, "expected one YAML document, found another")

    def scalar(self, event: Any) -> None:
        self.count(event)
        text = event.value
        if len(text) > self.limits.max_scalar_chars:
            raise self.fail(
                event, f"scalar of {len(text)} characters (at most {self.limits.max_scalar_chars})", "max_scalar_chars"
            )
        if self.check_surrogates and _SURROGATE.search(text):
            raise self.fail(event, "a surrogate escape that is not part of a pair is not text")
        frame = self.stack[-1] if self.stack else None
        is_key = frame is not None and isinstance(frame.container, dict) and frame.key is _NO_KEY
        tag, style = event.tag, event.style
        plain = not style and tag is None
        digits = self.limits.max_int_digits
        try:
            value = plain_value(text, digits) if plain else tagged_value(tag or "!", text, bool(style), digits)
        except ScalarError as exc:
            raise self.fail(event, str(exc), exc.limit) from None
        node = Scalar(value, text, event.start_mark.line + 1) if self.raw else value
        self.remember(event.anchor, node, 1)
        if is_key:
            assert frame is not None
            if plain and text == _MERGE:
                frame.merging = True
            elif isinstance(value, float) and math.isnan(value):
                raise self.fail(event, "NaN cannot be a mapping key")
            frame.key = value
            frame.key_line, frame.key_column = event.start_mark.line + 1, event.start_mark.column + 1
            return
        self.add(event, node)

    def start(self, event: Any, container: dict[Any, Any] | list[Any]) -> None:
        frame = self.stack[-1] if self.stack else None
        if frame is not None and isinstance(frame.container, dict) and frame.key is _NO_KEY:
            raise self.fail(event, "mapping keys must be scalars")
        if event.tag not in _COLLECTION_TAGS:
            raise self.fail(event, f"unsupported tag {event.tag}")
        if len(self.stack) >= self.limits.max_depth:
            raise self.fail(event, f"document nests deeper than {self.limits.max_depth} levels", "max_depth")
        self.count(event)
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        mark = event.start_mark
        self.stack.append(_Frame(container, event.anchor, self.nodes - 1, mark.line + 1, mark.column + 1))

    def end(self, event: Any) -> None:
        frame = self.stack.pop()
        value = frame.container
        if isinstance(value, dict):
            for k, v in frame.merged.items():
                value.setdefault(k, v)
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.remember(frame.anchor, value, self.nodes - frame.nodes_before)
        self.add(event, value)

    def alias(self, event: Any) -> None:
        name = event.anchor
        if name in self.open_anchors:
            raise self.fail(event, "recursive alias")
        if name not in self.anchors:
            raise self.fail(event, f"undefined alias {name!r}")
        value, size = self.anchors[name]
        self.alias_nodes += size
        if self.alias_nodes > self.limits.max_alias_nodes:
            raise self.fail(
                event,
                f"aliases expand to more than {self.limits.max_alias_nodes} nodes (alias bomb?)",
                "max_alias_nodes",
            )
        self.count(event, size)
        frame = self.stack[-1] if self.stack else None
        if frame is not None and isinstance(frame.container, dict) and frame.key is _NO_KEY:
            if not isinstance(value, dict | list):
                frame.key = value.value if isinstance(value, Scalar) else value
                frame.key_line, frame.key_column = event.start_mark.line + 1, event.start_mark.column + 1
                return
            raise self.fail(event, "mapping keys must be scalars")
        # Each use is its own copy: callers may change what they get without touching the other.
        self.add(event, copy.deepcopy(value) if isinstance(value, dict | list) else value)

    def remember(self, anchor: str | None, value: Any, size: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, size)

    def add(self, event: Any, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        container = frame.container
        if isinstance(container, list):
            container.append(value)
            return
        if frame.merging:
            frame.merging = False
            frame.key = _NO_KEY
            self.merge(event, frame, value)
            return
        key = frame.key
        frame.key = _NO_KEY
        if key in container:
            raise YamlSyntaxError(self.source, f"duplicate key {key!r}", frame.key_line, frame.key_column)
        container[key] = value

    def merge(self, event: Any, frame: _Frame, value: Any) -> None:
        parts = value if isinstance(value, list) else [value]
        for part in parts:
            if not isinstance(part, dict):
                raise self.fail(event, "merge key '<<' needs a mapping")
            for k, v in part.items():
                frame.merged.setdefault(k, v)


def _events(text: str, *, pure: bool = False) -> Iterator[Any]:
    if pure or CParser is None:  # the pure-Python parser (YAML 1.2), five times slower
        yield from YAML(typ="safe", pure=True).parse(text)
        return
    # libyaml's parser used directly: YAML(typ="safe").parse() builds a new class per call.
    parser = CParser(text)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def parse_yaml(text: str, *, source: str, raw: bool, limits: Limits) -> Any:
    """Exactly one YAML document as plain data (``None`` for an empty one)."""
    try:
        return _parse(text, source, raw, limits, pure=False)
    except YamlSyntaxError as exc:
        if CParser is None or isinstance(exc, LimitExceededError):
            raise
        # libyaml scans by YAML 1.1 rules and refuses some valid YAML 1.2 (a URL in a flow
        # mapping: {repository: https://x}, which Go's yaml.v3 and ruamel's own parser read).
        # Only text libyaml refused pays for the second, slower reading; its error wins if
        # both refuse, since both name the place.
        try:
            return _parse(text, source, raw, limits, pure=True)
        except YamlSyntaxError:
            raise exc from None


def _parse(text: str, source: str, raw: bool, limits: Limits, *, pure: bool) -> Any:
    builder = _Builder(source, raw, limits, pure=pure)
    try:
        for event in _events(text, pure=pure):
            builder.feed(event)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise YamlSyntaxError(source, reason, line, column) from None
    except YAMLError as exc:  # the reader's errors (control characters) carry a position only
        position = getattr(exc, "position", None)
        line = column = None
        if isinstance(position, int):
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        character = getattr(exc, "character", None)
        if isinstance(character, str) and len(character) == 1:
            reason = f"character #x{ord(character):04x}: {reason}"
        raise YamlSyntaxError(source, reason, line, column) from None
    return builder.root


def plain(value: Any) -> Any:
    """Strip raw-mode :class:`Scalar` wrappers, giving ordinary Python data."""
    if isinstance(value, Scalar):
        return value.value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
