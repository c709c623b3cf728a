"""The limits every document passes before and while it is parsed.

A limit is checked where the input is streamed, before anything can recurse or allocate in
proportion to a hostile number: the size before decoding, depth and node count per event,
scalar length and integer digits per scalar. Exceeding one is a located
:class:`LimitExceededError` — a 400, exit 2 or a counted reload error, never a crash.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from eidos_core.errors import InvalidRequestError


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds for one document. The defaults fit every document Eidos reads (the largest are
    snapshots of big clusters and recipes of many components) with room to spare."""

    max_bytes: int = 16 * 1024 * 1024
    # Nesting of mappings and sequences; recipe values rarely go past 10.
    max_depth: int = 256
    # Scalars, mappings, sequences and alias uses, keys included.
    max_nodes: int = 2_000_000
    max_scalar_chars: int = 1024 * 1024
    # Python refuses int() past 4,300 digits with a ValueError; nothing real needs 40.
    max_int_digits: int = 100
    # Nodes that alias expansion may add on top of what the document spells out.
    max_alias_nodes: int = 10_000

    def with_size(self, max_bytes: int) -> Limits:
        return dataclasses.replace(self, max_bytes=max_bytes)


DEFAULT_LIMITS = Limits()


class YamlSyntaxError(InvalidRequestError):
    """A document that is not valid YAML (or uses what we refuse), located by line/column."""

    def __init__(self, source: str, message: str, line: int | None = None, column: int | None = None) -> None:
        where = source
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        # Where a position is unknown (a duplicate JSON key, a document-wide limit) it is left
        # out, not sent as null.
        details: dict[str, object] = {"file": source}
        if line is not None:
            details["line"] = line
            if column is not None:
                details["column"] = column
        super().__init__(f"{where}: {message}", details=details)
        self.source = source
        self.line = line
        self.column = column
        self.reason = message


class LimitExceededError(YamlSyntaxError):
    """A document over one of its :class:`Limits` (``limit`` names which)."""

    def __init__(
        self, source: str, limit: str, message: str, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(source, message, line, column)
        self.limit = limit
        self.details["limit"] = limit
