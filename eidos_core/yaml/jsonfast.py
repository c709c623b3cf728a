"""JSON documents through the C ``json`` module, behind the same limits as YAML.

JSON is YAML 1.2, but ``json`` is several times faster on large snapshots and exact where YAML
parsers differ (surrogate-pair escapes). Limits are checked on the text before ``json`` runs
(its decoder recurses per nesting level); integer digits are checked as each is parsed. Any
other problem — invalid JSON, a duplicate key, NaN — gives :class:`NotJson`: the loader then
reads the text as YAML, whose errors carry a line and column, or, where the sender declared
JSON (``json_only``), reports the problem in JSON's terms.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from eidos_core.yaml.limits import LimitExceededError, Limits
from eidos_core.yaml.scalars import ScalarError, to_int

# Unrolled ("normal* (special normal*)*"): about twice as fast as an alternation per character.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}
# A surrogate escape: only the pairs are text; a lone half cannot be encoded as UTF-8 later.
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]", re.IGNORECASE)


class NotJson(Exception):
    """Not a document the fast path takes; read it as YAML instead (or, where the sender said
    it is JSON, report ``reason`` at ``line``/``column``: JSON's words, not YAML's)."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


def _reject_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise NotJson(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise NotJson(f"{name} is not a JSON number")


def _check_text(text: str, source: str, limits: Limits) -> None:
    if len(text) > limits.max_scalar_chars:  # else no string can be too long
        longest = max(map(len, _STRING.findall(text)), default=2) - 2
        if longest > limits.max_scalar_chars:
            raise LimitExceededError(
                source, "max_scalar_chars", f"string of {longest} characters (at most {limits.max_scalar_chars})"
            )
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = max(accumulate(map(_DELTA.__getitem__, skeleton)), default=0)
    if depth > limits.max_depth:
        raise LimitExceededError(source, "max_depth", f"document nests deeper than {limits.max_depth} levels")
    # Every value but the first of a container follows a comma; keys are counted with values.
    nodes = 2 * (text.count(",") + len(skeleton) // 2 + 1)
    if nodes > limits.max_nodes:
        raise LimitExceededError(source, "max_nodes", f"document has more than {limits.max_nodes} nodes")


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_json(text: str, *, source: str, limits: Limits) -> Any:
    """``text`` as data, or :class:`NotJson`."""
    _check_text(text, source, limits)

    def parse_int(digits: str) -> int:
        try:
            return to_int(digits, limits.max_int_digits)
        except ScalarError as exc:
            raise LimitExceededError(source, exc.limit or "max_int_digits", str(exc)) from None

    try:
        value = json.loads(text, parse_int=parse_int, parse_constant=_reject_constant, object_pairs_hook=_reject_pairs)
    except json.JSONDecodeError as exc:
        raise NotJson(exc.msg, exc.lineno, exc.colno) from None
    except (ValueError, RecursionError) as exc:
        raise NotJson(str(exc)) from None
    if _SURROGATE.search(text) and _has_lone_surrogate(value):
        raise NotJson("lone surrogate escape")
    return value
