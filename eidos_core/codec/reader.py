"""The one reader every document goes through: it knows its source, finds lines, and either
collects every problem or stops at the first.

* :attr:`Mode.COLLECT` — recipe data: every problem becomes a :class:`Problem` (file, field,
  line) and reading goes on with the field's default, so ``eidos-cli data validate`` lists them
  all at once.
* :attr:`Mode.FIRST` — a request, a recipe, a snapshot: the first problem is raised as
  :class:`InvalidRequestError` whose message is that problem (``recipe.yaml:12:
  componentRefs[2].overrides: must be a mapping, got a list``) and whose ``details.field`` names
  the field.

Two reading policies, chosen per document kind (:class:`eidos_core.codec.fields.Header`):

* strict (documents we author: recipe data, recipeCriteria): keys match exactly, an unknown
  key is a problem, and each field's authoring checks run;
* tolerant (documents exchanged with the Go reference: recipeResult, Snapshot): unknown keys
  are ignored and a key also matches in another case (``Constraints``, ``Name``), as Go's
  ``encoding/json`` matches field names; authoring checks are left to the consumer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from typing import Any

from eidos_core.errors import InvalidRequestError, Problem
from eidos_core.yaml import Scalar


class Mode(Enum):
    COLLECT = "collect"
    FIRST = "first"


def is_null(value: Any) -> bool:
    return value is None or (isinstance(value, Scalar) and value.value is None)


def describe(value: Any) -> str:
    """What a raw value is, for "must be a mapping, got a list"."""
    if isinstance(value, Scalar):
        value = value.value
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def line_of(value: Any, depth: int = 3) -> int | None:
    """The line of a raw-mode value: a scalar's own, else that of the first scalar inside."""
    if isinstance(value, Scalar):
        return value.line
    if depth and isinstance(value, Mapping | list):
        for item in value.values() if isinstance(value, Mapping) else value:
            line = line_of(item, depth - 1)
            if line is not None:
                return line
    return None


_SEGMENT = re.compile(r"[^.\[\]]+|\[\d+\]")


def locate(raw: Any, path: str) -> Any:
    """The raw value at ``path`` (``components[2].valueOverrideKeys``) inside ``raw``, or None."""
    node = raw
    for part in _SEGMENT.findall(path):
        if part.startswith("["):
            index = int(part[1:-1])
            node = node[index] if isinstance(node, list) and index < len(node) else None
        else:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            return None
    return node


def join(path: str, key: str) -> str:
    """``path.key`` (either may be empty)."""
    return f"{path}.{key}" if path and key else path or key


class Reader:
    """Where a document came from, how to report its problems, and how to match its keys."""

    def __init__(self, source: str, mode: Mode, *, strict: bool) -> None:
        self.source = source
        self.mode = mode
        self.strict = strict
        self.problems: list[Problem] = []
        self._folded: dict[int, dict[str, Any]] = {}  # id(mapping) → its keys in lower case

    def problem(self, path: str, message: str, at: Any = None) -> None:
        """Report one problem at ``path``; ``at`` (the raw value) gives the line."""
        found = Problem(self.source, path, message, line_of(at))
        if self.mode is Mode.FIRST:
            raise InvalidRequestError(str(found), details={"field": path} if path else {})
        self.problems.append(found)

    def get(self, mapping: Mapping[Any, Any], key: str) -> Any:
        """``mapping[key]``; tolerant reading also takes the key in another case."""
        value = mapping.get(key)
        if value is not None or self.strict or key in mapping:
            return value
        folded = self._folded.get(id(mapping))  # the document outlives the reader: ids are stable
        if folded is None:
            # The first of several spellings wins, as the exact match would.
            items = [(k.lower(), v) for k, v in mapping.items() if isinstance(k, str)]
            folded = self._folded[id(mapping)] = dict(reversed(items))
        return folded.get(key.lower())

    def unknown(self, mapping: Mapping[Any, Any], allowed: tuple[str, ...], path: str) -> None:
        """Strict reading: every key not in ``allowed`` is a problem."""
        if not self.strict:
            return
        for key in mapping:
            if key not in allowed:
                self.problem(join(path, str(key)), f"unknown field (allowed: {', '.join(allowed)})", mapping[key])
