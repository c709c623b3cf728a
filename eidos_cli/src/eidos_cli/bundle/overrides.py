"""``--set component:path.to.key=value``: parsing, typing and applying value overrides.

The component is named by its recipe name (``gpu-operator``) or by one of its registry
``valueOverrideKeys`` (``gpuoperator``). Unlike the reference, a key that matches no component
of the recipe is an error (it names the keys that would work), every matching key is applied
rather than only the first, and a path that cannot be set is an error, not a warning: a
requested change that silently does nothing is worse than a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import Registry

_INT = re.compile(r"[-+]?[0-9]+")
# What Go's ParseFloat accepts in decimal (no underscores, no hex floats).
_FLOAT = re.compile(r"[-+]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class SetOverride:
    """One parsed ``--set`` entry; ``entry`` is the text the user gave, for messages."""

    key: str
    path: str
    value: Any
    entry: str


def convert(raw: str) -> Any:
    """Type a ``--set`` value: ``true``/``false``, ``null``, int, float, else the string.

    Exact spellings only (``True`` stays a string), as Helm's and the reference's ``--set`` do;
    an integer outside int64 falls back to float, as Go's ParseInt → ParseFloat does.
    """
    if raw == "true":
        return True
    if raw == "false":
        return False
    if raw == "null":
        return None
    if _INT.fullmatch(raw):
        number = int(raw, 10)
        if _INT64[0] <= number <= _INT64[1]:
            return number
        return float(number)
    if _FLOAT.fullmatch(raw):
        return float(raw)
    return raw


def parse_set(entries: Iterable[str]) -> tuple[SetOverride, ...]:
    """Parse ``key:path=value`` entries (already split on commas by the flag)."""
    out: list[SetOverride] = []
    for entry in entries:
        key, colon, rest = entry.partition(":")
        path, equals, raw = rest.partition("=")
        if not colon or not equals:
            raise InvalidRequestError(f"invalid --set flag: invalid format {entry!r}: expected 'component:path=value'")
        key, path = key.strip(), path.strip()
        if not key:
            raise InvalidRequestError(f"invalid --set flag: {entry!r}: the component before ':' is empty")
        if not path or not raw:
            raise InvalidRequestError(f"invalid --set flag: invalid format {entry!r}: path and value cannot be empty")
        if any(not segment for segment in path.split(".")):
            raise InvalidRequestError(f"invalid --set flag: {entry!r}: path {path!r} has an empty segment")
        out.append(SetOverride(key=key, path=path, value=convert(raw), entry=entry))
    return tuple(out)


def selector_keys(name: str, registry: Registry) -> tuple[str, ...]:
    """The ``--set`` keys that select component ``name``: its override keys, then its name."""
    comp = registry.get(name)
    keys = tuple(k for k in (comp.value_override_keys if comp else ()) if k != name)
    return (*keys, name)


def check_keys(overrides: Sequence[SetOverride], components: Sequence[str], registry: Registry) -> None:
    """Every ``--set`` key must select a component of the recipe."""
    allowed: list[str] = []
    for name in components:
        allowed.extend(k for k in selector_keys(name, registry) if k not in allowed)
    for item in overrides:
        if item.key not in allowed:
            raise InvalidRequestError(
                f"invalid --set flag: {item.entry!r}: no component {item.key!r} in this recipe "
                f"(allowed: {', '.join(sorted(allowed))})",
                details={"component": item.key, "allowed": sorted(allowed)},
            )


def for_component(overrides: Sequence[SetOverride], name: str, registry: Registry) -> tuple[SetOverride, ...]:
    """The entries for ``name`` in the order to apply them: override keys first, the exact
    name last (so it wins on the same path); the user's order within one key."""
    rank = {key: i for i, key in enumerate(selector_keys(name, registry))}
    chosen = [(rank[o.key], i, o) for i, o in enumerate(overrides) if o.key in rank]
    return tuple(o for _, _, o in sorted(chosen, key=lambda t: (t[0], t[1])))


def set_path(values: dict[str, Any], path: str, value: Any) -> None:
    """Set dotted ``path`` in ``values``, creating maps; an existing non-map on the way is an error."""
    segments = path.split(".")
    node = values
    for depth, segment in enumerate(segments[:-1]):
        child = node.get(segment)
        if child is None:
            child = node[segment] = {}
        elif not isinstance(child, dict):
            where = ".".join(segments[: depth + 1])
            raise InvalidRequestError(f"cannot set {path}: {where} is {_describe(child)}, not a mapping")
        node = child
    node[segments[-1]] = value


def apply_overrides(values: dict[str, Any], overrides: Iterable[SetOverride], component: str) -> None:
    for item in overrides:
        try:
            set_path(values, item.path, item.value)
        except InvalidRequestError as exc:
            raise InvalidRequestError(
                f"invalid --set flag: {item.entry!r} for component {component}: {exc.message}"
            ) from None


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"the {type(value).__name__} {value!r}"
