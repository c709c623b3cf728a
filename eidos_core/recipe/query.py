"""One value of a recipe by a dot path (``/v1/query``, ``eidos-cli query``): the selector's
syntax, the hydrated recipe it addresses, and the walk.

The hydrated recipe is the ``recipeResult`` document with two lists turned into mappings so that
they are addressed by name, and each component's values merged:

* ``componentRefs.<component>`` — the component's document plus ``values``: the values a bundle
  of the recipe writes before ``--set`` and node scheduling — its values file(s), the recipe's
  overrides, and the registry's ``valueReferences`` set from the namespace plan (removed when
  their component is not in the recipe) — by the bundle's own code
  (:func:`eidos_core.recipe.values.referenced_values`);
* ``constraints.<name>`` — the constraint's value expression (``constraints.K8s.server.version``
  → ``">= 1.29"``); always present, ``{}`` when the recipe has none.

Everything else is as in the document (``deploymentOrder``, ``criteria.service``,
``metadata.appliedOverlays`` …). A key that itself contains dots (a constraint name, a component
named ``a.b``, a Helm value key such as ``nvidia.com/gpu.present``) is matched by as many segments
as it has dots plus one; the longest such key wins over a shorter one. A key that is not a
string (a YAML int or bool key, Helm's ``ports: {80: …}``) is matched by its text (``80``,
``true``) when no string key matches. A list item is addressed by its index from 0 in decimal
without leading zeros (``deploymentOrder.0``; ``deploymentOrder.00`` is a 404), so each item has
one spelling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.model import Recipe, Registry
from eidos_core.recipe.values import referenced_values

__all__ = [
    "MAX_SEGMENTS",
    "MAX_SELECTOR_CHARS",
    "SELECTOR_PATTERN",
    "hydrate",
    "parse_selector",
    "query_recipe",
    "select",
]

MAX_SELECTOR_CHARS = 1024
MAX_SEGMENTS = 64
# Exactly what parse_selector takes (the OpenAPI document carries it; schemathesis holds the
# server to it): segments of anything but dots and control characters, no blanks around one.
_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
_SEGMENT = f"[^.\\s{_CONTROL}](?:[^.{_CONTROL}]*[^.\\s{_CONTROL}])?"
SELECTOR_PATTERN = f"^{_SEGMENT}(?:\\.{_SEGMENT}){{0,{MAX_SEGMENTS - 1}}}$"
_SELECTOR = re.compile(SELECTOR_PATTERN[1:-1])
_EXAMPLE = "componentRefs.gpu-operator.version"
_SHOWN_KEYS = 20  # keys listed in a 404: enough to spot a typo, never a whole values file


def _malformed(text: str, reason: str) -> InvalidRequestError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return InvalidRequestError(
        f"invalid selector {shown!r}: {reason} (a dot path such as {_EXAMPLE})",
        details={"field": "selector", "value": shown, "reason": reason},
    )


def parse_selector(text: str) -> tuple[str, ...]:
    """The segments of a dot path; a malformed one is an :class:`InvalidRequestError` naming
    the field ``selector`` and what is wrong."""
    if len(text) <= MAX_SELECTOR_CHARS and _SELECTOR.fullmatch(text):
        return tuple(text.split("."))
    if not text:
        raise _malformed(text, "it is empty")
    if len(text) > MAX_SELECTOR_CHARS:
        raise _malformed(text, f"longer than {MAX_SELECTOR_CHARS} characters")
    for index, char in enumerate(text):
        if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            raise _malformed(text, f"control character {char!r} at position {index}")
    segments = tuple(text.split("."))
    if len(segments) > MAX_SEGMENTS:
        raise _malformed(text, f"more than {MAX_SEGMENTS} segments")
    for index, segment in enumerate(segments):
        if not segment:
            raise _malformed(text, f"segment {index + 1} is empty (a leading, trailing or doubled dot)")
        if segment != segment.strip():
            raise _malformed(text, f"segment {index + 1} ({segment!r}) has blanks around it")
    raise AssertionError(f"selector {text!r} refused by the pattern for no reason found")  # pragma: no cover


def hydrate(recipe: Recipe, files: Mapping[str, bytes], registry: Registry) -> dict[str, Any]:
    """The document :func:`select` walks (see the module's docstring): a new dict, the caller's
    to keep. ``files`` and ``registry`` are the recipe data's (the registry's
    ``valueReferences`` are set; ``Registry()`` has none). A values file the recipe names but ``files``
    lacks is a :class:`NotFoundError`; a component without a usable namespace an
    :class:`InvalidRequestError`, as in the bundle."""
    document = recipe.to_document()
    refs = {ref["name"]: ref for ref in document.get("componentRefs", [])}
    values = referenced_values(recipe.component_refs, files, registry)
    document["componentRefs"] = {
        ref.name: {**refs[ref.name], "values": values[ref.name]} for ref in recipe.component_refs
    }
    document["constraints"] = {c["name"]: c["value"] for c in document.get("constraints", [])}
    return document


def _key_text(key: object) -> str:
    """A key as a selector spells it: YAML's ``true``/``false`` for bools, ``str`` otherwise."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _text_key(node: Mapping[Any, Any], path: tuple[str, ...], at: int) -> tuple[Any, int] | None:
    """The non-string key of ``node`` whose text ``path[at:]``'s first segments spell (``80``,
    ``true``; ``1.5`` by two segments), the longest first, and how many segments it takes."""
    best: tuple[Any, int] | None = None
    for key in node:
        if not isinstance(key, str):
            text = _key_text(key)
            parts = text.count(".") + 1
            if (best is None or parts > best[1]) and ".".join(path[at : at + parts]) == text:
                best = (key, parts)
    return best


def _list_index(segment: str, size: int) -> int | None:
    """``segment`` as an index of a list of ``size``: ASCII decimal, no leading zero (one
    spelling per item: ``0``, never ``00``), in range."""
    if segment.isascii() and segment.isdigit() and (segment == "0" or not segment.startswith("0")):
        index = int(segment)
        return index if index < size else None
    return None


def _dotted_key(node: Mapping[str, Any], path: tuple[str, ...], at: int) -> str | None:
    """The longest key of ``node`` with dots in it spelled by ``path[at:]``'s first segments."""
    best: str | None = None
    for key in node:
        if isinstance(key, str) and "." in key and (best is None or len(key) > len(best)):
            parts = key.count(".") + 1
            if ".".join(path[at : at + parts]) == key:
                best = key
    return best


def _not_found(path: tuple[str, ...], at: int, node: Any) -> NotFoundError:
    found = ".".join(path[:at])
    missing = path[at]
    if isinstance(node, Mapping):
        keys = [_key_text(k) for k in node]
        available: str = ", ".join(keys[:_SHOWN_KEYS]) + (", ..." if len(keys) > _SHOWN_KEYS else "")
        has = f"keys: {available}" if keys else "it is empty"
    elif isinstance(node, list):
        keys = []
        has = f"a list of {len(node)}: index 0 to {len(node) - 1}" if node else "an empty list"
        if node and len(missing) > 1 and missing.startswith("0") and missing.isdigit():
            has += ", no leading zeros"  # one spelling per item
    else:
        keys = []
        kind = type(node).__name__ if node is not None else "null"
        has = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} value, not a mapping"
    where = f"{found!r} exists" if found else "the recipe is a mapping"
    return NotFoundError(
        f"nothing at {'.'.join(path)!r}: {where}, {missing!r} does not ({has})",
        details={"field": "selector", "found": found, "missing": missing, "available": keys[:_SHOWN_KEYS]},
    )


def select(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` (the node itself: read it, do not modify it). A path that leaves the
    document is a :class:`NotFoundError` naming the longest prefix that exists (``details.found``)
    and the first segment that does not (``details.missing``)."""
    node: Any = document
    at = 0
    while at < len(path):
        segment = path[at]
        if isinstance(node, Mapping):
            key = _dotted_key(node, path, at)
            if key is not None:
                node = node[key]
                at += key.count(".") + 1
                continue
            if segment in node:
                node = node[segment]
                at += 1
                continue
            by_text = _text_key(node, path, at)  # string keys first: only when none matched
            if by_text is not None:
                node = node[by_text[0]]
                at += by_text[1]
                continue
        elif isinstance(node, list):
            index = _list_index(segment, len(node))
            if index is not None:
                node = node[index]
                at += 1
                continue
        raise _not_found(path, at, node)
    return node


def query_recipe(recipe: Recipe, files: Mapping[str, bytes], selector: str, registry: Registry) -> Any:
    """The value of ``recipe`` at ``selector``: parsed (400 when malformed), hydrated with
    ``files`` (the recipe data's values files) and ``registry`` (the recipe data's: its
    ``valueReferences``), selected (404 naming the longest path that
    exists)."""
    path = parse_selector(selector)
    return select(hydrate(recipe, files, registry), path)
